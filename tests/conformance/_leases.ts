/**
 * §4.2 Leases and fencing, §4.3 no job is lost: lease length from the queue
 * and the claim, stale tokens rejected without effect, heartbeats, and lease
 * expiry putting jobs back. Time moves on a fake clock.
 *
 * @module
 */

import assert from "node:assert/strict";
import { LeaseLostError } from "../../src/errors.ts";
import type { Queue } from "../../src/queue_types.ts";
import type { ClaimedJob } from "../../src/types.ts";
import type { Case } from "./_context.ts";

/** Every lease-holding call with a stale token must reject and change nothing. */
async function assertStale(queue: Queue, job: ClaimedJob): Promise<void> {
  const calls: [string, () => Promise<unknown>][] = [
    ["complete", () => queue.complete(job, { stale: true })],
    ["fail", () => queue.fail(job, new Error("stale"))],
    [
      "fail without retry",
      () => queue.fail(job, new Error("stale"), { retry: false }),
    ],
    ["update", () => queue.update(job, { progress: 0.9, message: "stale" })],
    ["heartbeat", () => queue.heartbeat(job)],
  ];
  for (const [what, call] of calls) {
    const before = await queue.get(job.id);
    await assert.rejects(call, LeaseLostError, `${what} with a stale token`);
    assert.deepEqual(
      await queue.get(job.id),
      before,
      `${what} changed nothing`,
    );
  }
}

