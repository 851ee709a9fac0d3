/**
 * §7.6 retention: `removeOnComplete` and `removeOnFail` (queue options and
 * per job), their defaults (complete kept a day, failed and cancelled a
 * week), age and count rules applied at the latest when the next job of the
 * queue finishes, and the final update a removed job still publishes. Time
 * moves on the queue's clock.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ValidationError } from "../../src/errors.ts";
import type { Queue } from "../../src/queue_types.ts";
import type { JobUpdate } from "../../src/types.ts";
import { type Case, waitFor } from "./_context.ts";

const DAY = 86_400_000;

/**
 * Enqueues, claims and completes one job; returns its id.
 *
 * @example
 * ```ts ignore
 * const id = await completeOne(queue, { removeOnComplete: { age: 1_000 } });
 * ```
 */
export async function completeOne(
  queue: Queue,
  options: Parameters<Queue["enqueue"]>[2] = {},
): Promise<string> {
  const id = await queue.enqueue("t", null, options);
  const job = await queue.claim();
  assert.equal(job?.id, id, "the job just enqueued is the one claimed");
  await queue.complete(job!, "ok");
  return id;
}

/** Enqueues, claims and fails one job for good; returns its id. */
async function failOne(
  queue: Queue,
  options: Parameters<Queue["enqueue"]>[2] = {},
): Promise<string> {
  const id = await queue.enqueue("t", null, options);
  const job = await queue.claim();
  assert.equal(job?.id, id, "the job just enqueued is the one claimed");
  await queue.fail(job!, new Error("no"), { retry: false });
  return id;
}

