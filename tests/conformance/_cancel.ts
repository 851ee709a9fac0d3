/**
 * §4.6 Cancel: pending jobs are never claimed; a running handler's signal
 * aborts within 1 s, its slot frees at once (as past a timeout, §7.1) and
 * its later result is discarded (real time, worker).
 *
 * @module
 */

import assert from "node:assert/strict";
import { newId } from "../../src/id.ts";
import { createWorker } from "../../src/worker/mod.ts";
import { type Case, waitFor } from "./_context.ts";

/** The cancel cases. */
export const cancelCases: Case[] = [
  {
    name: "cancel() makes a pending job cancelled and it is never claimed",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const id = await queue.enqueue("t", null);
      const delayed = await queue.enqueue("t", null, { delay: 1_000 });
      clock.advance(5);
      assert.equal(await queue.cancel(id, "no longer needed"), true);
      assert.equal(await queue.cancel(delayed), true);
      const job = await queue.get(id);
      assert.equal(job?.status, "cancelled");
      assert.deepEqual(job?.error, {
        name: "CancelledError",
        message: "no longer needed",
      });
      assert.equal(job?.completedAt, clock.now);
      assert.equal((await queue.get(delayed))?.error?.message, "cancelled");
      clock.advance(2_000);
      assert.equal(await queue.claim(), null);
      assert.equal(await queue.cancel(id), false, "already cancelled");
      const stats = await queue.stats();
      assert.equal(stats.cancelled, 2);
      assert.equal(stats.pending, 0);
    },
  },
  {
    name: "cancel() returns false on finished and unknown jobs",
    async run(ctx) {
      const queue = ctx.queue();
      const done = await queue.enqueue("t", 1);
      await queue.complete((await queue.claim())!, "ok");
      const failed = await queue.enqueue("t", 2);
      await queue.fail((await queue.claim())!, new Error("x"), {
        retry: false,
      });
      for (const id of [done, failed, newId()]) {
        assert.equal(await queue.cancel(id), false);
      }
      assert.equal((await queue.get(done))?.status, "complete");
      assert.equal((await queue.get(failed))?.status, "failed");
    },
  },
  {
    name: "cancel() makes a processing job cancelled and releases its lease",
    async run(ctx) {
      const queue = ctx.queue();
      const id = await queue.enqueue("t", null);
      const job = await queue.claim();
      assert.equal(await queue.cancel(id, "stop"), true);
      const stored = await queue.get(id);
      assert.equal(stored?.status, "cancelled");
      assert.equal(stored?.attempt, 1);
      assert.equal(await queue.claim(), null);
      await assert.rejects(queue.complete(job!, "late"));
      assert.equal((await queue.get(id))?.status, "cancelled");
    },
  },
  {
    name:
      "cancel() aborts a running handler's signal within 1 s and discards its result",
    async run(ctx) {
      const queue = ctx.queue();
      let started = false;
      let abortedAt = 0;
      let returned = false;
      const completed: string[] = [];
      const worker = createWorker(queue, {
        t: async (_job, { signal }) => {
          started = true;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 10_000);
            signal.addEventListener("abort", () => {
              abortedAt = Date.now();
              clearTimeout(timer);
              resolve();
            }, { once: true });
          });
          returned = true;
          return { late: true };
        },
      }, { pollInterval: 50 });
      worker.on("completed", (job) => void completed.push(job.id));
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      const id = await queue.enqueue("t", null);
      await waitFor("the handler to start", () => started);
      const cancelledAt = Date.now();
      assert.equal(await queue.cancel(id, "user asked"), true);
      await waitFor("the signal to abort", () => abortedAt > 0, {
        timeout: 3_000,
      });
      const took = abortedAt - cancelledAt;
      assert.ok(took <= 1_000, `signal aborted ${took} ms after cancel`);
      await waitFor("the handler to return", () => returned);
      await waitFor("the worker to settle", () => worker.running === 0);
      const job = await queue.get(id);
      assert.equal(job?.status, "cancelled");
      assert.equal(job?.result, undefined);
      assert.equal(job?.error?.message, "user asked");
      assert.deepEqual(completed, []);
    },
  },
  {
    name: "remove() of a running job aborts its handler's signal",
    async run(ctx) {
      const queue = ctx.queue();
      let started = false;
      let aborted = false;
      const worker = createWorker(queue, {
        t: (_job, { signal }) =>
          new Promise<string>((resolve) => {
            started = true;
            const timer = setTimeout(() => resolve("late"), 10_000);
            signal.addEventListener("abort", () => {
              aborted = true;
              clearTimeout(timer);
              resolve("late");
            }, { once: true });
          }),
      }, { pollInterval: 50 });
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      const id = await queue.enqueue("t", null);
      await waitFor("the handler to start", () => started);
      assert.equal(await queue.remove(id), true);
      await waitFor("the signal to abort", () => aborted, { timeout: 3_000 });
      await waitFor("the worker to settle", () => worker.running === 0);
      assert.equal(await queue.get(id), null, "the late result stores nothing");
    },
  },
  {
    name:
      "a cancelled job's handler that ignores its signal and never settles frees its slot at once: the next job runs",
    async run(ctx) {
      const queue = ctx.queue();
      let aborted = false;
      const worker = createWorker(queue, {
        hang: (_job, { signal }) => {
          signal.addEventListener("abort", () => (aborted = true));
          return new Promise<never>(() => {});
        },
        next: () => "ran",
      }, { concurrency: 1, pollInterval: 50 });
      ctx.defer(() => worker.stop({ timeout: 100 }));
      const id = await queue.enqueue("hang", null, { priority: "high" });
      const next = await queue.enqueue("next", null);
      await waitFor("the handler to start", () => worker.running === 1);
      assert.equal(await queue.cancel(id), true);
      await waitFor("the signal to abort", () => aborted, { timeout: 3_000 });
      await waitFor(
        "the next job to run",
        async () => (await queue.get(next))?.status === "complete",
        { timeout: 3_000 },
      );
      assert.equal((await queue.get(next))?.result, "ran");
      assert.equal((await queue.get(id))?.status, "cancelled");
      assert.equal(worker.running, 0);
    },
  },
];
