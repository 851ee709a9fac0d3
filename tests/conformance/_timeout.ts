/**
 * §7.1 Timeouts: a job's own `timeout` travels with it to whichever worker
 * claims it, the worker's `timeout` covers jobs without one, and at the
 * deadline the handler's signal aborts with a TimeoutError, the attempt
 * fails with it (retried while attempts remain), the slot runs the next job
 * at once even when the handler never settles, and a late result is
 * discarded. Real timers are the subject here: short deadlines, generous
 * bounds.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ValidationError } from "../../src/errors.ts";
import { createWorker } from "../../src/worker/mod.ts";
import { type Case, sleep, waitFor } from "./_context.ts";

/** A handler that never settles, and what its signal told. */
function hanging(): {
  handler: (job: unknown, ctx: { signal: AbortSignal }) => Promise<never>;
  reasons: unknown[];
} {
  const reasons: unknown[] = [];
  return {
    reasons,
    handler: (_job, { signal }) =>
      new Promise<never>(() => {
        signal.addEventListener("abort", () => reasons.push(signal.reason), {
          once: true,
        });
      }),
  };
}

/** The timeout cases. */
export const timeoutCases: Case[] = [
  {
    name:
      "enqueue({ timeout }) travels with the job: get() and claim() show it, and metadata stays the caller's",
    async run(ctx) {
      const queue = ctx.queue();
      const id = await queue.enqueue("t", null, {
        timeout: 1_500,
        metadata: { tenant: "a" },
      });
      const plain = await queue.enqueue("t", null);
      const job = await queue.get(id);
      assert.equal(job?.timeout, 1_500);
      assert.deepEqual(job?.metadata, { tenant: "a" });
      assert.equal((await queue.get(plain))?.timeout, undefined);
      const claimed = await queue.claim();
      assert.equal(claimed?.id, id);
      assert.equal(claimed?.timeout, 1_500);
      assert.deepEqual(claimed?.metadata, { tenant: "a" });
      const bare = await queue.enqueue("t", null, { timeout: 7 });
      assert.deepEqual((await queue.get(bare))?.metadata, {});
      const page = await queue.list({ limit: 10 });
      assert.equal(page.jobs.find((j) => j.id === bare)?.timeout, 7);
    },
  },
  {
    name:
      "enqueue refuses a timeout that is not a positive number, and the reserved metadata key",
    async run(ctx) {
      const queue = ctx.queue();
      for (const timeout of [0, -1, NaN, Infinity, "100"]) {
        await assert.rejects(
          queue.enqueue("t", null, { timeout } as { timeout: number }),
          ValidationError,
          `timeout ${String(timeout)}`,
        );
      }
      await assert.rejects(
        queue.enqueue("t", null, { metadata: { "jobline:timeout": 5 } }),
        /reserved/,
      );
      await assert.rejects(
        queue.enqueueMany([
          { type: "t", data: 1 },
          { type: "t", data: 2, options: { timeout: -5 } },
        ]),
        ValidationError,
      );
      assert.equal((await queue.stats()).pending, 0, "nothing was stored");
    },
  },
  {
    name:
      "a handler that never settles, with timeout: 200, is failed with a TimeoutError within 1 s of its deadline and its slot runs the next job",
    async run(ctx) {
      const queue = ctx.queue();
      const { handler, reasons } = hanging();
      const finished: string[] = [];
      let startedAt = 0;
      const worker = createWorker(queue, {
        hang: (job, c) => {
          startedAt = Date.now();
          return handler(job, c);
        },
        next: () => "ran",
      }, { concurrency: 1, pollInterval: 50 });
      ctx.defer(() => worker.stop({ timeout: 100 }));
      worker.on("completed", (job) => finished.push(job.id));
      const id = await queue.enqueue("hang", null, {
        timeout: 200,
        maxAttempts: 1,
        priority: "high",
      });
      const next = await queue.enqueue("next", null);
      const failed = await waitFor(
        "the attempt to fail",
        async () => {
          const job = await queue.get(id);
          return job?.status === "failed" ? job : undefined;
        },
        { timeout: 5_000 },
      );
      const late = (failed.completedAt ?? 0) - (startedAt + 200);
      assert.ok(late < 1_000, `failed ${late} ms after its deadline`);
      assert.ok(late > -50, `failed ${-late} ms before its deadline`);
      assert.equal(failed.error?.name, "TimeoutError");
      assert.equal(failed.attempt, 1);
      assert.equal((reasons[0] as Error | undefined)?.name, "TimeoutError");
      await waitFor("the next job to run", () => finished.includes(next));
      assert.equal((await queue.get(next))?.result, "ran");
      assert.equal(worker.running, 0);
    },
  },
  {
    name:
      "a timed-out attempt is retried while attempts remain, and its late result is discarded",
    async run(ctx) {
      const queue = ctx.queue({ backoff: { type: "fixed", delay: 0 } });
      let calls = 0;
      let lateReturned = false;
      const worker = createWorker(queue, {
        t: () => {
          if (++calls > 1) return "second";
          // Ignores its signal and returns well after its deadline.
          return sleep(500).then(() => {
            lateReturned = true;
            return "late";
          });
        },
      }, { concurrency: 2, pollInterval: 50 });
      ctx.defer(() => worker.stop({ timeout: 100 }));
      const id = await queue.enqueue("t", null, { timeout: 150 });
      const done = await waitFor("the second attempt", async () => {
        const job = await queue.get(id);
        return job?.status === "complete" ? job : undefined;
      });
      assert.equal(done.result, "second");
      assert.equal(done.attempt, 2);
      assert.equal(done.error?.name, "TimeoutError", "the first attempt's");
      await waitFor("the late return", () => lateReturned);
      await sleep(200); // time for a late result to be stored, if it were
      const after = await queue.get(id);
      assert.equal(after?.result, "second");
      assert.equal(after?.version, done.version, "nothing written since");
    },
  },
  {
    name:
      "the worker's timeout covers jobs without one, and a job's own timeout wins",
    async run(ctx) {
      const queue = ctx.queue();
      const { handler, reasons } = hanging();
      const worker = createWorker(queue, {
        hang: handler,
        slow: () => sleep(400).then(() => "slow but allowed"),
      }, { concurrency: 2, pollInterval: 50, timeout: 150 });
      ctx.defer(() => worker.stop({ timeout: 100 }));
      const hang = await queue.enqueue("hang", null, { maxAttempts: 1 });
      const slow = await queue.enqueue("slow", null, { timeout: 20_000 });
      const states = await waitFor("both jobs to finish", async () => {
        const [a, b] = [await queue.get(hang), await queue.get(slow)];
        return a?.status === "failed" && b?.status === "complete"
          ? [a, b] as const
          : undefined;
      });
      assert.equal(states[0].error?.name, "TimeoutError");
      assert.equal(states[1].result, "slow but allowed");
      assert.equal(reasons.length, 1);
    },
  },
  {
    name:
      "stop() waits no longer than a running job's timeout, even for a handler that ignores its signal",
    async run(ctx) {
      const queue = ctx.queue();
      const { handler } = hanging();
      const worker = createWorker(queue, { hang: handler }, {
        pollInterval: 50,
      });
      const id = await queue.enqueue("hang", null, {
        timeout: 300,
        maxAttempts: 1,
      });
      await waitFor("the handler to run", () => worker.running === 1);
      const began = Date.now();
      await worker.stop({ timeout: 20_000 });
      const took = Date.now() - began;
      assert.ok(took < 1_500, `stop took ${took} ms`);
      const job = await queue.get(id);
      assert.equal(job?.status, "failed");
      assert.equal(job?.error?.name, "TimeoutError");
    },
  },
];
