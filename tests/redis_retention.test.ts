/**
 * Retention on the Redis backend, where the conformance suite cannot look:
 * the indexes it keeps (`done:<status>:<age>` by finish time for a rule
 * that is an age alone, `done:<status>` and `removals` for the others) stay
 * in step with the jobs, jobs stored before retention (no `kp`
 * field) are kept, the sweep is bounded per finished job, keep rules of one
 * batch of completions apply job by job, and clean() scans past more index
 * entries than one script call reads. One redis-server, started on a free
 * loopback port for this file and stopped after it; time moves on each
 * queue's clock.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { redisBackend } from "../backends/redis/mod.ts";
import { createQueue, type Queue } from "../mod.ts";
import type { QueueOptions } from "../src/queue_types.ts";
import { fakeClock } from "./conformance/_context.ts";
import { redisFixture } from "./_support/redis_fixture.ts";

const PREFIX = "ret";
const DAY = 86_400_000;

const redis = redisFixture((url) => redisBackend({ url, prefix: PREFIX }));
let n = 0;

/** A queue of its own, and its raw keys. */
function setup(options: Partial<QueueOptions> = {}): {
  queue: Queue;
  key: (name: string) => string;
} {
  const name = `r${++n}`;
  const queue = createQueue({ ...options, backend: redis.backend, name });
  return { queue, key: (k) => `${PREFIX}:{${name}}:${k}` };
}

const cmd = redis.cmd;

/** Whether `id` is a member of the sorted set `key`. */
async function indexed(key: string, id: string): Promise<boolean> {
  return (await cmd("ZSCORE", key, id)) !== null;
}

