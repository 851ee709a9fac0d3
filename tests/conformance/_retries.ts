/**
 * §4.4 Retries: fail() with backoff under a fake clock, fail without retry,
 * exhausted attempts, and queue.retry() of failed and cancelled jobs.
 *
 * @module
 */

import assert from "node:assert/strict";
import { newId } from "../../src/id.ts";
import type { Case } from "./_context.ts";

/** The retry cases. */
export const retryCases: Case[] = [
  {
    name:
      "fail() with attempts left sets pending with runAt = now + backoff and records the error",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({
        clock: clock.clock,
        backoff: { type: "fixed", delay: 5_000 },
      });
      const id = await queue.enqueue("t", null);
      const job = await queue.claim();
      assert.ok(job);
      clock.advance(100);
      const failedAt = clock.now;
      assert.equal(
        await queue.fail(job, new TypeError("bad input")),
        "pending",
      );
      const stored = await queue.get(id);
      assert.equal(stored?.status, "pending");
      assert.equal(stored?.runAt, failedAt + 5_000);
      assert.equal(stored?.attempt, 1);
      assert.equal(stored?.error?.message, "bad input");
      assert.equal(stored?.error?.name, "TypeError");
      assert.equal(stored?.completedAt, undefined);
      assert.equal((await queue.stats()).pending, 1);
      clock.advance(4_999);
      assert.equal(await queue.claim(), null, "not claimable before runAt");
      clock.advance(1);
      const again = await queue.claim();
      assert.equal(again?.id, id);
      assert.equal(again?.attempt, 2);
      assert.equal(again?.error?.message, "bad input");
    },
  },
  {
    name: "fail() uses exponential backoff from 1 s by default",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock, maxAttempts: 5 });
      const id = await queue.enqueue("t", null);
      for (const base of [1_000, 2_000, 4_000]) {
        const job = await queue.claim();
        assert.ok(job);
        await queue.fail(job, new Error("again"));
        const runAt = (await queue.get(id))!.runAt;
        const delay = runAt - clock.now;
        assert.ok(
          delay >= base * 0.9 && delay <= base * 1.1,
          `delay ${delay} near ${base}`,
        );
        clock.advance(delay);
      }
    },
  },
  {
    name: "fail() with retry: false fails the job at once",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock, maxAttempts: 5 });
      const id = await queue.enqueue("t", null);
      const job = await queue.claim();
      assert.ok(job);
      assert.equal(
        await queue.fail(job, new RangeError("hopeless"), { retry: false }),
        "failed",
      );
      const stored = await queue.get(id);
      assert.equal(stored?.status, "failed");
      assert.equal(stored?.attempt, 1);
      assert.equal(stored?.error?.message, "hopeless");
      assert.equal(stored?.error?.name, "RangeError");
      assert.equal(stored?.completedAt, clock.now);
      clock.advance(3_600_000);
      assert.equal(await queue.claim(), null);
    },
  },
  {
    name: "fail() on the last attempt fails the job for good",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({
        clock: clock.clock,
        backoff: { type: "fixed", delay: 1_000 },
      });
      const id = await queue.enqueue("t", null, { maxAttempts: 2 });
      const one = await queue.claim();
      assert.equal(await queue.fail(one!, new Error("first")), "pending");
      clock.advance(1_000);
      const two = await queue.claim();
      assert.equal(two?.attempt, 2);
      assert.equal(two?.maxAttempts, 2);
      assert.equal(await queue.fail(two!, new Error("second")), "failed");
      const stored = await queue.get(id);
      assert.equal(stored?.status, "failed");
      assert.equal(stored?.attempt, 2);
      assert.equal(stored?.error?.message, "second");
      clock.advance(60_000);
      assert.equal(await queue.claim(), null);
      const stats = await queue.stats();
      assert.equal(stats.failed, 1);
      assert.equal(stats.pending, 0);
    },
  },
  {
    name:
      "retry() puts failed and cancelled jobs back to pending with attempts afresh",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const failed = await queue.enqueue("t", "f", { maxAttempts: 1 });
      const cancelled = await queue.enqueue("t", "c");
      const job = await queue.claim();
      assert.equal(job?.id, failed);
      await queue.update(job!, { progress: 0.5, message: "half" });
      assert.equal(await queue.fail(job!, new Error("boom")), "failed");
      assert.equal(await queue.cancel(cancelled), true);
      clock.advance(50);
      for (const id of [failed, cancelled]) {
        assert.equal(await queue.retry(id), true);
        const stored = await queue.get(id);
        assert.equal(stored?.status, "pending");
        assert.equal(stored?.attempt, 0);
        assert.equal(stored?.runAt, clock.now);
        assert.equal(stored?.error, undefined);
        assert.equal(stored?.progress, 0);
        assert.equal(stored?.message, "");
        assert.equal(stored?.completedAt, undefined);
      }
      const again = await queue.claim();
      assert.equal(again?.id, failed);
      assert.equal(again?.attempt, 1);
      assert.equal(await queue.fail(again!, new Error("once more")), "failed");
    },
  },
  {
    name:
      "retry() returns false on pending, processing and complete jobs and on unknown ids",
    async run(ctx) {
      const queue = ctx.queue();
      const done = await queue.enqueue("t", 1);
      const job = await queue.claim();
      await queue.complete(job!, "ok");
      const processing = await queue.enqueue("t", 2);
      await queue.claim();
      const pending = await queue.enqueue("t", 3);
      for (const id of [done, processing, pending, newId()]) {
        assert.equal(await queue.retry(id), false);
      }
      assert.equal((await queue.get(done))?.status, "complete");
      assert.equal((await queue.get(done))?.result, "ok");
      assert.equal((await queue.get(processing))?.status, "processing");
      assert.equal((await queue.get(pending))?.status, "pending");
      assert.equal((await queue.get(pending))?.attempt, 0);
    },
  },
];
