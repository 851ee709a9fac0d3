/**
 * §4.10 Workers on the backend: results and failures, the concurrency bound,
 * one claim call for all free slots, wake-ups, heartbeats, graceful stop,
 * and recovery from failing backend calls. Real time, generous bounds.
 *
 * @module
 */

import assert from "node:assert/strict";
import { BackendError } from "../../src/errors.ts";
import type { ClaimRequest } from "../../src/backend/interface.ts";
import { createWorker } from "../../src/worker/mod.ts";
import {
  type Case,
  gate,
  idleWorker,
  sleep,
  waitFor,
  wrapClaim,
} from "./_context.ts";

/** The worker cases. */
export const workerCases: Case[] = [
  {
    name:
      "a worker turns a handler's return value into complete with that result",
    async run(ctx) {
      const queue = ctx.queue();
      const completed: unknown[] = [];
      const worker = createWorker(queue, {
        double: (job) => ({ twice: (job.data as number) * 2 }),
      }, { pollInterval: 50 });
      worker.on("completed", (_job, result) => void completed.push(result));
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      const id = await queue.enqueue("double", 21);
      const job = await waitFor("the job to complete", async () => {
        const j = await queue.get(id);
        return j?.status === "complete" && j;
      });
      assert.deepEqual(job.result, { twice: 42 });
      assert.equal(job.attempt, 1);
      assert.equal(typeof job.completedAt, "number");
      await waitFor("the completed event", () => completed.length === 1);
      assert.deepEqual(completed, [{ twice: 42 }]);
    },
  },
  {
    name: "a worker turns a throw into a retry and then a failure",
    async run(ctx) {
      const queue = ctx.queue({
        maxAttempts: 2,
        backoff: { type: "fixed", delay: 20 },
      });
      const failed: boolean[] = [];
      let calls = 0;
      const worker = createWorker(queue, {
        t: () => {
          calls++;
          throw new TypeError(`attempt ${calls}`);
        },
        // The retry is due 20 ms later: the backend's wake-up must start it.
      }, { pollInterval: ctx.backend.capabilities.wakeups ? 30_000 : 250 });
      worker.on("failed", (_job, _err, retrying) => void failed.push(retrying));
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      const id = await queue.enqueue("t", null);
      const job = await waitFor("the job to fail", async () => {
        const j = await queue.get(id);
        return j?.status === "failed" && j;
      });
      assert.equal(job.attempt, 2);
      assert.equal(job.error?.name, "TypeError");
      assert.equal(job.error?.message, "attempt 2");
      assert.equal(calls, 2);
      await waitFor("both failed events", () => failed.length === 2);
      assert.deepEqual(failed, [true, false]);
    },
  },
  {
    name: "a worker never runs more than concurrency handlers at once",
    async run(ctx) {
      const queue = ctx.queue();
      let running = 0;
      let most = 0;
      let done = 0;
      const worker = createWorker(queue, {
        t: async () => {
          most = Math.max(most, ++running);
          await sleep(30);
          running--;
          done++;
        },
      }, { concurrency: 3, pollInterval: 50 });
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      await queue.enqueueMany(
        Array.from({ length: 12 }, (_, i) => ({ type: "t", data: i })),
      );
      await waitFor("12 jobs to finish", () => done === 12, {
        timeout: 10_000,
      });
      assert.equal(most, 3);
      await waitFor(
        "12 complete",
        async () => (await queue.stats()).complete === 12,
      );
    },
  },
  {
    name:
      "with prefetch 0, a worker claims as many jobs as it has free slots in one backend call",
    async run(ctx) {
      const calls: { limit: number; got: number }[] = [];
      const backend = wrapClaim(ctx.backend, async (inner, name, request) => {
        const jobs = await inner.claim(name, request);
        calls.push({ limit: request.limit, got: jobs.length });
        return jobs;
      });
      const queue = ctx.queue({ backend });
      await queue.enqueueMany(
        Array.from({ length: 7 }, (_, i) => ({ type: "t", data: i })),
      );
      const release = gate();
      const worker = createWorker(queue, { t: () => release.promise }, {
        concurrency: 5,
        pollInterval: 50,
        prefetch: 0,
      });
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      await waitFor("5 running handlers", () => worker.running === 5);
      assert.deepEqual(calls[0], { limit: 5, got: 5 });
      release.open();
      await waitFor(
        "all complete",
        async () => (await queue.stats()).complete === 7,
      );
      const claimed = calls.filter((c) => c.got > 0);
      assert.ok(claimed.length <= 3, `${claimed.length} claim calls got jobs`);
      for (const c of calls) assert.ok(c.limit >= 1 && c.limit <= 5);
    },
  },
  {
    name:
      "an idle worker wakes on new work without waiting for its poll interval",
    async run(ctx) {
      const { queue, started } = await idleWorker(ctx);
      const enqueuedAt = Date.now();
      await queue.enqueue("t", null);
      await waitFor("the job to start", () => started.length > 0, {
        timeout: 3_000,
      });
      const took = started[0]! - enqueuedAt;
      assert.ok(took <= 1_000, `started ${took} ms after enqueue`);
    },
  },
  {
    name:
      "heartbeats keep a handler that outlives its lease from running twice",
    timeout: 30_000,
    async run(ctx) {
      const queue = ctx.queue({ leaseMs: 300 });
      const other = ctx.queue({ name: queue.name, leaseMs: 300 });
      let runs = 0;
      const handler = async () => {
        runs++;
        await sleep(1_200);
        return "done";
      };
      const id = await queue.enqueue("t", null);
      const worker = createWorker(queue, { t: handler }, { pollInterval: 50 });
      ctx.defer(() => worker.stop({ timeout: 2_000 }));
      await waitFor("the handler to start", () => runs === 1);
      // A second worker polls hard, ready to take the job if its lease lapsed.
      const rival = createWorker(other, { t: handler }, { pollInterval: 25 });
      ctx.defer(() => rival.stop({ timeout: 2_000 }));
      const job = await waitFor("the job to complete", async () => {
        const j = await queue.get(id);
        return j?.status === "complete" && j;
      }, { timeout: 10_000 });
      assert.equal(runs, 1);
      assert.equal(job.attempt, 1);
      assert.equal(job.result, "done");
    },
  },
  {
    name:
      "a failing backend call in the worker loop is reported and the worker recovers",
    async run(ctx) {
      let failures = 3;
      const backend = wrapClaim(ctx.backend, (inner, name, request) => {
        if (failures > 0) {
          failures--;
          return Promise.reject(new Error("store unavailable"));
        }
        return inner.claim(name, request as ClaimRequest);
      });
      const queue = ctx.queue({ backend });
      const reported: unknown[] = [];
      const heard: unknown[] = [];
      const id = await queue.enqueue("t", 7);
      const worker = createWorker(queue, { t: (job) => job.data }, {
        pollInterval: 50,
        onError: (err) => void reported.push(err),
      });
      worker.on("error", (err) => void heard.push(err));
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      const job = await waitFor("the job to complete", async () => {
        const j = await queue.get(id);
        return j?.status === "complete" && j;
      }, { timeout: 10_000 });
      assert.equal(job.result, 7);
      assert.equal(reported.length, 3);
      assert.equal(heard.length, 3);
      for (const err of reported) {
        assert.ok(err instanceof BackendError, String(err));
        assert.equal((err.cause as Error).message, "store unavailable");
      }
    },
  },
  {
    name: "a worker claims only the types it has handlers for",
    async run(ctx) {
      const queue = ctx.queue();
      const ran: string[] = [];
      const other = await queue.enqueue("other", null, { priority: 100 });
      const mine = await queue.enqueue("mine", null);
      const worker = createWorker(queue, {
        mine: (job) => void ran.push(job.id),
      }, { pollInterval: 50 });
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      await waitFor(
        "its job to complete",
        async () => (await queue.get(mine))?.status === "complete",
      );
      await sleep(100);
      assert.deepEqual(ran, [mine]);
      assert.equal((await queue.get(other))?.status, "pending");
    },
  },
  {
    name: "an idle worker picks up a job put back by queue.retry() promptly",
    async run(ctx) {
      const wakeups = ctx.backend.capabilities.wakeups;
      const queue = ctx.queue({ maxAttempts: 1 });
      let runs = 0;
      const worker = createWorker(queue, {
        t: () => {
          if (++runs === 1) throw new Error("first time");
          return "second time";
        },
      }, { pollInterval: wakeups ? 30_000 : 250 });
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      const id = await queue.enqueue("t", null);
      await waitFor(
        "the job to fail",
        async () => (await queue.get(id))?.status === "failed",
      );
      await sleep(100);
      const retriedAt = Date.now();
      assert.equal(await queue.retry(id), true);
      await waitFor(
        "the job to complete",
        async () => (await queue.get(id))?.status === "complete",
        { timeout: 5_000 },
      );
      const took = Date.now() - retriedAt;
      assert.ok(took <= 1_500, `completed ${took} ms after retry()`);
      assert.equal(runs, 2);
    },
  },
];