describe("redis retention", () => {
  test("a job stored before retention (no kp field) is kept past every age, and clean() finds it once finished", async () => {
    const clock = fakeClock();
    const { queue, key } = setup({ clock: clock.clock });
    try {
      const old = await queue.enqueue("t", 1);
      assert.ok((await cmd("HGET", key(`j:${old}`), "kp")) !== null);
      await cmd("HDEL", key(`j:${old}`), "kp");
      const kept = { age: null, count: null };
      assert.deepEqual(
        (await redis.backend.get(queue.name, old, { now: clock.now }))?.keep,
        {
          complete: kept,
          failed: kept,
        },
      );
      await queue.complete((await queue.claim())!, "ok");
      assert.ok(await indexed(key("done:complete"), old));
      assert.equal(await indexed(key("removals"), old), false);
      clock.advance(30 * DAY);
      const id = await queue.enqueue("t", 2);
      await queue.complete((await queue.claim())!, "ok");
      assert.equal((await queue.get(old))?.status, "complete");
      assert.equal(await queue.clean({ status: "complete", olderThan: 1 }), 1);
      assert.equal(await queue.get(old), null);
      assert.equal((await queue.get(id))?.status, "complete");
    } finally {
      await queue.close();
    }
  });

  test("jobs leave the retention indexes when removed, retried, cleaned or expired", async () => {
    const clock = fakeClock();
    const { queue, key } = setup({ clock: clock.clock, maxAttempts: 1 });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        ids.push(await queue.enqueue("t", i));
        await queue.complete((await queue.claim())!, null);
      }
      const failed = await queue.enqueue("t", 9);
      await queue.fail((await queue.claim())!, "no");
      const short = await queue.enqueue("t", 10, { ttl: 1 });
      await queue.cancel(short);
      // the default rules are an age alone: one index per status and age,
      // by completedAt, and none in done:<status> or removals
      for (const id of ids) {
        assert.ok(await indexed(key(`done:complete:${DAY}`), id));
        assert.equal(await indexed(key("done:complete"), id), false);
        assert.equal(await indexed(key("removals"), id), false);
      }
      assert.ok(await indexed(key(`done:failed:${7 * DAY}`), failed));
      assert.ok(await indexed(key(`done:cancelled:${7 * DAY}`), short));
      assert.deepEqual(
        ((await cmd("SMEMBERS", key("ages"))) as string[]).sort(),
        [`cancelled:${7 * DAY}`, `complete:${DAY}`, `failed:${7 * DAY}`],
      );
      assert.equal(await queue.remove(ids[0]!), true);
      assert.equal(await queue.retry(failed), true);
      assert.equal(await queue.clean({ status: "complete", type: "t" }), 2);
      clock.advance(1_000);
      assert.equal((await queue.stats()).cancelled, 0, "expired");
      for (
        const k of [
          `done:complete:${DAY}`,
          `done:failed:${7 * DAY}`,
          `done:cancelled:${7 * DAY}`,
          "done:complete",
          "done:failed",
          "done:cancelled",
          "removals",
        ]
      ) {
        assert.equal(await cmd("ZCARD", key(k)), 0, k);
      }
      assert.equal((await queue.get(failed))?.status, "pending");
    } finally {
      await queue.close();
    }
  });

  test("a finishing transition deletes at most 100 jobs past their removal time, the rest go with the next ones", async () => {
    const clock = fakeClock();
    const { queue, key } = setup({
      clock: clock.clock,
      removeOnComplete: { age: 1_000 },
    });
    try {
      await queue.enqueueMany(
        Array.from({ length: 150 }, (_, i) => ({ type: "t", data: i })),
      );
      for (const job of await queue.claimMany(150)) {
        await queue.complete(job, null);
      }
      clock.advance(1_000);
      const one = async (): Promise<void> => {
        await queue.enqueue("t", null);
        await queue.complete((await queue.claim())!, null);
      };
      await one();
      assert.equal(await cmd("ZCARD", key("done:complete:1000")), 51);
      await one();
      assert.equal(await cmd("ZCARD", key("done:complete:1000")), 2);
      assert.equal((await queue.stats()).complete, 2);
    } finally {
      await queue.close();
    }
  });

  test("keep rules of completions sent together apply job by job, and a lease run out applies the failed rule", async () => {
    const clock = fakeClock();
    const { queue, key } = setup({
      clock: clock.clock,
      removeOnComplete: { count: 2 },
      removeOnFail: { count: 1 },
      maxAttempts: 1,
    });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push(await queue.enqueue("t", i));
      const gone = await queue.enqueue("t", 4, { removeOnComplete: true });
      const jobs = await queue.claimMany(5);
      assert.deepEqual(jobs.map((j) => j.id), [...ids, gone]);
      await Promise.all(jobs.map((job) => queue.complete(job, null)));
      const alive = await Promise.all(
        [...ids, gone].map(async (id) => (await queue.get(id)) !== null),
      );
      assert.deepEqual(alive, [false, false, true, true, false]);
      assert.equal(await cmd("ZCARD", key("done:complete")), 2);
      const f1 = await queue.enqueue("t", 5);
      await queue.fail((await queue.claim())!, "no");
      const f2 = await queue.enqueue("t", 6);
      await queue.claim({ leaseMs: 1_000 });
      clock.advance(1_000);
      assert.equal(await queue.claim(), null, "the lease ran out");
      assert.equal(await queue.get(f1), null, "trimmed by count");
      assert.equal((await queue.get(f2))?.status, "failed");
      assert.deepEqual(await cmd("ZRANGE", key("done:failed"), "0", "-1"), [
        f2,
      ]);
    } finally {
      await queue.close();
    }
  });

  test("clean() of one type goes past more index entries than one script call reads", async () => {
    const { queue } = setup({ removeOnComplete: false });
    try {
      const many = Array.from(
        { length: 2_100 },
        () => ({ type: "a", data: null }),
      );
      await queue.enqueueMany(many);
      const done = await queue.claimMany(2_100);
      await Promise.all(done.map((job) => queue.complete(job, null)));
      for (let i = 0; i < 3; i++) {
        await queue.enqueue("b", i);
        await queue.complete((await queue.claim({ types: ["b"] }))!, null);
      }
      await queue.enqueueMany(many);
      await queue.enqueueMany([{ type: "b", data: 1 }, { type: "b", data: 2 }]);
      assert.equal(await queue.clean({ status: "complete", type: "b" }), 3);
      assert.equal(await queue.clean({ status: "pending", type: "b" }), 2);
      const stats = await queue.stats();
      assert.deepEqual([stats.complete, stats.pending], [2_100, 2_100]);
    } finally {
      await queue.close();
    }
  });
});
