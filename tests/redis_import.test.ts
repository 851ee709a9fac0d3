/**
 * importJobs() on Redis (the target side of migrate(), SPEC §10), where the
 * conformance suite cannot look: jobs of every status read back field for
 * field; the counts hash and the indexes (ready and delayed sets, keys,
 * expiry, `done:<status>`, `removals`) hold exactly what a job of that
 * status is in; imported pending jobs are claimed in import order among
 * equals, and an imported failed job retried goes back in line; a second
 * import finds every id; a held key refuses a pending job; finished jobs
 * are removed by their keep rule from their finish time; one wake for the
 * call; a processing job is refused and nothing is written. One
 * redis-server, started for this file on a free loopback port and stopped
 * after it (tests/redis_migrate.test.ts goes through a Cluster too).
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { redisBackend } from "../backends/redis/mod.ts";
import { hashOf } from "../backends/redis/records.ts";
import type {
  Backend,
  BackendImport,
  JobRecord,
} from "../src/backend/interface.ts";
import { ValidationError } from "../src/errors.ts";
import { redisFixture } from "./_support/redis_fixture.ts";
import { sleep, waitFor } from "./_support/time.ts";
import { importedJob } from "./_support/import_records.ts";

const PREFIX = "imp";
const T = Date.parse("2026-05-01T12:00:00.000Z");
const HOUR = 3_600_000;
const kept = { age: null, count: null };

const redis = redisFixture((url) => open(url));
let n = 0;

/** A Redis backend, typed with the import it has. */
const open = (url: string): Backend & BackendImport =>
  redisBackend({ url, prefix: PREFIX }) as Backend & BackendImport;

/** A fresh queue name, and its raw key names. */
function fresh(): { q: string; key: (name: string) => string } {
  const q = `i${++n}`;
  return { q, key: (k) => `${PREFIX}:{${q}}:${k}` };
}

const cmd = redis.cmd;

/** A sorted set as [member, score] pairs, lowest score first. */
async function zset(key: string): Promise<[string, number][]> {
  const reply = await cmd("ZRANGE", key, "0", "-1", "WITHSCORES") as unknown[];
  // pairs (RESP3) or a flat member, score list (RESP2)
  const flat = reply.flat() as unknown[];
  const out: [string, number][] = [];
  for (let i = 0; i < flat.length; i += 2) {
    out.push([String(flat[i]), Number(flat[i + 1])]);
  }
  return out;
}

/** A stored job as another backend would hand it over. */
const job = (id: string, change: Partial<JobRecord> = {}): JobRecord =>
  importedJob(id, T - HOUR, change);

/** One job of every status and of most options, in enqueue order. */
const jobs: JobRecord[] = [
  job("p-z", { priority: 70, key: "order-1", ttl: 86_400_000 }),
  job("p-a", {
    priority: 70,
    metadata: '{"tenant":"t1","deep":{"b":1,"a":[2,3]}}',
    attempt: 1,
    error: { name: "Error", message: "first try", stack: "Error: first try" },
    message: "line one\nline two",
    updatedAt: T - 10,
    startedAt: T - 20,
    version: 4,
    keep: {
      complete: { age: 5_000, count: 10 },
      failed: { age: null, count: 3 },
    },
  }),
  job("p-m", { priority: 70, maxAttempts: 7, expiresAt: T + 2 * HOUR }),
  job("p-later", { runAt: T + HOUR, data: "null", type: "other" }),
  job("c-1", {
    status: "complete",
    key: "order-1",
    progress: 0.5,
    message: "half",
    result: '{"ok":true}',
    attempt: 1,
    startedAt: T - 30,
    completedAt: T - 20,
    updatedAt: T - 20,
    version: 5,
    keep: { complete: { age: HOUR, count: null }, failed: kept },
  }),
  job("f-1", {
    status: "failed",
    error: { name: "TypeError", message: "boom" },
    attempt: 3,
    startedAt: T - 30,
    completedAt: T - 25,
    updatedAt: T - 25,
    version: 8,
    keep: {
      complete: { age: 1, count: null },
      failed: { age: 2 * HOUR, count: 5 },
    },
  }),
  job("x-1", {
    status: "cancelled",
    error: { name: "CancelledError", message: "no longer needed" },
    completedAt: T - 5,
    updatedAt: T - 5,
    version: 2,
  }),
];

