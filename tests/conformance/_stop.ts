/**
 * §4.10 A worker's stop: it stops claiming and waits for running handlers up
 * to its timeout; past it, it gives up on them at once: their signals abort,
 * their attempts fail with that AbortError, and whatever they return later
 * is discarded, on every backend. Real time, generous bounds.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createWorker } from "../../src/worker/mod.ts";
import { type Case, sleep, waitFor } from "./_context.ts";

/** The stop cases. */
export const stopCases: Case[] = [
  {
    name: "stop() stops claiming and waits for running handlers",
    async run(ctx) {
      const queue = ctx.queue();
      let finished = false;
      const worker = createWorker(queue, {
        t: async () => {
          await sleep(300);
          finished = true;
          return "ok";
        },
      }, { pollInterval: 50 });
      const id = await queue.enqueue("t", null);
      await waitFor("the handler to run", () => worker.running === 1);
      const later = await queue.enqueue("t", null);
      await worker.stop();
      assert.equal(finished, true);
      assert.equal(worker.running, 0);
      assert.equal((await queue.get(id))?.status, "complete");
      await sleep(100);
      assert.equal((await queue.get(later))?.status, "pending");
    },
  },
  {
    name: "stop({ timeout }) aborts the signals of handlers that outlive it",
    async run(ctx) {
      const queue = ctx.queue();
      let aborted = false;
      const worker = createWorker(queue, {
        t: (_job, { signal }) =>
          new Promise((_resolve, reject) => {
            const timer = setTimeout(() => reject(new Error("late")), 10_000);
            signal.addEventListener("abort", () => {
              aborted = true;
              clearTimeout(timer);
              reject(signal.reason);
            }, { once: true });
          }),
      }, { pollInterval: 50 });
      await queue.enqueue("t", null);
      await waitFor("the handler to run", () => worker.running === 1);
      const began = Date.now();
      await worker.stop({ timeout: 200 });
      const took = Date.now() - began;
      assert.equal(aborted, true);
      assert.ok(took >= 150 && took < 3_000, `stop took ${took} ms`);
      assert.equal(worker.running, 0);
    },
  },
  {
    name:
      "a result that arrives after stop({ timeout }) gave up is discarded, and the attempt fails with the stop's AbortError",
    async run(ctx) {
      const queue = ctx.queue();
      let abortedBy: unknown;
      let returned = false;
      const worker = createWorker(queue, {
        // Ignores its signal and returns 600 ms after the abort, well inside
        // the second a stop used to wait after giving up.
        t: (_job, { signal }) =>
          new Promise((resolve) => {
            signal.addEventListener("abort", () => {
              abortedBy = signal.reason;
              setTimeout(() => {
                returned = true;
                resolve({ late: true });
              }, 600);
            }, { once: true });
          }),
      }, { pollInterval: 50 });
      const id = await queue.enqueue("t", null);
      await waitFor("the handler to run", () => worker.running === 1);
      await worker.stop({ timeout: 200 });
      assert.equal(returned, false, "stop() did not wait for the handler");
      assert.equal((abortedBy as Error | undefined)?.name, "AbortError");
      const failed = await queue.get(id);
      assert.equal(failed?.status, "pending", "the attempt failed at once");
      assert.equal(failed?.attempt, 1);
      assert.equal(failed?.error?.name, "AbortError");
      await waitFor("the late return", () => returned);
      await sleep(300); // time for a late result to be stored, if it were
      const later = await queue.get(id);
      assert.equal(later?.status, "pending");
      assert.equal(later?.result, undefined);
      assert.equal(later?.version, failed?.version, "nothing written since");
    },
  },
];
