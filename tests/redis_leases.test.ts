/**
 * The Redis backend's lease index (`B active`, processing jobs by lease
 * deadline), where the conformance suite cannot look: a claim adds its pin
 * (a member that is no job, scored +inf), which keeps the set a skiplist
 * however few leases it holds, and nothing that reads the index takes the
 * pin for a job: completions, a lease running out, setLimits' recount. One
 * redis-server, started on a free loopback port for this file and stopped
 * after it; time moves on each queue's clock.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { redisBackend } from "../backends/redis/mod.ts";
import { createQueue, createWorker, type Queue } from "../mod.ts";
import { fakeClock } from "./conformance/_context.ts";
import { redisFixture } from "./_support/redis_fixture.ts";
import { waitFor } from "./_support/time.ts";

const PREFIX = "lease";

const redis = redisFixture((url) => redisBackend({ url, prefix: PREFIX }));
let n = 0;

const cmd = redis.cmd;

/** A queue of its own on a fake clock, and its lease index's key. */
function setup(): {
  queue: Queue;
  active: string;
  clock: ReturnType<typeof fakeClock>;
} {
  const name = `l${++n}`;
  const clock = fakeClock();
  const queue = createQueue({
    backend: redis.backend,
    name,
    clock: clock.clock,
  });
  return { queue, active: `${PREFIX}:{${name}}:active`, clock };
}

/** The lease index: the job ids in it, and whether the pin is there. */
async function leases(key: string): Promise<{ ids: string[]; pin: boolean }> {
  const raw = await cmd("ZRANGE", key, "0", "-1", "WITHSCORES") as unknown[];
  // pairs in RESP3 (the score a number), one flat list in RESP2
  const pairs = Array.isArray(raw[0]) ? raw as [string, unknown][] : Array.from(
    { length: raw.length / 2 },
    (_, i) => [raw[2 * i], raw[2 * i + 1]] as [string, unknown],
  );
  const ids: string[] = [];
  let pin = false;
  for (const [member, score] of pairs) {
    if (Number(score) === Infinity || score === "inf") {
      assert.ok(member.length > 128, "the pin is longer than a listpack holds");
      pin = true;
    } else ids.push(member);
  }
  return { ids: ids.sort(), pin };
}

describe("redis lease index", () => {
  test("a claim pins the index as a skiplist; completing every job leaves the pin alone in it", async () => {
    const { queue, active } = setup();
    try {
      const ids = await queue.enqueueMany(
        [1, 2, 3].map((i) => ({ type: "t", data: i })),
      );
      assert.equal(await cmd("EXISTS", active), 0, "no claim, no index");
      const claimed = await queue.claimMany(3);
      assert.equal(claimed.length, 3);
      assert.equal(await cmd("OBJECT", "ENCODING", active), "skiplist");
      assert.deepEqual(await leases(active), {
        ids: [...ids].sort(),
        pin: true,
      });
      for (const job of claimed) await queue.complete(job, null);
      assert.deepEqual(await leases(active), { ids: [], pin: true });
      assert.equal(await cmd("OBJECT", "ENCODING", active), "skiplist");
      const stats = await queue.stats();
      assert.equal(stats.processing, 0);
      assert.equal(stats.complete, 3);
      assert.equal(await queue.claim(), null, "the pin is never claimed");
    } finally {
      await queue.close();
    }
  });

  test("a limited claim pins the index too", async () => {
    const { queue, active } = setup();
    try {
      await queue.setLimits({ groups: { concurrency: 1 } });
      await queue.enqueue("t", 1, { group: "a" });
      assert.ok(await queue.claim());
      assert.equal(await cmd("OBJECT", "ENCODING", active), "skiplist");
      assert.equal((await leases(active)).pin, true);
    } finally {
      await queue.close();
    }
  });

  test("leases that run out are recovered past the pin, and setLimits recounts only jobs", async () => {
    const { queue, active, clock } = setup();
    try {
      await queue.enqueueMany([1, 2, 3].map((i) => ({ type: "t", data: i })));
      const held = await queue.claimMany(2, { leaseMs: 1_000 });
      assert.equal(held.length, 2);
      // two processing jobs fill a limit of two: the pin is not a third
      await queue.setLimits({ concurrency: 2 });
      assert.equal(await queue.claim(), null);
      await queue.setLimits({ concurrency: 3 });
      const third = await queue.claim({ leaseMs: 60_000 });
      assert.ok(third);
      assert.equal(await queue.claim(), null);
      clock.advance(5_000);
      const again = await queue.claimMany(3, { leaseMs: 60_000 });
      assert.deepEqual(
        again.map((j) => j.id).sort(),
        held.map((j) => j.id).sort(),
        "both ran out and were claimed again",
      );
      assert.ok(again.every((j) => j.attempt === 2));
      const index = await leases(active);
      assert.equal(index.pin, true);
      assert.deepEqual(index.ids, [third.id, ...again.map((j) => j.id)].sort());
      const stats = await queue.stats();
      assert.equal(stats.processing, 3);
      assert.equal(stats.pending, 0);
    } finally {
      await queue.close();
    }
  });
});

describe("redis cancel", () => {
  test("a handler's signal aborts at cancel() even when this process claimed its job again since", async () => {
    // cancel, retry and a claim sent together: the claim (think: another
    // worker of this process) may come back before the cancel message. The
    // backend used to drop that cancel as one of an older lease than the
    // newest it held, and the first run went on until its next heartbeat
    // (10 s); the worker checks each lease with a heartbeat itself.
    for (let round = 0; round < 12; round++) {
      // a backend object per round, as a queue made from a URL has
      const backend = redisBackend({ url: redis.server.url, prefix: PREFIX });
      const queue = createQueue({ backend, name: `c${++n}` });
      let started = false;
      let aborted = false;
      const worker = createWorker(queue, {
        t: (_job, ctx) =>
          new Promise((resolve) => {
            started = true;
            ctx.signal.addEventListener("abort", () => {
              aborted = true;
              resolve(null);
            }, { once: true });
          }),
      }, { pollInterval: 50 });
      try {
        const id = await queue.enqueue("t", null);
        await waitFor("the handler to start", () => started);
        await worker.pause();
        const [, , again] = await Promise.all([
          queue.cancel(id),
          queue.retry(id),
          queue.claim(),
        ]);
        assert.equal(again?.id, id, "claimed again");
        await waitFor("the first run's signal to abort", () => aborted, {
          timeout: 1_500,
        });
      } finally {
        await worker.stop({ timeout: 100 });
        await queue.close();
        await backend.close();
      }
    }
  });
});