/**
 * Imports `jobs` into a fresh queue and checks what a user sees: every
 * field, stats, one wake, "exists" the second time, claim order, and an
 * imported failed job retried.
 */
async function roundTrip(b: Backend & BackendImport, q: string): Promise<void> {
  const now = T;
  const wakes: number[] = [];
  const stop = await b.listen(q, "worker", (e) => {
    if (e.kind === "wake") wakes.push(e.at);
  });
  try {
    assert.deepEqual(
      await b.importJobs(q, jobs, { now }),
      jobs.map(() => "created"),
    );
    for (const j of jobs) {
      assert.deepEqual(await b.get(q, j.id, { now }), j, j.id);
    }
    const all = { status: null, type: null, limit: 100, after: null, now };
    const byId = (a: JobRecord, c: JobRecord) => (a.id < c.id ? -1 : 1);
    assert.deepEqual(await b.list(q, all), [...jobs].sort(byId));
    const stats = await b.stats(q, { now });
    const { byType, ...counts } = stats;
    assert.deepEqual(counts, {
      waiting: 0,
      pending: 4,
      processing: 0,
      complete: 1,
      failed: 1,
      cancelled: 1,
    });
    assert.equal(byType.other?.pending, 1);
    await waitFor("the wake", () => wakes.length === 1);
    assert.deepEqual(wakes, [T - HOUR], "one wake, for the soonest");

    assert.deepEqual(
      await b.importJobs(q, jobs, { now }),
      jobs.map(() => "exists"),
      "a second import stores nothing twice",
    );
    await sleep(100);
    assert.equal(wakes.length, 1, "and wakes nobody");

    const claim = (at: number, limit = 10) =>
      b.claim(q, { types: null, limit, leaseMs: 2 * HOUR, now: at });
    assert.deepEqual(
      (await claim(now)).map((j) => j.id),
      ["p-z", "p-a", "p-m"],
      "import order among equal priorities, not id order",
    );
    assert.equal(await b.retry(q, "f-1", { now }), true);
    assert.deepEqual((await claim(T + HOUR)).map((j) => j.id), [
      "p-later",
      "f-1",
    ]);
  } finally {
    await stop();
  }
}

