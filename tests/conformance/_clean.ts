/**
 * §7.6 clean(): removes jobs of one status older than `olderThan` (by finish
 * time, or creation time for pending), of one type, up to a limit, oldest
 * first, in batches; never processing jobs. And the snooze: a job given
 * back for later (`release` with a delay, `ctx.snooze` in a handler)
 * without counting its attempt.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ValidationError } from "../../src/errors.ts";
import { createWorker } from "../../src/worker/mod.ts";
import { type Case, waitFor } from "./_context.ts";

/** The clean and snooze cases. */
export const cleanCases: Case[] = [
  {
    name:
      "clean() removes finished jobs of one status older than olderThan, by type, oldest first, up to limit",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const finished: string[] = [];
      for (const type of ["a", "b", "a", "a"]) {
        const id = await queue.enqueue(type, null);
        await queue.complete((await queue.claim())!, null);
        finished.push(id);
        clock.advance(1_000);
      }
      const failed = await queue.enqueue("a", null);
      await queue.fail((await queue.claim())!, "x", { retry: false });
      // finished at t, t+1s, t+2s, t+3s; now is t+4s
      assert.equal(
        await queue.clean({ status: "complete", olderThan: 2_500, type: "a" }),
        1,
        "only the first 'a' finished 2.5 s ago or more",
      );
      assert.equal(await queue.get(finished[0]!), null);
      assert.equal((await queue.get(finished[1]!))?.type, "b");
      assert.equal(
        await queue.clean({ status: "complete", limit: 2 }),
        2,
        "the oldest two",
      );
      assert.equal(await queue.get(finished[1]!), null);
      assert.equal(await queue.get(finished[2]!), null);
      assert.equal((await queue.get(finished[3]!))?.status, "complete");
      assert.equal((await queue.get(failed))?.status, "failed");
      assert.equal(await queue.clean({ status: "failed" }), 1);
      assert.equal(await queue.clean({ status: "failed" }), 0);
      assert.equal(await queue.clean({ status: "cancelled" }), 0);
      const s = await queue.stats();
      assert.deepEqual([s.complete, s.failed], [1, 0]);
    },
  },
  {
    name:
      "clean() of pending jobs goes by creation time, frees their keys, and never touches processing jobs",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const old = await queue.enqueue("t", 1, { key: "k", delay: 60_000 });
      const running = await queue.enqueue("t", 2);
      clock.advance(5_000);
      const fresh = await queue.enqueue("t", 3);
      assert.equal((await queue.claim())?.id, running);
      assert.equal(
        await queue.clean({ status: "pending", olderThan: 1_000 }),
        1,
      );
      assert.equal(await queue.get(old), null);
      assert.equal((await queue.get(fresh))?.status, "pending");
      assert.equal((await queue.get(running))?.status, "processing");
      const again = await queue.enqueue("t", 4, { key: "k" });
      assert.notEqual(again, old, "the key is free again");
      await assert.rejects(
        // deno-lint-ignore no-explicit-any
        () => queue.clean({ status: "processing" as any }),
        ValidationError,
      );
      for (
        const bad of [
          undefined,
          {},
          { status: "done" },
          { status: "failed", olderThan: -1 },
          { status: "failed", limit: 0 },
          { status: "failed", type: "" },
        ]
      ) {
        // deno-lint-ignore no-explicit-any
        await assert.rejects(() => queue.clean(bad as any), ValidationError);
      }
    },
  },
  {
    name: "clean() removes more jobs than one batch holds",
    timeout: 60_000,
    async run(ctx) {
      const queue = ctx.queue({ removeOnComplete: false });
      const items = Array.from({ length: 2_345 }, (_, i) => ({
        type: "t",
        data: i,
      }));
      await queue.enqueueMany(items);
      assert.equal(
        await queue.clean({ status: "pending", limit: 2_300 }),
        2_300,
      );
      assert.equal(await queue.clean({ status: "pending" }), 45);
      assert.equal((await queue.stats()).pending, 0);
    },
  },
  {
    name:
      "release() with a delay snoozes a job: pending until then, its attempt not counted, its place in line kept",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const a = await queue.enqueue("t", "a");
      const b = await queue.enqueue("t", "b");
      const job = (await queue.claim())!;
      assert.equal(job.id, a);
      assert.equal(await queue.release(job, { delay: 5_000 }), 1);
      const snoozed = (await queue.get(a))!;
      assert.deepEqual(
        [snoozed.status, snoozed.attempt, snoozed.runAt],
        ["pending", 0, clock.now + 5_000],
      );
      assert.equal((await queue.claim())?.id, b);
      assert.equal(await queue.claim(), null);
      clock.advance(5_000);
      const again = (await queue.claim())!;
      assert.deepEqual([again.id, again.attempt], [a, 1]);
      await assert.rejects(
        () => queue.release(again, { delay: -1 }),
        ValidationError,
      );
    },
  },
  {
    name:
      "ctx.snooze() in a handler puts the job back for later without counting the attempt",
    async run(ctx) {
      const queue = ctx.queue({ maxAttempts: 1 });
      const id = await queue.enqueue("t", null);
      const seen: number[] = [];
      const worker = createWorker(queue, {
        t: (job, c) => {
          seen.push(job.attempt);
          if (seen.length < 3) c.snooze(20);
          return "done";
        },
      }, { pollInterval: 10 });
      ctx.defer(() => worker.stop());
      await waitFor(
        "the job to complete",
        async () => (await queue.get(id))?.status === "complete",
      );
      assert.deepEqual(seen, [1, 1, 1], "each snooze gave its attempt back");
      assert.equal((await queue.get(id))?.result, "done");
    },
  },
];
