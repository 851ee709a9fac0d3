/**
 * What migrate() (SPEC §10) must never do, on memory, a SQLite file, a
 * redis-server and PostgreSQL (real servers, started here): move a queue
 * onto its own stored queue (two Queue objects on one store: every job
 * "already there", then removed); cut a flow's jobs off from their flow in
 * a move; copy a finished job past its keep time, which the target drops
 * at once (the copy could never verify); and leave half a batch behind
 * when a record of it cannot be imported. Also what a failure while a move
 * removes from the source reports.
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
import { migrate } from "../src/migrate.ts";
import { createQueue } from "../src/queue.ts";
import type { Queue } from "../src/queue_types.ts";
import { importedJob } from "./_support/import_records.ts";
import { startPostgres } from "./_support/postgres_server.ts";
import { startRedis } from "./_support/redis_server.ts";

const dir = mkdtempSync(join(tmpdir(), "jobline-migrate-safety-"));
let redis: Awaited<ReturnType<typeof startRedis>>;
let pg: Awaited<ReturnType<typeof startPostgres>>;
const closing: { close(): Promise<void> }[] = [];

before(async () => {
  [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
});
after(async () => {
  for (const c of closing.reverse()) await c.close();
  await redis?.destroy();
  pg?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

let now = Date.parse("2026-05-01T12:00:00.000Z");
const clock = () => now;

/** Each store, as a maker of new backend objects on one shared store. */
const stores: [string, () => () => Backend][] = [
  ["memory", () => {
    const shared = memoryBackend();
    closing.push(shared);
    return () => shared;
  }],
  ["a SQLite file", () => {
    const path = join(dir, `${crypto.randomUUID()}.db`);
    return () => keep(sqliteBackend({ path }));
  }],
  ["redis", () => () => keep(redisBackend({ url: redis.url }))],
  ["postgres", () => () => keep(postgresBackend({ url: pg.url }))],
];

function keep<B extends { close(): Promise<void> }>(backend: B): B {
  closing.push(backend);
  return backend;
}

function queue(backend: Backend, name: string): Queue {
  return keep(createQueue({ backend, name, clock }));
}

const fresh = () => `s${crypto.randomUUID().slice(0, 8)}`;

for (const [label, store] of stores) {
  describe(`migrate on ${label}`, () => {
    test("a move onto the source's own stored queue is refused and removes nothing", async () => {
      const open = store();
      const name = fresh();
      const from = queue(open(), name);
      await from.enqueueMany([{ type: "t", data: 1 }, { type: "t", data: 2 }]);
      // Another Queue object, on another backend object where the store
      // allows one, of the same stored queue.
      const same = queue(open(), name);
      await assert.rejects(
        migrate({ from, to: same, mode: "move" }),
        (err) =>
          err instanceof ValidationError && /onto itself/.test(err.message),
      );
      assert.equal((await from.stats()).pending, 2);
      assert.equal((await from.list({ status: "cancelled" })).jobs.length, 0);
      const copy = await migrate({ from, to: same });
      assert.deepEqual([copy.copied, copy.skippedBy.exists], [0, 2]);
      const other = queue(open(), fresh());
      const moved = await migrate({ from, to: other, mode: "move" });
      assert.deepEqual([moved.copied, moved.removed], [2, 2]);
      assert.equal((await other.list({ status: "cancelled" })).jobs.length, 0);
    });

    test("a move leaves a flow's jobs in the source with their flow; a copy copies the ones not waiting", async () => {
      const open = store();
      const from = queue(open(), fresh());
      const flow = await from.enqueueFlow([
        { ref: "fetch", type: "fetch", data: {} },
        { ref: "notify", type: "email", data: {}, dependsOn: ["fetch"] },
      ]);
      await from.enqueue("plain", null);
      const to = queue(open(), fresh());
      const moved = await migrate({ from, to, mode: "move" });
      assert.deepEqual(
        [moved.copied, moved.removed, moved.skippedBy.flow],
        [1, 1, 1],
      );
      assert.equal(moved.skippedBy.waiting, 1);
      assert.equal((await from.get(flow.jobs.fetch!))?.status, "pending");
      assert.equal((await from.get(flow.jobs.notify!))?.status, "waiting");
      assert.equal(await to.get(flow.jobs.fetch!), null);
      const job = (await from.claim({ types: ["fetch"] }))!;
      await from.complete(job, null);
      assert.equal((await from.get(flow.jobs.notify!))?.status, "pending");
      const copied = await migrate({ from, to: queue(open(), fresh()) });
      assert.deepEqual([copied.copied, copied.skippedBy.flow], [1, 0]);
    });

    test("a finished job past its keep time is left to the source, and the run verifies", async () => {
      const open = store();
      const from = queue(open(), fresh());
      await from.enqueue("t", 1, { removeOnComplete: { age: 1_000 } });
      await from.enqueue("t", 2);
      const job = (await from.claim())!;
      await from.complete(job, null);
      now += 5_000; // past its keep time; nothing finished since to sweep it
      const to = queue(open(), fresh());
      const report = await migrate({
        from,
        to,
        statuses: ["pending", "complete"],
        mode: "move",
      });
      assert.equal(report.verified, true, report.error);
      assert.deepEqual(
        [report.copied, report.skippedBy.expired, report.removed],
        [1, 1, 1],
      );
    });

    test("an import batch with a bad record writes none of it", async () => {
      const backend = open1(store);
      const name = fresh();
      const good = importedJob(`${name}-a`, now);
      const bad = [
        importedJob(`${name}-b`, now, { priority: Number.NaN }),
        importedJob(`${name}-c`, now, { status: "processing", attempt: 1 }),
        importedJob(`${name}-d`, now, { status: "waiting" }),
        importedJob(`${name}-e`, now, { maxAttempts: 0 }),
        importedJob(`${name}-f`, now, {
          keep: {
            complete: { age: -1, count: null },
            failed: { age: null, count: null },
          },
        }),
      ];
      for (const job of bad) {
        await assert.rejects(
          backend.importJobs(name, [good, job], { now }),
          ValidationError,
          job.id,
        );
      }
      assert.equal(await backend.get(name, good.id, { now }), null);
      assert.equal((await backend.stats(name, { now })).pending, 0);
    });
  });
}

