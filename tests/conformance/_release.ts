/**
 * Giving claimed jobs back (Backend.release, queue.release): what a worker
 * does on stop with the jobs it claimed ahead. The job returns to pending as
 * it was before the claim, in its place in line; a lease that no longer
 * holds is skipped without effect.
 *
 * @module
 */

import assert from "node:assert/strict";
import { LeaseLostError } from "../../src/errors.ts";
import { subscribe } from "../../src/subscribe.ts";
import type { JobUpdate } from "../../src/types.ts";
import { createWorker } from "../../src/worker/mod.ts";
import { type Case, sleep, waitFor } from "./_context.ts";

/** The release cases. */
export const releaseCases: Case[] = [
  {
    name:
      "release() puts claimed jobs back to pending as before their claim, in their place in line",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const a = await queue.enqueue("t", "a");
      const b = await queue.enqueue("t", "b", { priority: "high" });
      const c = await queue.enqueue("t", "c");
      clock.advance(5);
      const claimed = await queue.claimMany(3);
      assert.deepEqual(claimed.map((j) => j.id), [b, a, c]);
      const before = (await queue.get(a))!;
      clock.advance(5);
      assert.equal(await queue.release([claimed[1]!, claimed[0]!]), 2);
      for (const id of [a, b]) {
        const job = (await queue.get(id))!;
        assert.equal(job.status, "pending");
        assert.equal(job.attempt, 0);
        assert.equal(job.updatedAt, clock.now);
        assert.ok(job.version > before.version, "the version moves on");
      }
      assert.equal((await queue.get(c))?.status, "processing");
      const again = await queue.claimMany(3);
      assert.deepEqual(again.map((j) => [j.id, j.attempt]), [[b, 1], [a, 1]]);
      await assert.rejects(
        () => queue.complete(claimed[0]!, null),
        LeaseLostError,
        "the released lease is gone",
      );
      await queue.complete(again[0]!, "ok");
      assert.equal((await queue.get(b))?.status, "complete");
    },
  },
  {
    name:
      "release() does not count the attempt and keeps the job's key and earlier error",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({
        clock: clock.clock,
        backoff: { type: "fixed", delay: 1_000 },
      });
      const id = await queue.enqueue("t", null, { key: "k-1" });
      await queue.fail((await queue.claim())!, new Error("first"));
      clock.advance(1_000);
      const second = (await queue.claim())!;
      assert.equal(second.attempt, 2);
      assert.equal(await queue.release(second), 1);
      const job = (await queue.get(id))!;
      assert.equal(job.status, "pending");
      assert.equal(job.attempt, 1);
      assert.equal(job.error?.message, "first");
      assert.equal(await queue.enqueue("t", null, { key: "k-1" }), id);
      assert.equal((await queue.claim())?.attempt, 2);
    },
  },
  {
    name:
      "release() skips jobs whose lease no longer holds and changes nothing",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock, leaseMs: 1_000 });
      const [done, cancelled, twice, expired] = await queue.enqueueMany(
        ["done", "cancelled", "twice", "expired"].map((data) => ({
          type: "t",
          data,
        })),
      );
      const jobs = await queue.claimMany(4);
      assert.deepEqual(jobs.map((j) => j.id), [
        done,
        cancelled,
        twice,
        expired,
      ]);
      await queue.complete(jobs[0]!, 1);
      await queue.cancel(cancelled!, "no");
      assert.equal(await queue.release(jobs[2]!), 1);
      const snapshot = async () =>
        await Promise.all([done, cancelled, twice].map((id) => queue.get(id!)));
      const before = await snapshot();
      assert.equal(await queue.release(jobs.slice(0, 3)), 0);
      assert.deepEqual(await snapshot(), before);
      // A lease that ran out and was claimed again belongs to the new claim.
      clock.advance(1_000);
      const reclaimed = await queue.claimMany(2);
      const newer = reclaimed.find((j) => j.id === expired)!;
      assert.ok(newer, "the expired job was claimed again");
      assert.equal(await queue.release(jobs[3]!), 0);
      assert.equal((await queue.get(expired!))?.status, "processing");
      await queue.complete(newer, "mine");
      assert.equal((await queue.get(expired!))?.result, "mine");
      assert.equal(await queue.release([]), 0);
    },
  },
  {
    name:
      "release() publishes the return to pending and an idle worker picks the job up",
    async run(ctx) {
      const queue = ctx.queue();
      const id = await queue.enqueue("t", null);
      const claimed = (await queue.claim())!;
      const seen: JobUpdate[] = [];
      const watching = (async () => {
        for await (const u of subscribe(queue, id)) seen.push(u);
      })();
      await waitFor("the subscription's first state", () => seen.length > 0);
      const ran: string[] = [];
      const worker = createWorker(queue, {
        t: (job) => void ran.push(job.id),
      }, {
        pollInterval: ctx.backend.capabilities.wakeups ? 30_000 : 250,
      });
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      await sleep(200); // the worker found nothing and is idle
      assert.equal(await queue.release(claimed), 1);
      await waitFor("the worker to run the job", () => ran.length === 1, {
        timeout: 3_000,
      });
      await watching;
      assert.deepEqual(
        seen.map((u) => [u.status, u.attempt]),
        [["processing", 1], ["pending", 0], ["processing", 1], [
          "complete",
          1,
        ]],
      );
    },
  },
];
