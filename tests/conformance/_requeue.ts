/**
 * §4.4-4.6 A job that goes back to pending more than once (cancelled and
 * retried, released, failed with a backoff) sits in line once: it is
 * claimed once, and not before its runAt. Time moves on a fake clock.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Case } from "./_context.ts";

/** The requeue cases. */
export const requeueCases: Case[] = [
  {
    name:
      "a pending job cancelled and retried is claimed once, then waits for its backoff",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const id = await queue.enqueue("t", null, { maxAttempts: 3 });
      assert.equal(await queue.cancel(id), true);
      assert.equal(await queue.retry(id), true);
      const job = await queue.claim();
      assert.equal(job?.id, id);
      assert.equal(await queue.fail(job!, new Error("again")), "pending");
      const runAt = (await queue.get(id))!.runAt;
      assert.ok(runAt > clock.now, "a backoff");
      assert.equal(await queue.claim(), null, "not before its runAt");
      clock.advance(runAt - clock.now);
      const again = await queue.claim();
      assert.equal(again?.id, id, "claimed at its runAt");
      await queue.complete(again!, null);
      assert.equal(await queue.claim(), null, "in line once");
    },
  },
  {
    name: "a delayed job cancelled and retried is claimed once, at once",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const id = await queue.enqueue("t", null, { delay: 60_000 });
      assert.equal(await queue.cancel(id), true);
      assert.equal(await queue.retry(id), true);
      const job = await queue.claim();
      assert.equal(job?.id, id, "retry makes it due now");
      await queue.complete(job!, null);
      clock.advance(60_000);
      assert.equal(await queue.claim(), null, "claimed once");
    },
  },
];