describe("redis importJobs", () => {
  test("stores jobs of every status as they are, field for field, in claim order, once", async () => {
    await roundTrip(redis.backend, fresh().q);
  });

  test("keeps the counts hash and every index as enqueue and the finishing scripts do", async () => {
    const { q, key } = fresh();
    const now = T;
    await redis.backend.importJobs(q, jobs, { now });
    assert.deepEqual(hashOf(await cmd("HGETALL", key("counts"))), {
      "pending:t": "3",
      "pending:other": "1",
      "complete:t": "1",
      "failed:t": "1",
      "cancelled:t": "1",
    });
    const ready = await zset(key("r:t"));
    assert.deepEqual(ready.map(([id]) => id), ["p-z", "p-a", "p-m"]);
    assert.deepEqual(await zset(key("r:other")), [], "not due yet");
    assert.deepEqual(await zset(key("delayed")), [["p-later", T + HOUR]]);
    assert.deepEqual(await zset(key("expiry")), [["p-m", T + 2 * HOUR]]);
    assert.equal(await cmd("ZCARD", key("ids")), jobs.length);
    assert.deepEqual(hashOf(await cmd("HGETALL", key("keys"))), {
      "order-1": "p-z",
    });
    assert.deepEqual(await zset(key("done:complete")), [["c-1", T - 20]]);
    assert.deepEqual(await zset(key("done:failed")), [["f-1", T - 25]]);
    assert.deepEqual(await zset(key("done:cancelled")), [["x-1", T - 5]]);
    assert.deepEqual(await zset(key("removals")), [
      ["c-1", T - 20 + HOUR],
      ["f-1", T - 25 + 2 * HOUR],
    ]);
    assert.deepEqual(await zset(key("active")), []);
    for (const id of ["c-1", "f-1", "x-1", "p-later"]) {
      assert.notEqual(await cmd("HGET", key(`j:${id}`), "q"), null, id);
    }
  });

  test("a pending job whose key is held is not stored, and an imported one holds its key", async () => {
    const { q } = fresh();
    const now = T;
    const live = [job("live", { key: "k" })];
    const [holder] = await redis.backend.enqueue(q, live, { now });
    const outcomes = await redis.backend.importJobs(q, [
      job("p-1", { key: "k" }),
      job("c-1", { key: "k", status: "complete", completedAt: T - 1 }),
      job("p-2", { key: "k2" }),
      job("p-3", { key: "k2" }),
      job("p-4", { key: "k3", expiresAt: T }),
      job("p-5", { key: "k3" }),
    ], { now });
    assert.deepEqual(outcomes, [
      "key-held",
      "created",
      "created",
      "key-held",
      "created",
      "created",
    ], "an expired holder holds nothing");
    assert.equal(holder!.created, true);
    assert.equal(await redis.backend.get(q, "p-1", { now }), null);
    assert.deepEqual(
      await redis.backend.enqueue(q, [job("new", { key: "k2" })], { now }),
      [{ id: "p-2", created: false }],
    );
    assert.equal((await redis.backend.stats(q, { now })).pending, 3);
  });

  test("finished jobs are removed by their keep rule from their finish time", async () => {
    const { q } = fresh();
    let now = T;
    const aged = (age: number) => ({
      complete: { age, count: null },
      failed: kept,
    });
    const done = { status: "complete" as const, completedAt: T - 1_000 };
    assert.deepEqual(
      await redis.backend.importJobs(q, [
        job("past", { ...done, keep: aged(500) }),
        job("soon", { ...done, keep: aged(2_000) }),
        job("kept", { ...done }),
      ], { now }),
      ["created", "created", "created"],
    );
    const left = async () =>
      (await redis.backend.list(q, {
        status: null,
        type: null,
        limit: 10,
        after: null,
        now,
      })).map((j) => j.id);
    const finishOne = async (id: string) => {
      await redis.backend.enqueue(q, [job(id, { runAt: now })], { now });
      const [claimed] = await redis.backend.claim(q, {
        types: null,
        limit: 1,
        leaseMs: 1_000,
        now,
      });
      const ref = { id: claimed!.id, token: claimed!.lease!.token };
      await redis.backend.complete(q, ref, "null", { now });
    };
    assert.deepEqual(await left(), ["kept", "soon"], "past: swept at once");
    now = T + 500;
    await finishOne("r1");
    assert.deepEqual(await left(), ["kept", "r1", "soon"]);
    now = T + 1_000; // completedAt + 2 s: "soon" is due
    await finishOne("r2");
    assert.deepEqual(await left(), ["kept", "r1", "r2"]);
    assert.equal((await redis.backend.stats(q, { now })).complete, 3);
  });

  test("a processing job is refused with a ValidationError and nothing is written", async () => {
    const { q, key } = fresh();
    const now = T;
    await assert.rejects(
      redis.backend.importJobs(q, [
        job("fine"),
        job("busy", {
          status: "processing",
          attempt: 1,
          startedAt: T,
          lease: { token: "t", until: T + 1_000 },
        }),
      ], { now }),
      ValidationError,
    );
    assert.equal(await redis.backend.get(q, "fine", { now }), null);
    assert.equal(await cmd("EXISTS", key("seq"), key("ids")), 0);
    const again = await redis.backend.importJobs(q, [job("fine")], { now });
    assert.deepEqual(again, ["created"]);
  });
});
