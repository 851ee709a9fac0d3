/**
 * The time-to-live wake-up cases that memory and Redis share (SPEC §7.3;
 * backends/memory/transitions_limits.ts, backends/redis/lua_limits.ts): a
 * worker waiting on a full group, queue or type concurrency limit starts
 * when the running job that fills it reaches the end of its time to live,
 * which no call announces, without waiting for its poll interval, even
 * behind finished jobs kept with earlier expiries; and the expiry of jobs
 * that do not run wakes no one. SQLite and PostgreSQL free such a slot by
 * their background deletion instead, with cases of their own. Also
 * `countingClaims`, a backend that counts its claims.
 *
 * @module
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import type { Backend, ClaimRequest } from "../../src/backend/interface.ts";
import type { Limits } from "../../src/limits_types.ts";
import { createQueue } from "../../src/queue.ts";
import type { Queue } from "../../src/queue_types.ts";
import { createWorker } from "../../src/worker/mod.ts";
import { sleep, waitFor } from "./time.ts";

/** `inner`, with its `claim` calls counted. */
export function countingClaims(
  inner: Backend,
): { backend: Backend; claims(): number } {
  let claims = 0;
  const backend: Backend = Object.create(inner, {
    claim: {
      value: (queue: string, request: ClaimRequest) => (
        claims++, inner.claim(queue, request)
      ),
    },
  });
  return { backend, claims: () => claims };
}

/** Runs `fn` on a queue of a fresh backend, then closes both. */
async function onQueue(
  open: () => Backend | Promise<Backend>,
  fn: (queue: Queue, counted: () => number) => Promise<void>,
): Promise<void> {
  const inner = await open();
  const { backend, claims } = countingClaims(inner);
  const queue = createQueue({ backend, name: "ttl" });
  try {
    await fn(queue, claims);
  } finally {
    await queue.close();
    await inner.close();
  }
}

/**
 * Waits (with a worker whose poll is a minute away) for `next` to start
 * once the running job's time to live runs out: nothing at first, then it
 * within `timeout` ms.
 */
async function startsNext(queue: Queue, timeout: number): Promise<void> {
  const started: unknown[] = [];
  const worker = createWorker(queue, {
    t: (job) => void started.push(job.data),
  }, { pollInterval: 60_000 });
  try {
    // Its first claim finds the limit full and sets a wake for the slot's
    // job's time to live.
    await sleep(100);
    assert.deepEqual(started, []);
    await waitFor("the next job started", () => started.length === 1, {
      timeout,
    });
    assert.deepEqual(started, ["next"]);
  } finally {
    await worker.stop();
  }
}

/**
 * Registers the cases with `node:test` for a backend that `open` makes
 * fresh for each (it closes it).
 */
export function ttlWakeupTests(open: () => Backend | Promise<Backend>): void {
  const expiring: [string, Limits, { group?: string }][] = [
    ["group", { groups: { concurrency: 1 } }, { group: "a" }],
    ["queue", { concurrency: 1 }, {}],
    ["type", { types: { t: { concurrency: 1 } } }, {}],
  ];
  for (const [scope, limits, options] of expiring) {
    test(`a worker waiting on a full ${scope} limit starts when the running job's time to live runs out`, () =>
      onQueue(open, async (queue) => {
        await queue.setLimits(limits);
        await queue.enqueue("t", "expires", { ...options, ttl: 0.4 });
        await queue.enqueue("t", "next", options);
        const held = await queue.claim({ leaseMs: 3_600_000 });
        assert.equal(held?.data, "expires");
        await startsNext(queue, 3_000);
        assert.equal(await queue.get(held!.id), null, "the expired job");
      }));
  }

  test("a worker waiting on a full limit wakes for a running job's time to live behind those of finished jobs kept", () =>
    onQueue(open, async (queue) => {
      await queue.setLimits({ concurrency: 1 });
      // 20 finished jobs, kept, that expire before the running one: the
      // soonest expiries of the queue are not a running job's.
      for (let i = 0; i < 20; i++) {
        await queue.enqueue("t", i, { ttl: 1 });
        await queue.complete((await queue.claim())!, null);
      }
      await queue.enqueue("t", "expires", { ttl: 1 });
      await queue.enqueue("t", "next");
      const held = await queue.claim({ leaseMs: 3_600_000 });
      assert.equal(held?.data, "expires");
      await startsNext(queue, 4_000);
    }));

  test("an idle worker on a full limit does not wake for the expiry of jobs that do not run", () =>
    onQueue(open, async (queue, claims) => {
      await queue.setLimits({ groups: { concurrency: 1 } });
      await queue.enqueue("t", "runs", { group: "a" });
      await queue.enqueue("t", "waits", { group: "a" });
      assert.equal((await queue.claim())?.data, "runs");
      // Jobs the worker does not handle, expiring every 20 ms from now.
      await queue.enqueueMany(Array.from({ length: 20 }, (_, i) => ({
        type: "other",
        data: i,
        options: { ttl: 0.02 * (i + 1) },
      })));
      const before = claims();
      const worker = createWorker(queue, { t: () => null }, {
        pollInterval: 60_000,
      });
      try {
        await sleep(600);
      } finally {
        await worker.stop();
      }
      const n = claims() - before;
      assert.ok(
        n <= 2,
        `claimed ${n} times: woken by expiries of jobs not running`,
      );
    }));
}
