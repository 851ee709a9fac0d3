/**
 * How often a worker claims when jobs arrive one at a time (src/worker/mod.ts's
 * loop): a claim that takes the job and, once it has run, one that finds the
 * queue empty, and no claim sent ahead beside them; and a job that arrives
 * while a claim is under way sends no second claim beside it (wake.ts,
 * `heard`). Real time, on a memory queue whose claims are counted: the
 * subject is the number of calls.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { memoryBackend } from "../backends/memory/mod.ts";
import type { Backend } from "../src/backend/interface.ts";
import { createQueue } from "../src/queue.ts";
import { createWorker } from "../src/worker/mod.ts";
import { sleep, waitFor } from "./_support/time.ts";

describe("a worker's claims while jobs arrive one at a time", () => {
  test("each job costs two claims: the one that takes it and one that finds nothing more", async () => {
    const inner = memoryBackend();
    let claims = 0;
    // The worker's own claims, woken by each enqueue: no hand-off
    // (src/handoff.ts), which would bring the jobs with the enqueues.
    const { enqueueClaim: _handOff, ...own } = inner;
    const backend: Backend = {
      ...own,
      claim: (queue, request) => (claims++, inner.claim(queue, request)),
    };
    const queue = createQueue({ backend });
    let done = 0;
    const worker = createWorker(queue, { t: () => void done++ });
    try {
      // The worker learns first that its claims are quick and its handlers
      // rare: until then it may claim ahead of its free slot.
      const arrive = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const before = done;
          await queue.enqueue("t", null);
          await waitFor("the job to run", () => done > before);
          await sleep(10);
        }
      };
      await arrive(20);
      const before = claims;
      await arrive(20);
      const spent = claims - before;
      assert.ok(spent >= 20, `${spent} claims for 20 jobs`);
      assert.ok(spent <= 2 * 20 + 1, `${spent} claims for 20 jobs`);
    } finally {
      await worker.stop();
      await queue.close();
      await inner.close();
    }
  });

  test("a job that arrives while a claim is under way waits for it to come back: no second claim goes out beside it", async () => {
    const inner = memoryBackend();
    const { enqueueClaim: _handOff, ...own } = inner;
    let under = 0;
    let most = 0;
    let gate: Promise<void> | undefined;
    let open = () => {};
    const backend: Backend = {
      ...own,
      // Claims that take 5 ms, as over a network: a worker whose handlers
      // finish fast claims ahead of its free slots, two claims at a time.
      claim: async (queue, request) => {
        most = Math.max(most, ++under);
        try {
          await sleep(5);
          await gate;
          return await inner.claim(queue, request);
        } finally {
          under--;
        }
      },
    };
    const queue = createQueue({ backend });
    let done = 0;
    const worker = createWorker(queue, { t: () => void done++ }, {
      concurrency: 10,
    });
    try {
      await queue.enqueueMany(
        Array.from({ length: 300 }, () => ({ type: "t", data: null })),
      );
      await waitFor("the batch to run", () => done === 300);
      await waitFor("the worker to go idle", () => under === 0);
      assert.equal(most, 2, "a second claim went out ahead of the first");
      gate = new Promise((resolve) => (open = resolve));
      most = 0;
      await queue.enqueue("t", null);
      await waitFor("a claim under way", () => under === 1);
      // The wake-up of this job comes while that claim is held.
      await queue.enqueue("t", null);
      await sleep(30);
      assert.equal(most, 1, "no claim beside the one under way");
      open();
      gate = undefined;
      await waitFor("both jobs to run", () => done === 302);
    } finally {
      open();
      await worker.stop();
      await queue.close();
      await inner.close();
    }
  });
});