/** The lease cases. */
export const leaseCases: Case[] = [
  {
    name:
      "claim() gives a lease of 30 s by default, attempt 1 and startedAt, in processing",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const id = await queue.enqueue("t", null);
      clock.advance(10);
      const job = await queue.claim();
      assert.ok(job);
      assert.equal(job.id, id);
      assert.equal(job.status, "processing");
      assert.equal(job.attempt, 1);
      assert.equal(job.startedAt, clock.now);
      assert.equal(job.lease.until, clock.now + 30_000);
      assert.ok(job.lease.token.length > 0);
      const stored = await queue.get(id);
      assert.equal(stored?.status, "processing");
      assert.equal(stored?.attempt, 1);
      assert.equal(stored?.startedAt, clock.now);
      assert.equal(stored?.updatedAt, clock.now);
      assert.equal(stored?.version, 2);
    },
  },
  {
    name: "leaseMs comes from the queue option, overridden by the claim option",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock, leaseMs: 5_000 });
      await queue.enqueueMany([
        { type: "t", data: 1 },
        { type: "t", data: 2 },
        { type: "t", data: 3 },
      ]);
      const a = await queue.claim();
      assert.equal(a?.lease.until, clock.now + 5_000);
      const b = await queue.claim({ leaseMs: 1_234 });
      assert.equal(b?.lease.until, clock.now + 1_234);
      const [c] = await queue.claimMany(2, { leaseMs: 777 });
      assert.equal(c?.lease.until, clock.now + 777);
      clock.advance(778);
      // c's lease ran out, a's and b's did not.
      const again = await queue.claim();
      assert.equal(again?.id, c?.id);
      assert.equal(again?.attempt, 2);
    },
  },
  {
    name:
      "a stale token after lease expiry and a new claim gets LeaseLostError and changes nothing",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      await queue.enqueue("t", { n: 1 });
      const first = await queue.claim({ leaseMs: 1_000 });
      assert.ok(first);
      clock.advance(1_001);
      const second = await queue.claim({ leaseMs: 1_000 });
      assert.equal(second?.id, first.id);
      assert.notEqual(second?.lease.token, first.lease.token);
      await assertStale(queue, first);
      const job = await queue.get(first.id);
      assert.equal(job?.status, "processing");
      assert.equal(job?.attempt, 2);
      assert.equal(job?.progress, 0);
      assert.equal(job?.result, undefined);
      await queue.complete(second!, "fresh");
      assert.equal((await queue.get(first.id))?.result, "fresh");
    },
  },
  {
    name: "a stale token after cancel gets LeaseLostError and changes nothing",
    async run(ctx) {
      const queue = ctx.queue();
      const id = await queue.enqueue("t", null);
      const job = await queue.claim();
      assert.ok(job);
      assert.equal(await queue.cancel(id, "stop it"), true);
      await assertStale(queue, job);
      const stored = await queue.get(id);
      assert.equal(stored?.status, "cancelled");
      assert.equal(stored?.result, undefined);
      assert.deepEqual(stored?.error, {
        name: "CancelledError",
        message: "stop it",
      });
    },
  },
  {
    name: "a stale token after remove gets LeaseLostError and changes nothing",
    async run(ctx) {
      const queue = ctx.queue();
      const id = await queue.enqueue("t", null);
      const job = await queue.claim();
      assert.ok(job);
      assert.equal(await queue.remove(id), true);
      await assertStale(queue, job);
      assert.equal(await queue.get(id), null);
      assert.equal((await queue.stats()).processing, 0);
      assert.equal(await queue.claim(), null);
    },
  },
  {
    name: "heartbeat() extends the lease so the job is not delivered again",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const id = await queue.enqueue("t", null);
      const job = await queue.claim({ leaseMs: 1_000 });
      assert.ok(job);
      const start = clock.now;
      clock.advance(800);
      const lease = await queue.heartbeat(job, { leaseMs: 1_000 });
      assert.equal(lease.until, start + 1_800);
      assert.equal(lease.token, job.lease.token);
      assert.equal(
        job.lease.until,
        start + 1_800,
        "the job's lease is updated",
      );
      clock.advance(800); // start + 1600: past the first lease, within the new one
      assert.equal(await queue.claim(), null);
      assert.equal((await queue.get(id))?.status, "processing");
      assert.equal((await queue.get(id))?.attempt, 1);
      const longer = await queue.heartbeat(job);
      assert.equal(longer.until, clock.now + 30_000, "the queue's leaseMs");
      clock.advance(29_999);
      assert.equal(await queue.claim(), null);
      clock.advance(1);
      const again = await queue.claim();
      assert.equal(again?.id, id);
      assert.equal(again?.attempt, 2);
    },
  },
  {
    name:
      "a job whose lease runs out is delivered again with attempt 2 and error 'lease expired'",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const id = await queue.enqueue("t", { n: 1 });
      const first = await queue.claim({ leaseMs: 1_000 });
      assert.equal(first?.attempt, 1);
      clock.advance(999);
      assert.equal(await queue.claim(), null, "not before the lease runs out");
      clock.advance(2);
      const again = await queue.claim();
      assert.equal(again?.id, id);
      assert.equal(again?.attempt, 2);
      assert.equal(again?.error?.message, "lease expired");
      assert.deepEqual(again?.data, { n: 1 });
    },
  },
  {
    name:
      "a job whose lease runs out with no attempts left ends failed with 'lease expired'",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock, maxAttempts: 1 });
      const id = await queue.enqueue("t", null);
      const other = await queue.enqueue("u", null, { maxAttempts: 2 });
      await queue.claimMany(2, { leaseMs: 1_000 });
      clock.advance(1_000);
      const again = await queue.claim();
      assert.equal(again?.id, other, "the job with attempts left comes back");
      const job = await queue.get(id);
      assert.equal(job?.status, "failed");
      assert.equal(job?.attempt, 1);
      assert.equal(job?.error?.message, "lease expired");
      assert.equal(job?.completedAt, clock.now);
      assert.equal(await queue.claim(), null);
      const stats = await queue.stats();
      assert.equal(stats.failed, 1);
      assert.equal(stats.processing, 1);
    },
  },
  {
    name:
      "claim() returns every expired lease of the queue to pending, whatever its types filter",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const id = await queue.enqueue("a", null);
      await queue.claim({ leaseMs: 1_000 });
      clock.advance(1_000);
      assert.deepEqual(await queue.claimMany(5, { types: ["b"] }), []);
      const job = await queue.get(id);
      assert.equal(job?.status, "pending");
      assert.equal(job?.attempt, 1);
      assert.equal(job?.runAt, clock.now);
      assert.equal(job?.error?.message, "lease expired");
      assert.equal((await queue.stats()).pending, 1);
    },
  },
  {
    name:
      "stats() counts a job whose lease ran out as pending, or failed on its last attempt, with no claim since",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const left = await queue.enqueue("t", null, { maxAttempts: 2 });
      const last = await queue.enqueue("t", null, { maxAttempts: 1 });
      await queue.claimMany(2, { leaseMs: 1_000 });
      clock.advance(2_000);
      const stats = await queue.stats();
      assert.deepEqual(
        [stats.pending, stats.processing, stats.failed],
        [1, 0, 1],
      );
      assert.equal((await queue.get(left))?.status, "pending");
      assert.equal((await queue.get(last))?.status, "failed");
      assert.equal(await queue.retry(last), true);
    },
  },
];