/** One backend object of a store. */
function open1(store: () => () => Backend): Backend {
  return store()();
}

describe("migrate on Redis Streams", () => {
  test("an import batch with a bad record writes none of it", async () => {
    const backend = keep(redisStreamsBackend({ url: redis.url }));
    const name = fresh();
    const good = importedJob(`${name}-a`, now, { priority: 5 });
    const bad = importedJob(`${name}-b`, now, { status: "processing" });
    await assert.rejects(
      backend.importJobs(name, [good, bad], { now }),
      ValidationError,
    );
    assert.equal(await backend.get(name, good.id, { now }), null);
  });
});

describe("migrate, when the source fails during a move's removal", () => {
  test("the report counts what was removed, keeps verified, and a second run ends the move", async () => {
    const inner = keep(memoryBackend());
    let calls = 0;
    const flaky: Backend = {
      ...inner,
      remove(q, id, o) {
        if (++calls === 60) {
          return Promise.reject(new Error("connection reset"));
        }
        return inner.remove(q, id, o);
      },
    };
    const from = queue(flaky, "flaky");
    const to = queue(memoryBackend(), "target");
    await from.enqueueMany(
      Array.from({ length: 100 }, (_, n) => ({ type: "t", data: { n } })),
    );
    const report = await migrate({ from, to, mode: "move" });
    const left = (await from.stats()).pending;
    assert.match(report.error ?? "", /connection reset/);
    assert.equal(report.verified, true);
    assert.ok(left > 0 && left < 100, `${left} left`);
    assert.equal(report.removed, 100 - left);
    const again = await migrate({ from, to, mode: "move" });
    assert.deepEqual(
      [again.copied, again.skippedBy.exists, again.removed, again.error],
      [0, left, left, undefined],
    );
    assert.equal((await from.stats()).pending, 0);
    assert.equal((await to.stats()).pending, 100);
  });

  test("options that are not what migrate takes are ValidationErrors", async () => {
    const a = queue(memoryBackend(), "a");
    const b = queue(memoryBackend(), "b");
    const bad = [
      { from: a, to: b, onProgress: "log" },
      { from: {}, to: b },
      { from: a, to: null },
    ];
    for (const options of bad) {
      await assert.rejects(
        // deno-lint-ignore no-explicit-any
        migrate(options as any),
        ValidationError,
        JSON.stringify(options),
      );
    }
  });
});
