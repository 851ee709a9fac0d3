/**
 * §4.5 Delay: not claimed before runAt (fake clock), and an idle worker
 * starts a delayed job promptly (real time, wake-ups).
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Case, idleWorker, waitFor } from "./_context.ts";

/** The delay cases. */
export const delayCases: Case[] = [
  {
    name: "a delayed job is not claimed before its runAt",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const start = clock.now;
      const delayed = await queue.enqueue("t", "d", { delay: 5_000 });
      const at = await queue.enqueue("t", "a", {
        runAt: new Date(start + 7_000),
      });
      const past = await queue.enqueue("t", "p", { runAt: start - 60_000 });
      assert.equal((await queue.get(delayed))?.runAt, start + 5_000);
      assert.equal((await queue.get(at))?.runAt, start + 7_000);
      assert.equal(
        (await queue.get(past))?.runAt,
        start,
        "a past runAt is now",
      );
      assert.equal((await queue.claim())?.id, past);
      assert.equal(await queue.claim(), null);
      clock.advance(4_999);
      assert.equal(await queue.claim(), null);
      assert.equal(
        (await queue.stats()).pending,
        2,
        "delayed jobs are pending",
      );
      clock.advance(1);
      assert.equal((await queue.claim())?.id, delayed);
      clock.advance(1_999);
      assert.equal(await queue.claim(), null);
      clock.advance(1);
      assert.equal((await queue.claim())?.id, at);
    },
  },
  {
    name: "a delayed job of high priority does not hold back due jobs",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const later = await queue.enqueue("t", 1, {
        priority: 100,
        delay: 1_000,
      });
      const now = await queue.enqueue("t", 2, { priority: 1 });
      assert.deepEqual((await queue.claimMany(5)).map((j) => j.id), [now]);
      const after = await queue.enqueue("t", 3, { priority: 50 });
      clock.advance(1_000);
      assert.deepEqual((await queue.claimMany(5)).map((j) => j.id), [
        later,
        after,
      ]);
    },
  },
  {
    name: "an idle worker starts a delayed job promptly after its delay",
    async run(ctx) {
      const { queue, started } = await idleWorker(ctx);
      const enqueuedAt = Date.now();
      const id = await queue.enqueue("t", null, { delay: 300 });
      await waitFor("the delayed job to start", () => started.length > 0, {
        timeout: 5_000,
      });
      const waited = started[0]! - enqueuedAt;
      assert.ok(waited >= 290, `started after ${waited} ms, not before runAt`);
      assert.ok(waited < 2_000, `started ${waited} ms after enqueue`);
      await waitFor(
        "the job to complete",
        async () => (await queue.get(id))?.status === "complete",
      );
    },
  },
];
