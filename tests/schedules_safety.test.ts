/**
 * What schedules (SPEC §8) must never do, on memory, a SQLite file, a
 * redis-server and PostgreSQL (real servers, started here), and Redis
 * Streams for the first: let a fire that read a schedule before it was
 * removed pass on the schedule declared again under its name (a job of the
 * removed definition, made after `unschedule`); run a wall-clock time that
 * happens twice in autumn twice, whatever its hour field; and let one
 * schedule whose job cannot be made hold up the others, or be reported at
 * every look. Time moves by the queues' clock, never by sleeping, but for
 * a worker's looks.
 *
 * @module
 */

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryBackend } from "../backends/memory/mod.ts";
import { postgresBackend } from "../backends/postgres/mod.ts";
import { redisBackend } from "../backends/redis/mod.ts";
import { redisStreamsBackend } from "../backends/redis_streams/mod.ts";
import { sqliteBackend } from "../backends/sqlite/mod.ts";
import type { Backend } from "../src/backend/interface.ts";
import { ValidationError } from "../src/errors.ts";
import { createQueue } from "../src/queue.ts";
import type { Queue } from "../src/queue_types.ts";
import { createWorker } from "../src/worker/mod.ts";
import { startPostgres } from "./_support/postgres_server.ts";
import { startRedis } from "./_support/redis_server.ts";

const dir = mkdtempSync(join(tmpdir(), "jobline-schedules-safety-"));
let redis: Awaited<ReturnType<typeof startRedis>>;
let pg: Awaited<ReturnType<typeof startPostgres>>;
const closing: { close(): Promise<void> }[] = [];

