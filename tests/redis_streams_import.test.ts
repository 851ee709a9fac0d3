/**
 * The Redis Streams backend's import transition (what `migrate()` writes
 * through) and the entries it leaves to acknowledge: jobs imported as they
 * are, in order, once; a queue moved out of it by migrate() with every
 * field kept; an entry of a job whose last lease ran out, found by a claim
 * of another type, acknowledged by the next claim of its own type. One
 * redis-server, started on a free loopback port for this file and stopped
 * after it.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { redisStreamsBackend } from "../backends/redis_streams/mod.ts";
import type { JobRecord } from "../src/backend/interface.ts";
import { createQueue, memoryBackend, migrate } from "../mod.ts";
import { fakeClock } from "./conformance/_context.ts";
import { redisFixture } from "./_support/redis_fixture.ts";

const redis = redisFixture((url) =>
  redisStreamsBackend({ url, checkKeys: true })
);
let n = 0;

const cmd = redis.cmd;

/** When the jobs below were made: before any test's `now`, so they are due. */
const MADE = Date.now();

/** A stored job as another backend would hand it over. */
function job(over: Partial<JobRecord> & { id: string }): JobRecord {
  const now = MADE;
  return {
    type: "t",
    data: "{}",
    priority: 5,
    maxAttempts: 3,
    runAt: now,
    createdAt: now,
    ttl: null,
    expiresAt: null,
    key: null,
    metadata: "{}",
    keep: {
      complete: { age: 86_400_000, count: null },
      failed: { age: null, count: null },
    },
    status: "pending",
    progress: 0,
    message: "",
    result: null,
    error: null,
    attempt: 0,
    updatedAt: now,
    startedAt: null,
    completedAt: null,
    lease: null,
    version: 1,
    ...over,
  };
}

describe("redis streams: import", () => {
  test("importJobs() writes jobs as they are, due ones in line in the order given, each once", async () => {
    const name = `imp${++n}`;
    const now = Date.now();
    const jobs = [
      job({ id: "01J0000000000000000000000C", data: '"c"', attempt: 1 }),
      job({ id: "01J0000000000000000000000A", type: "u", key: "k-1" }),
      job({ id: "01J0000000000000000000000D", runAt: now + 60_000 }),
      job({
        id: "01J0000000000000000000000B",
        status: "complete",
        result: '{"ok":true}',
        attempt: 1,
        version: 3,
        message: "all done here",
        progress: 1,
        startedAt: now - 10,
        completedAt: now - 5,
        updatedAt: now - 5,
      }),
      job({ id: "01J0000000000000000000000E", key: "k-1" }),
    ];
    const outcomes = await redis.backend.importJobs(name, jobs, { now });
    assert.deepEqual(outcomes, [
      "created",
      "created",
      "created",
      "created",
      "key-held",
    ]);
    assert.deepEqual(
      await redis.backend.importJobs(name, jobs.slice(0, 4), { now }),
      ["exists", "exists", "exists", "exists"],
    );
    for (const j of jobs.slice(0, 4)) {
      assert.deepEqual(await redis.backend.get(name, j.id, { now }), j);
    }
    const queue = createQueue({ backend: redis.backend, name });
    try {
      const claimed = await queue.claimMany(10);
      assert.deepEqual(claimed.map((j) => [j.id, j.attempt]), [
        [jobs[0]!.id, 2],
        [jobs[1]!.id, 1],
      ]);
      assert.equal(await queue.enqueue("u", null, { key: "k-1" }), jobs[1]!.id);
      assert.deepEqual((await queue.stats()).complete, 1);
    } finally {
      await queue.close();
    }
  });

  test("migrate() moves a queue out of it with every field kept", async () => {
    const clock = fakeClock();
    const from = createQueue({
      backend: redis.backend,
      name: `mig${++n}`,
      clock: clock.clock,
    });
    const to = createQueue({ backend: memoryBackend(), name: "to" });
    try {
      await from.enqueue("t", { a: 1 }, { key: "k", metadata: { m: 1 } });
      await from.enqueue("t", 2, { delay: 5_000, ttl: 3_600 });
      await from.complete((await from.claim())!, { r: 1 });
      const report = await migrate({
        from,
        to,
        statuses: ["pending", "complete"],
        mode: "move",
      });
      assert.equal(report.verified, true);
      assert.equal(report.copied, 2);
      assert.deepEqual((await from.stats()).pending, 0);
      const moved = (await to.list()).jobs;
      assert.deepEqual(moved.map((j) => [j.status, j.data]), [
        ["complete", { a: 1 }],
        ["pending", 2],
      ]);
      assert.deepEqual(moved[0]!.result, { r: 1 });
      assert.deepEqual(moved[0]!.metadata, { m: 1 });
    } finally {
      await from.close();
      await to.close();
    }
  });

  test("an entry whose last lease ran out, found by a claim of another type, is acknowledged by the next claim of its type", async () => {
    const clock = fakeClock();
    const name = `ack${++n}`;
    const queue = createQueue({
      backend: redis.backend,
      name,
      clock: clock.clock,
      maxAttempts: 1,
    });
    const stream = `jobline:{${name}}:rs:s:a`;
    try {
      const id = await queue.enqueue("a", null);
      await queue.claim({ types: ["a"], leaseMs: 1_000 });
      clock.advance(1_000);
      assert.deepEqual(await queue.claimMany(5, { types: ["b"] }), []);
      assert.equal((await queue.get(id))?.status, "failed");
      const pending = await cmd("XPENDING", stream, "jobline") as unknown[];
      assert.equal(pending[0], 1, "left to acknowledge");
      assert.equal(await queue.claim({ types: ["a"] }), null);
      assert.equal(
        (await cmd("XPENDING", stream, "jobline") as unknown[])[0],
        0,
      );
    } finally {
      await queue.close();
    }
  });
});