/** The retention cases. */
export const retentionCases: Case[] = [
  {
    name:
      "removeOnComplete: true removes a job as it completes, and its subscribers get the final update",
    async run(ctx) {
      const queue = ctx.queue({ removeOnComplete: true });
      const id = await queue.enqueue("t", 1);
      const updates: JobUpdate[] = [];
      const stop = await queue.listen({ job: id }, (e) => {
        if (e.kind === "update") updates.push(e.update);
      });
      ctx.defer(stop);
      await queue.complete((await queue.claim())!, { done: true });
      assert.equal(await queue.get(id), null);
      assert.equal((await queue.stats()).complete, 0);
      await waitFor(
        "the final update",
        () => updates.some((u) => u.status === "complete"),
      );
      const last = updates.find((u) => u.status === "complete")!;
      assert.deepEqual(last.result, { done: true });
    },
  },
  {
    name:
      "removeOnFail: true removes jobs as they fail for good or are cancelled, not while they retry",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({
        clock: clock.clock,
        removeOnFail: true,
        backoff: { type: "fixed", delay: 10 },
      });
      const a = await queue.enqueue("t", 1, { maxAttempts: 2 });
      assert.equal(await queue.fail((await queue.claim())!, "x"), "pending");
      assert.equal((await queue.get(a))?.status, "pending", "kept to retry");
      clock.advance(10);
      assert.equal(await queue.fail((await queue.claim())!, "x"), "failed");
      assert.equal(await queue.get(a), null);
      const b = await queue.enqueue("t", 2);
      assert.equal(await queue.cancel(b), true);
      assert.equal(await queue.get(b), null, "cancelled pending job removed");
      const c = await queue.enqueue("t", 3);
      await queue.claim();
      assert.equal(await queue.cancel(c), true);
      assert.equal(await queue.get(c), null, "cancelled running job removed");
      const s = await queue.stats();
      assert.equal(s.failed + s.cancelled + s.processing + s.pending, 0);
    },
  },
  {
    name:
      "by default a complete job is kept a day and a failed or cancelled one a week",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const done = await completeOne(queue);
      const failed = await failOne(queue);
      const cancelled = await queue.enqueue("t", null);
      await queue.cancel(cancelled);
      clock.advance(DAY - 1);
      await completeOne(queue);
      assert.equal(
        (await queue.get(done))?.status,
        "complete",
        "a day less 1 ms",
      );
      clock.advance(1);
      const later = await completeOne(queue);
      assert.equal(await queue.get(done), null, "gone a day after");
      assert.equal((await queue.get(failed))?.status, "failed");
      assert.equal((await queue.get(cancelled))?.status, "cancelled");
      clock.advance(6 * DAY - 1);
      await failOne(queue);
      assert.equal(
        (await queue.get(failed))?.status,
        "failed",
        "a week less 1 ms",
      );
      assert.equal(await queue.get(later), null, "the later complete job too");
      clock.advance(1);
      await completeOne(queue);
      assert.equal(await queue.get(failed), null, "failed: gone after a week");
      assert.equal(await queue.get(cancelled), null, "cancelled: also a week");
    },
  },
  {
    name:
      "removeOnComplete: { age } removes a job once its age passes, at the latest when the next job finishes",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({
        clock: clock.clock,
        removeOnComplete: { age: 1_000 },
        removeOnFail: { age: 5_000 },
      });
      const a = await completeOne(queue);
      const f = await failOne(queue);
      clock.advance(999);
      await completeOne(queue);
      assert.equal((await queue.get(a))?.status, "complete");
      clock.advance(1);
      await failOne(queue); // any finish sweeps what is due
      assert.equal(await queue.get(a), null);
      assert.equal((await queue.get(f))?.status, "failed");
      clock.advance(4_000);
      await completeOne(queue);
      assert.equal(await queue.get(f), null);
    },
  },
  {
    name:
      "removeOnComplete: { count } keeps only the newest complete jobs, and failed jobs by removeOnFail",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({
        clock: clock.clock,
        removeOnComplete: { count: 2 },
        removeOnFail: { count: 1 },
      });
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        ids.push(await completeOne(queue));
        clock.advance(1);
      }
      const [f1, f2] = [await failOne(queue), await failOne(queue)];
      assert.deepEqual(
        await Promise.all(
          ids.map(async (id) => (await queue.get(id)) !== null),
        ),
        [false, false, true, true],
      );
      assert.equal(await queue.get(f1), null);
      assert.equal((await queue.get(f2))?.status, "failed");
      const s = await queue.stats();
      assert.deepEqual([s.complete, s.failed], [2, 1]);
    },
  },
  {
    name:
      "removeOnComplete and removeOnFail per job override the queue's, and false keeps a job past every age",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const removing = ctx.queue({
        clock: clock.clock,
        removeOnComplete: true,
        removeOnFail: true,
      });
      const kept = await completeOne(removing, { removeOnComplete: false });
      const keptF = await failOne(removing, { removeOnFail: { age: 10 } });
      assert.equal((await removing.get(kept))?.status, "complete");
      assert.equal((await removing.get(keptF))?.status, "failed");
      const plain = ctx.queue({ clock: clock.clock });
      const gone = await completeOne(plain, { removeOnComplete: true });
      assert.equal(await plain.get(gone), null);
      const forever = await completeOne(plain, { removeOnComplete: false });
      clock.advance(30 * DAY);
      await completeOne(plain);
      await completeOne(removing);
      assert.equal((await plain.get(forever))?.status, "complete");
      assert.equal((await removing.get(kept))?.status, "complete");
      assert.equal(await removing.get(keptF), null, "its own age passed");
    },
  },
  {
    name:
      "a job whose lease runs out on its last attempt is removed by removeOnFail: true",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({
        clock: clock.clock,
        removeOnFail: true,
        maxAttempts: 1,
      });
      const id = await queue.enqueue("t", null);
      await queue.claim({ leaseMs: 1_000 });
      clock.advance(1_000);
      assert.equal(await queue.claim(), null);
      assert.equal(await queue.get(id), null);
    },
  },
  {
    name:
      "retry() of a failed job takes it out of retention: it is not removed while it runs again",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({
        clock: clock.clock,
        removeOnFail: { age: 1_000 },
        removeOnComplete: { count: 1 },
      });
      const id = await failOne(queue);
      assert.equal(await queue.retry(id), true);
      clock.advance(2_000);
      await queue.enqueue("other", null);
      const other = (await queue.claim({ types: ["other"] }))!;
      await queue.fail(other, "no", { retry: false });
      assert.equal((await queue.get(id))?.status, "pending");
      const job = (await queue.claim())!;
      assert.equal(job.id, id);
      await queue.complete(job, "ok");
      await completeOne(queue);
      assert.equal(await queue.get(id), null, "then trimmed by count as usual");
    },
  },
  {
    name: "removeOnComplete and removeOnFail refuse bad values",
    run(ctx) {
      for (
        const bad of [
          null,
          "yes",
          1,
          [],
          { age: -1 },
          { age: 1.5 },
          { count: -1 },
          { count: Infinity },
          { age: "1h" },
          { size: 3 },
        ]
      ) {
        assert.throws(
          // deno-lint-ignore no-explicit-any
          () => ctx.queue({ removeOnComplete: bad as any }),
          ValidationError,
          JSON.stringify(bad),
        );
        assert.throws(
          // deno-lint-ignore no-explicit-any
          () => ctx.queue({ removeOnFail: bad as any }),
          ValidationError,
        );
      }
      const queue = ctx.queue();
      return assert.rejects(
        // deno-lint-ignore no-explicit-any
        () => queue.enqueue("t", 1, { removeOnComplete: { age: -5 } as any }),
        ValidationError,
      );
    },
  },
];