before(async () => {
  [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
});
after(async () => {
  for (const c of closing.reverse()) await c.close().catch(() => {});
  await redis?.destroy();
  pg?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const MINUTE = 60_000;
let now = Date.parse("2026-06-01T10:00:00.000Z");
const clock = () => now;

/** Each store, as a maker of a backend object on a store of its own. */
const stores: [string, () => Backend][] = [
  ["memory", () => keep(memoryBackend())],
  [
    "a SQLite file",
    () => keep(sqliteBackend({ path: join(dir, `${crypto.randomUUID()}.db`) })),
  ],
  ["redis", () => keep(redisBackend({ url: redis.url }))],
  ["postgres", () => keep(postgresBackend({ url: pg.url, poolSize: 2 }))],
];

function keep<B extends { close(): Promise<void> }>(backend: B): B {
  closing.push(backend);
  return backend;
}

const fresh = () => `s${crypto.randomUUID().slice(0, 8)}`;

function queue(
  backend: Backend,
  name: string,
  options: { maxPayloadBytes?: number } = {},
): Queue {
  return keep(createQueue({ backend, name, clock, ...options }));
}

/** `backend`, whose fireSchedule waits for `open()` once it is called. */
function gated(backend: Backend): {
  backend: Backend;
  open(): void;
  entered: Promise<void>;
} {
  let open!: () => void;
  let enter!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const entered = new Promise<void>((r) => (enter = r));
  const proxy = new Proxy(backend, {
    get(target, prop) {
      if (prop === "fireSchedule") {
        return async (...args: Parameters<Backend["fireSchedule"]>) => {
          enter();
          await gate;
          return target.fireSchedule(...args);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { backend: proxy, open, entered };
}

/** The types of the queue's jobs, by type, in runAt order. */
async function typesOf(q: Queue): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const job of (await q.list({})).jobs) {
    out[job.type] = (out[job.type] ?? 0) + 1;
  }
  return out;
}

/**
 * A fire that read version N of the removed schedule, let go after the
 * schedule was declared again and fired as often as the removed one had.
 */
async function staleFireAfterRecreate(backend: Backend): Promise<void> {
  const name = fresh();
  const g = gated(backend);
  const firer = queue(g.backend, name);
  const admin = queue(backend, name);
  await admin.schedule("s", { every: MINUTE, type: "old" });
  for (let i = 0; i < 2; i++) {
    now += MINUTE;
    assert.equal(await admin.runSchedules(), 1);
  }
  now += MINUTE;
  const stale = firer.runSchedules(); // reads the removed one, then waits
  await g.entered;
  assert.equal(await admin.unschedule("s"), true);
  await admin.schedule("s", { every: MINUTE, type: "new" });
  for (let i = 0; i < 2; i++) {
    now += MINUTE;
    assert.equal(await admin.runSchedules(), 1);
  }
  const before = (await admin.schedules())[0]!;
  g.open();
  assert.equal(await stale, 0, "the stale fire makes no job");
  assert.deepEqual(await typesOf(admin), { old: 2, new: 2 });
  const later = (await admin.schedules())[0]!;
  assert.equal(later.nextRunAt, before.nextRunAt, "the new one is untouched");
  assert.equal(later.type, "new");
  now += MINUTE;
  assert.equal(await admin.runSchedules(), 1, "and it goes on firing");
}

/** The Paris wall-clock times of the jobs a cron makes over a span. */
async function parisRuns(
  backend: Backend,
  cron: string,
  from: string,
  until: string,
): Promise<string[]> {
  now = Date.parse(from);
  const q = queue(backend, fresh());
  let s = await q.schedule("paris", { cron, tz: "Europe/Paris", type: "t" });
  while (s.nextRunAt <= Date.parse(until)) {
    now = s.nextRunAt;
    assert.equal(await q.runSchedules(), 1);
    s = (await q.schedules())[0]!;
  }
  const runAts = (await q.list({})).jobs.map((j) => j.runAt).sort();
  return runAts.map((at) =>
    new Date(at).toLocaleString("sv-SE", {
      timeZone: "Europe/Paris",
      timeZoneName: "short",
    }).slice(11)
  );
}

/**
 * Two Queue objects on one stored queue: `small` cannot make the job of
 * the schedule "big" that `large` stored (its data is over small's
 * maxPayloadBytes); "ping" is fine for both.
 */
async function poisoned(backend: Backend) {
  const name = fresh();
  const large = queue(backend, name, { maxPayloadBytes: 10_000 });
  const small = queue(backend, name, { maxPayloadBytes: 1_000 });
  await large.schedule("big", {
    every: MINUTE,
    type: "big",
    data: "x".repeat(5_000),
  });
  await small.schedule("ping", { every: MINUTE, type: "ping" });
  return { large, small };
}

for (const [label, store] of stores) {
  describe(`schedules on ${label}`, () => {
    test("a fire that read a removed schedule makes no job and leaves the one declared again as it is", async () => {
      await staleFireAfterRecreate(store());
    });

    test("a time that happens twice in autumn runs once, whatever the hour field, and every hour when it is *", async () => {
      const backend = store();
      const from = "2026-10-24T21:30:00Z";
      const until = "2026-10-25T03:30:00Z"; // 04:30 CET
      const runs = (cron: string) => parisRuns(backend, cron, from, until);
      assert.deepEqual(await runs("0 2,14 * * *"), ["2:00:00 CEST"]);
      assert.deepEqual(await runs("*/30 2 * * *"), [
        "2:00:00 CEST",
        "2:30:00 CEST",
      ]);
      assert.deepEqual(await runs("0 */2 * * *"), [
        "0:00:00 CEST",
        "2:00:00 CEST",
        "4:00:00 CET",
      ]);
      assert.deepEqual(await runs("0 1-3 * * *"), [
        "1:00:00 CEST",
        "2:00:00 CEST",
        "3:00:00 CET",
      ]);
      assert.deepEqual(await runs("0 * * * *"), [
        "0:00:00 CEST",
        "1:00:00 CEST",
        "2:00:00 CEST",
        "2:00:00 CET",
        "3:00:00 CET",
        "4:00:00 CET",
      ]);
    });

    test("a schedule whose job cannot be made is reported once, stays due for those who can, and delays no other", async () => {
      const { large, small } = await poisoned(store());
      const errors: unknown[] = [];
      const onError = (err: unknown) => void errors.push(err);
      now += MINUTE;
      assert.equal(await small.runSchedules({ onError }), 1, "ping fires");
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof ValidationError);
      assert.match((errors[0] as Error).message, /schedule 'big'/);
      now += MINUTE;
      assert.equal(await small.runSchedules({ onError }), 1, "ping again");
      assert.equal(errors.length, 1, "reported once");
      assert.deepEqual(await typesOf(small), { ping: 2 });
      // Not moved on: the queue that can make its job still makes it.
      assert.equal(await large.runSchedules(), 1);
      assert.deepEqual(await typesOf(small), { ping: 2, big: 1 });
      // Fired elsewhere, it is another version: reported once more.
      now += MINUTE;
      assert.equal(await small.runSchedules({ onError }), 1);
      assert.equal(errors.length, 2);
      // Without onError, the failure is thrown once the others fired.
      await large.schedule("big", {
        every: MINUTE,
        type: "big",
        data: "y".repeat(5_000),
      });
      now += MINUTE;
      await assert.rejects(small.runSchedules(), ValidationError);
      assert.deepEqual(await typesOf(small), { ping: 4, big: 1 });
    });
  });
}

describe("schedules on Redis Streams", () => {
  test("a fire that read a removed schedule makes no job and leaves the one declared again as it is", async () => {
    await staleFireAfterRecreate(
      keep(redisStreamsBackend({ url: redis.url })),
    );
  });
});

/** How many jobs the counts hold, in any status. */
const jobsOf = (c: Awaited<ReturnType<Queue["stats"]>>): number =>
  c.waiting + c.pending + c.processing + c.complete + c.failed + c.cancelled;

describe("a worker's schedule looks", () => {
  test("one schedule whose job cannot be made slows no look down", async () => {
    const { small } = await poisoned(keep(memoryBackend()));
    const errors: unknown[] = [];
    const worker = createWorker(small, { ping: () => {}, big: () => {} }, {
      pollInterval: 20,
      onError: (err) => void errors.push(err),
    });
    try {
      // Each occurrence is made within a few looks; one that backs off
      // (doubling from 40 ms) falls behind after a handful.
      for (let made = 1; made <= 8; made++) {
        now += MINUTE;
        const deadline = Date.now() + 400;
        while (jobsOf(await small.stats()) < made) {
          assert.ok(Date.now() < deadline, `occurrence ${made} made late`);
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      assert.equal(errors.length, 1, "reported once");
    } finally {
      await worker.stop();
    }
  });
});
