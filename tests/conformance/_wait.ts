/**
 * §7.5 waitFor: it resolves with the job once it is complete, failed or
 * cancelled, with null when the job does not exist or vanishes (removed,
 * expired), and rejects with the signal's reason on abort and with a
 * TimeoutError on `timeout`. Expiry moves the queue's clock; the rest waits
 * on real events with short bounds.
 *
 * @module
 */

import assert from "node:assert/strict";
import { newId } from "../../src/id.ts";
import { ValidationError } from "../../src/errors.ts";
import { createWorker } from "../../src/worker/mod.ts";
import { type Case, sleep } from "./_context.ts";

/** Whether `p` is still pending after `ms` of real time. */
async function stillPending(p: Promise<unknown>, ms = 100): Promise<boolean> {
  const pending = Symbol("pending");
  const winner = await Promise.race([
    p.then(() => undefined, () => undefined),
    sleep(ms).then(() => pending),
  ]);
  return winner === pending;
}

/** The waitFor cases. */
export const waitCases: Case[] = [
  {
    name:
      "waitFor() resolves with the job once a worker completes it, result included",
    async run(ctx) {
      const queue = ctx.queue();
      const id = await queue.enqueue("t", { n: 2 }, { metadata: { m: 1 } });
      const waiting = queue.waitFor(id);
      assert.equal(await stillPending(waiting), true);
      const worker = createWorker(queue, {
        t: (job) => ({ doubled: (job.data as { n: number }).n * 2 }),
      }, { pollInterval: 50 });
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      const job = await waiting;
      assert.equal(job?.id, id);
      assert.equal(job?.status, "complete");
      assert.deepEqual(job?.result, { doubled: 4 });
      assert.deepEqual(job?.data, { n: 2 });
      assert.deepEqual(job?.metadata, { m: 1 });
    },
  },
  {
    name:
      "waitFor() resolves with the job once it fails for good or is cancelled",
    async run(ctx) {
      const queue = ctx.queue();
      const failing = await queue.enqueue("t", null, { maxAttempts: 1 });
      const cancelled = await queue.enqueue("u", null);
      const waitFail = queue.waitFor(failing);
      const waitCancel = queue.waitFor(cancelled);
      const claimed = await queue.claim({ types: ["t"] });
      assert.equal(
        await stillPending(waitFail),
        true,
        "processing is not done",
      );
      await queue.fail(claimed!, new Error("bad input"));
      await queue.cancel(cancelled, "no longer needed");
      const [f, c] = await Promise.all([waitFail, waitCancel]);
      assert.equal(f?.status, "failed");
      assert.equal(f?.error?.message, "bad input");
      assert.equal(c?.status, "cancelled");
      assert.equal(c?.error?.message, "no longer needed");
    },
  },
  {
    name: "waitFor() does not resolve on a failed attempt that will be retried",
    async run(ctx) {
      const queue = ctx.queue({ backoff: { type: "fixed", delay: 0 } });
      const id = await queue.enqueue("t", null, { maxAttempts: 2 });
      const waiting = queue.waitFor(id);
      await queue.fail((await queue.claim())!, new Error("once"));
      assert.equal(await stillPending(waiting), true);
      await queue.complete((await queue.claim())!, "second time");
      const job = await waiting;
      assert.equal(job?.status, "complete");
      assert.equal(job?.attempt, 2);
      assert.equal(job?.result, "second time");
    },
  },
  {
    name: "waitFor() on a finished job resolves at once with it",
    async run(ctx) {
      const queue = ctx.queue();
      const id = await queue.enqueue("t", null);
      await queue.complete((await queue.claim())!, 7);
      const job = await queue.waitFor(id, { timeout: 1_000 });
      assert.equal(job?.status, "complete");
      assert.equal(job?.result, 7);
    },
  },
  {
    name: "waitFor() resolves with null for an unknown id",
    async run(ctx) {
      const queue = ctx.queue();
      assert.equal(await queue.waitFor(newId(), { timeout: 1_000 }), null);
    },
  },
  {
    name: "waitFor() resolves with null when the job is removed while it waits",
    async run(ctx) {
      const queue = ctx.queue();
      const id = await queue.enqueue("t", null);
      const waiting = queue.waitFor(id);
      assert.equal(await stillPending(waiting), true);
      assert.equal(await queue.remove(id), true);
      assert.equal(await waiting, null);
    },
  },
  {
    name: "waitFor() resolves with null when the job expires (ttl)",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const gone = await queue.enqueue("t", null, { ttl: 1 });
      clock.advance(1_001);
      assert.equal(await queue.waitFor(gone, { timeout: 1_000 }), null);
    },
  },
  {
    name: "waitFor() resolves with null when the job expires while it waits",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const id = await queue.enqueue("t", null, { ttl: 60 });
      const waiting = queue.waitFor(id);
      assert.equal(await stillPending(waiting), true);
      clock.advance(61_000);
      // No event announces an expiry: subscribe's re-read finds it gone.
      assert.equal(await waiting, null);
    },
  },
  {
    name: "waitFor() rejects with the signal's reason when it aborts",
    async run(ctx) {
      const queue = ctx.queue();
      const id = await queue.enqueue("t", null);
      const controller = new AbortController();
      const waiting = queue.waitFor(id, { signal: controller.signal });
      assert.equal(await stillPending(waiting), true);
      const reason = new Error("client went away");
      controller.abort(reason);
      await assert.rejects(waiting, (err) => err === reason);
      await assert.rejects(
        queue.waitFor(id, { signal: AbortSignal.abort("already") }),
        (err) => err === "already",
      );
      assert.equal((await queue.get(id))?.status, "pending", "job untouched");
    },
  },
  {
    name: "waitFor() rejects with a TimeoutError when its timeout passes",
    async run(ctx) {
      const queue = ctx.queue();
      const id = await queue.enqueue("t", null);
      const began = Date.now();
      await assert.rejects(
        queue.waitFor(id, { timeout: 150 }),
        (err: Error) => err.name === "TimeoutError",
      );
      const took = Date.now() - began;
      assert.ok(took >= 140 && took < 2_000, `took ${took} ms`);
      await assert.rejects(
        queue.waitFor(id, { timeout: -1 }),
        ValidationError,
      );
      assert.equal((await queue.get(id))?.status, "pending", "job untouched");
    },
  },
];
