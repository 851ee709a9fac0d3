/**
 * Workers claiming ahead (the `prefetch` option, on by default): quick jobs
 * are claimed ahead of free slots, slow ones are not hoarded, and jobs
 * claimed ahead are given back on stop or dropped when cancelled. These run
 * the worker on the backend under test, so they check its `release` too.
 * Real time, generous bounds.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createWorker } from "../../src/worker/mod.ts";
import type { Backend } from "../../src/backend/interface.ts";
import {
  type Case,
  type CaseContext,
  gate,
  sleep,
  waitFor,
  wrapClaim,
} from "./_context.ts";

/**
 * The backend under test with a claim that takes at least 2 ms, as a round
 * trip to a server does: a worker holds jobs ahead only where claiming
 * costs time (in memory it hardly does, and holds almost none).
 */
function slowClaims(
  ctx: CaseContext,
  onClaim: (n: number) => void = () => {},
): Backend {
  return wrapClaim(ctx.backend, async (inner, name, request) => {
    await sleep(2);
    const jobs = await inner.claim(name, request);
    onClaim(jobs.length);
    return jobs;
  });
}

/** The prefetch cases. */
export const prefetchCases: Case[] = [
  {
    name:
      "while jobs are quick a worker claims ahead of its free slots, and stop() gives back the jobs it has not started",
    timeout: 60_000,
    async run(ctx) {
      let claimed = 0;
      const backend = slowClaims(ctx, (n) => (claimed += n));
      const queue = ctx.queue({ backend });
      const total = 1_500;
      const quick = 1_000;
      await queue.enqueueMany(
        Array.from({ length: total }, (_, i) => ({ type: "t", data: i })),
      );
      const blocked = gate();
      let started = 0;
      let blocking = 0;
      let running = 0;
      let most = 0;
      // After the first `quick` jobs, a handler blocks only while the worker
      // holds jobs ahead, so once both slots block some are held (however
      // the claims were timed) and stop() has jobs to give back.
      const worker = createWorker(queue, {
        t: async () => {
          most = Math.max(most, ++running);
          try {
            if (++started > quick && worker.prefetched > 0) {
              blocking++;
              await blocked.promise;
            }
          } finally {
            running--;
          }
        },
      }, { concurrency: 2, pollInterval: 50 });
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      await waitFor(
        "both slots to block while jobs are held ahead",
        () => blocking === 2,
        { timeout: 45_000 },
      );
      assert.ok(worker.prefetched > 0, "jobs are held ahead");
      assert.ok(claimed > started, `${claimed} claimed, ${started} started`);
      const ran = started;
      const stopping = worker.stop({ timeout: 5_000 });
      await sleep(50);
      blocked.open();
      await stopping;
      assert.equal(started, ran, "no job starts once stop() is called");
      assert.equal(most, 2, "never more handlers than concurrency");
      assert.equal(worker.prefetched, 0);
      const stats = await queue.stats();
      assert.equal(stats.processing, 0);
      assert.equal(stats.complete, ran);
      assert.equal(stats.pending, total - ran);
      const page = await queue.list({ status: "pending", limit: total });
      assert.equal(page.jobs.length, total - ran);
      for (const job of page.jobs) {
        assert.equal(job.attempt, 0, `job ${job.id} has no attempt counted`);
      }
    },
  },
  {
    name:
      "a worker holds no more than about one job ahead while handlers are slow, so a second worker shares the work",
    timeout: 30_000,
    async run(ctx) {
      const queue = ctx.queue();
      const ran = { a: 0, b: 0 };
      let mostAhead = 0;
      const handler = (who: "a" | "b") => async () => {
        ran[who]++;
        mostAhead = Math.max(mostAhead, first.prefetched);
        await sleep(100);
      };
      await queue.enqueueMany(
        Array.from({ length: 12 }, (_, i) => ({ type: "t", data: i })),
      );
      const first = createWorker(queue, { t: handler("a") }, {
        pollInterval: 50,
      });
      ctx.defer(() => first.stop({ timeout: 1_000 }));
      await waitFor("the first worker to start", () => ran.a > 0);
      const second = createWorker(queue, { t: handler("b") }, {
        pollInterval: 50,
      });
      ctx.defer(() => second.stop({ timeout: 1_000 }));
      await waitFor(
        "all complete",
        async () => (await queue.stats()).complete === 12,
        { timeout: 20_000 },
      );
      assert.ok(mostAhead <= 1, `${mostAhead} jobs held ahead`);
      assert.ok(ran.b >= 3, `the second worker ran ${ran.b} of 12`);
    },
  },
  {
    name: "a job claimed ahead and then cancelled never runs",
    timeout: 60_000,
    async run(ctx) {
      const queue = ctx.queue({ backend: slowClaims(ctx) });
      const quick = 600;
      await queue.enqueueMany(
        Array.from({ length: quick + 200 }, (_, i) => ({ type: "t", data: i })),
      );
      const blocked = gate();
      const ran = new Set<string>();
      let started = 0;
      const worker = createWorker(queue, {
        t: async (job) => {
          ran.add(job.id);
          if (++started === quick) await blocked.promise;
        },
      }, { pollInterval: 50 });
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      await waitFor("the slot to block", () => started === quick, {
        timeout: 45_000,
      });
      await waitFor("a job held ahead", () => worker.prefetched > 0);
      const page = await queue.list({ status: "processing", limit: 1_000 });
      const ahead = page.jobs.find((job) => !ran.has(job.id));
      assert.ok(ahead, "a processing job whose handler has not run");
      assert.equal(await queue.cancel(ahead.id, "not wanted"), true);
      await sleep(1_000); // the cancel event reaches the worker (§4.6)
      blocked.open();
      await waitFor(
        "the rest to finish",
        async () => {
          const s = await queue.stats();
          return s.pending === 0 && s.processing === 0;
        },
        { timeout: 30_000 },
      );
      assert.equal(ran.has(ahead.id), false, "the cancelled job never ran");
      assert.equal((await queue.get(ahead.id))?.status, "cancelled");
      assert.equal((await queue.stats()).complete, quick + 199);
    },
  },
];
