/**
 * Limits on the memory backend beyond the conformance suite (SPEC §7.3,
 * backends/memory/transitions_limits.ts): a worker waiting on a full group,
 * queue or type concurrency limit starts when the running job that fills
 * it reaches the end of its time to live, which no call announces, without
 * waiting for its poll interval; the expiry of jobs that do not run wakes
 * no one.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { memoryBackend } from "../backends/memory/mod.ts";
import type { Backend, ClaimRequest } from "../src/backend/interface.ts";
import type { Limits } from "../src/limits_types.ts";
import { createQueue } from "../src/queue.ts";
import { createWorker } from "../src/worker/mod.ts";
import { sleep, waitFor } from "./_support/time.ts";

describe("memory limits", () => {
  const expiring: [string, Limits, { group?: string }][] = [
    ["group", { groups: { concurrency: 1 } }, { group: "a" }],
    ["queue", { concurrency: 1 }, {}],
    ["type", { types: { t: { concurrency: 1 } } }, {}],
  ];
  for (const [scope, limits, options] of expiring) {
    test(`a worker waiting on a full ${scope} limit starts when the running job's time to live runs out`, async () => {
      const backend = memoryBackend();
      const queue = createQueue({ backend, name: "q" });
      const started: unknown[] = [];
      try {
        await queue.setLimits(limits);
        await queue.enqueue("t", "expires", { ...options, ttl: 0.4 });
        await queue.enqueue("t", "next", options);
        const held = await queue.claim({ leaseMs: 3_600_000 });
        assert.equal(held?.data, "expires");
        const worker = createWorker(queue, {
          t: (job) => void started.push(job.data),
        }, { pollInterval: 60_000 });
        try {
          // Its first claim finds the limit full, with the slot's job
          // expiring 0.4 s after its enqueue: the backend wakes it then.
          await sleep(100);
          assert.deepEqual(started, []);
          await waitFor("the next job started", () => started.length === 1, {
            timeout: 3_000,
          });
          assert.deepEqual(started, ["next"]);
          assert.equal(await queue.get(held!.id), null, "the expired job");
        } finally {
          await worker.stop();
        }
      } finally {
        await queue.close();
        await backend.close();
      }
    });
  }
  test("a worker waiting on a full limit wakes for a running job's time to live behind those of finished jobs kept", async () => {
    const backend = memoryBackend();
    const queue = createQueue({ backend, name: "q" });
    const started: unknown[] = [];
    try {
      await queue.setLimits({ concurrency: 1 });
      // 20 finished jobs, kept, that expire before the running one: the
      // soonest expiries of the queue are not a running job's.
      for (let i = 0; i < 20; i++) {
        await queue.enqueue("t", i, { ttl: 1 });
        await queue.complete((await queue.claim())!, null);
      }
      await queue.enqueue("t", "expires", { ttl: 1 });
      await queue.enqueue("t", "next");
      assert.equal(
        (await queue.claim({ leaseMs: 3_600_000 }))?.data,
        "expires",
      );
      const worker = createWorker(queue, {
        t: (job) => void started.push(job.data),
      }, { pollInterval: 60_000 });
      try {
        await sleep(100);
        assert.deepEqual(started, []);
        await waitFor("the next job started", () => started.length === 1, {
          timeout: 4_000,
        });
        assert.deepEqual(started, ["next"]);
      } finally {
        await worker.stop();
      }
    } finally {
      await queue.close();
      await backend.close();
    }
  });

  test("an idle worker on a full limit does not wake for the expiry of jobs that do not run", async () => {
    const inner = memoryBackend();
    let claims = 0;
    const backend: Backend = Object.create(inner, {
      claim: {
        value: (queue: string, request: ClaimRequest) => (
          claims++, inner.claim(queue, request)
        ),
      },
    });
    const queue = createQueue({ backend, name: "q" });
    try {
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
      const before = claims;
      const worker = createWorker(queue, { t: () => null }, {
        pollInterval: 60_000,
      });
      try {
        await sleep(600);
      } finally {
        await worker.stop();
      }
      assert.ok(
        claims - before <= 2,
        `claimed ${
          claims - before
        } times: woken by expiries of jobs not running`,
      );
    } finally {
      await queue.close();
      await inner.close();
    }
  });
});
