/**
 * §12 Flows, part two: when parents fail. "cancel" cancels dependents
 * transitively, naming the parent; "continue" runs them once every parent
 * finished, with the error in `ctx.parents()`; cancel, remove and a lease
 * running out on the last attempt cascade as a failure does; retry re-arms
 * what a failure cancelled; cancelFlow; a parent removed by retention
 * still gives its result.
 *
 * @module
 */

import assert from "node:assert/strict";
import { LeaseLostError } from "../../src/errors.ts";
import { createWorker } from "../../src/worker/mod.ts";
import { type Case, waitFor } from "./_context.ts";
import { claimOnly, IMAGE_FLOW, statuses } from "./_flows.ts";

/** A chain a → b → c, with d after a under "continue". */
const CHAIN = [
  { ref: "a", type: "t", data: "a" },
  { ref: "b", type: "t", data: "b", dependsOn: ["a"] },
  { ref: "c", type: "t", data: "c", dependsOn: ["b"] },
  {
    ref: "d",
    type: "t",
    data: "d",
    dependsOn: ["a"],
    onParentFailure: "continue" as const,
  },
];

/** The failure cases. */
export const flowFailureCases: Case[] = [
  {
    name:
      "a parent that fails for good cancels its 'cancel' dependents transitively, naming the parent, and releases its 'continue' ones",
    async run(ctx) {
      const queue = ctx.queue();
      const flow = await queue.enqueueFlow(CHAIN);
      const a = await claimOnly(queue, flow.jobs.a!);
      assert.equal(
        await queue.fail(a, new Error("boom"), { retry: false }),
        "failed",
      );
      assert.deepEqual(await statuses(queue, flow.id), {
        a: "failed",
        b: "cancelled",
        c: "cancelled",
        d: "pending",
      });
      const b = await queue.get(flow.jobs.b!);
      assert.deepEqual(b?.error, {
        name: "CancelledError",
        message: 'parent "a" failed',
      });
      const c = await queue.get(flow.jobs.c!);
      assert.equal(c?.error?.message, 'parent "b" was cancelled');
      assert.equal(typeof c?.completedAt, "number");
      const stats = await queue.stats();
      assert.deepEqual([stats.waiting, stats.cancelled], [0, 2]);
    },
  },
  {
    name:
      "under 'continue' a job runs once every parent has finished, and ctx.parents() gives a failed parent's error",
    async run(ctx) {
      const queue = ctx.queue({ maxAttempts: 1 });
      const flow = await queue.enqueueFlow([
        { ref: "ok", type: "ok", data: null },
        { ref: "bad", type: "bad", data: null },
        {
          ref: "sum",
          type: "sum",
          data: null,
          dependsOn: ["ok", "bad"],
          onParentFailure: "continue",
        },
      ]);
      let parents: Record<string, unknown> | undefined;
      const worker = createWorker(queue, {
        ok: () => 42,
        bad: () => {
          throw new RangeError("no");
        },
        sum: async (_job, jc) => {
          parents = await jc.parents();
          return "done";
        },
      }, { pollInterval: 50 });
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      await waitFor(
        "sum to complete",
        async () => (await queue.get(flow.jobs.sum!))?.status === "complete",
      );
      const bad = parents?.bad as { error: { name: string; message: string } };
      assert.equal(parents?.ok, 42);
      assert.equal(bad.error.name, "RangeError");
      assert.equal(bad.error.message, "no");
    },
  },
  {
    name:
      "cancel() of a parent cascades, cancel() of a waiting job works, and remove() of an unfinished parent cancels its dependents",
    async run(ctx) {
      const queue = ctx.queue();
      const one = await queue.enqueueFlow(CHAIN);
      assert.equal(await queue.cancel(one.jobs.a!), true);
      assert.deepEqual(await statuses(queue, one.id), {
        a: "cancelled",
        b: "cancelled",
        c: "cancelled",
        d: "pending",
      });
      assert.equal(
        (await queue.get(one.jobs.b!))?.error?.message,
        'parent "a" was cancelled',
      );
      const two = await queue.enqueueFlow(CHAIN);
      assert.equal(await queue.cancel(two.jobs.c!), true, "a waiting job");
      assert.equal((await queue.get(two.jobs.c!))?.status, "cancelled");
      assert.equal(await queue.remove(two.jobs.a!), true);
      assert.equal(await queue.get(two.jobs.a!), null);
      assert.deepEqual(await statuses(queue, two.id), {
        b: "cancelled",
        c: "cancelled",
        d: "pending",
      });
    },
  },
  {
    name:
      "retry() of a failed parent puts the dependents its failure cancelled back to waiting, and they run after it",
    async run(ctx) {
      const queue = ctx.queue();
      const flow = await queue.enqueueFlow(CHAIN);
      const a = await claimOnly(queue, flow.jobs.a!);
      await queue.fail(a, "x", { retry: false });
      const d = await claimOnly(queue, flow.jobs.d!);
      await queue.complete(d, "d");
      assert.equal(await queue.retry(flow.jobs.a!), true);
      assert.deepEqual(await statuses(queue, flow.id), {
        a: "pending",
        b: "waiting",
        c: "waiting",
        d: "complete",
      });
      const b = await queue.get(flow.jobs.b!);
      assert.equal(b?.error, undefined);
      assert.equal(b?.completedAt, undefined);
      for (const ref of ["a", "b", "c"]) {
        await queue.complete(await claimOnly(queue, flow.jobs[ref]!), ref);
      }
      assert.deepEqual(await statuses(queue, flow.id), {
        a: "complete",
        b: "complete",
        c: "complete",
        d: "complete",
      });
    },
  },
  {
    name:
      "retry() of one of two failed parents leaves their 'cancel' dependent cancelled, naming the other, until that one is retried too, and puts 'continue' dependents back to waiting for it",
    async run(ctx) {
      const queue = ctx.queue();
      const both = ["p1", "p2"];
      const flow = await queue.enqueueFlow([
        { ref: "p1", type: "t", data: "p1" },
        { ref: "p2", type: "t", data: "p2" },
        { ref: "c", type: "t", data: "c", dependsOn: both },
        {
          ref: "k",
          type: "t",
          data: "k",
          dependsOn: both,
          onParentFailure: "continue",
        },
        {
          ref: "m",
          type: "t",
          data: "m",
          dependsOn: ["p1"],
          onParentFailure: "continue",
        },
      ]);
      const id = flow.jobs;
      await queue.fail(await claimOnly(queue, id.p1!), "x", { retry: false });
      await queue.fail(await claimOnly(queue, id.p2!), "y", { retry: false });
      assert.deepEqual(await statuses(queue, flow.id), {
        p1: "failed",
        p2: "failed",
        c: "cancelled",
        k: "pending",
        m: "pending",
      });
      assert.equal(await queue.retry(id.p1!), true);
      assert.deepEqual(
        await statuses(queue, flow.id),
        {
          p1: "pending",
          p2: "failed",
          c: "cancelled",
          k: "waiting",
          m: "waiting",
        },
        "c stays cancelled (p2 failed); k and m wait for p1 again",
      );
      const c = await queue.get(id.c!);
      assert.match(c?.error?.message ?? "", /"p2"/, "c's reason names p2 now");
      await queue.complete(await claimOnly(queue, id.p1!), "p1");
      assert.deepEqual(await statuses(queue, flow.id), {
        p1: "complete",
        p2: "failed",
        c: "cancelled",
        k: "pending",
        m: "pending",
      });
      assert.equal(await queue.retry(id.p2!), true);
      assert.deepEqual(
        await statuses(queue, flow.id),
        {
          p1: "complete",
          p2: "pending",
          c: "waiting",
          k: "waiting",
          m: "pending",
        },
        "retried too, p2 re-arms c; k waits for it again",
      );
      const ran: string[] = [];
      for (
        let job = await queue.claim();
        job !== null;
        job = await queue.claim()
      ) {
        ran.push(job.data as string);
        await queue.complete(job, job.data);
      }
      assert.deepEqual([...ran].sort(), ["c", "k", "m", "p2"]);
      const p2 = ran.indexOf("p2");
      assert.ok(p2 < ran.indexOf("c") && p2 < ran.indexOf("k"), `${ran}`);
      assert.ok(
        Object.values(await statuses(queue, flow.id)).every((s) =>
          s === "complete"
        ),
      );
    },
  },
  {
    name:
      "retry() of a 'cancel' dependent whose parent failed or was cancelled changes nothing (it would run before that parent), and a retried parent leaves no result to its running 'continue' dependent",
    async run(ctx) {
      const queue = ctx.queue();
      const flow = await queue.enqueueFlow([
        ...CHAIN,
        { ref: "e", type: "t", data: "e", dependsOn: ["c"] },
      ]);
      const id = flow.jobs;
      await queue.fail(await claimOnly(queue, id.a!), "x", { retry: false });
      assert.equal(await queue.retry(id.c!), false, "b was cancelled");
      assert.equal(await queue.retry(id.b!), false, "a failed");
      assert.deepEqual(await statuses(queue, flow.id), {
        a: "failed",
        b: "cancelled",
        c: "cancelled",
        d: "pending",
        e: "cancelled",
      });
      // d ("continue") runs; a is retried meanwhile: a has no result now.
      const d = await claimOnly(queue, id.d!);
      assert.deepEqual(
        Object.keys(
          await ctx.backend.parentResults!(queue.name, d.id, {
            now: Date.now(),
          }),
        ),
        ["a"],
        "a's error, while a is failed",
      );
      assert.equal(await queue.retry(id.a!), true);
      assert.deepEqual(
        await ctx.backend.parentResults!(queue.name, d.id, {
          now: Date.now(),
        }),
        {},
        "a runs again: nothing of its last attempt",
      );
      await queue.complete(d, "d");
      for (const ref of ["a", "b", "c", "e"]) {
        await queue.complete(await claimOnly(queue, id[ref]!), ref);
      }
      assert.ok(
        Object.values(await statuses(queue, flow.id)).every((s) =>
          s === "complete"
        ),
      );
    },
  },
  {
    name:
      "cancelFlow() cancels every unfinished job of a flow in one step, tells a running handler, and leaves finished ones",
    async run(ctx) {
      const queue = ctx.queue();
      const flow = await queue.enqueueFlow(IMAGE_FLOW);
      await queue.complete(await claimOnly(queue, flow.jobs.fetch!), "f");
      const large = await claimOnly(queue, flow.jobs.large!);
      assert.equal(await queue.cancelFlow(flow.id, "user gave up"), true);
      assert.deepEqual(await statuses(queue, flow.id), {
        fetch: "complete",
        large: "cancelled",
        thumb: "cancelled",
        notify: "cancelled",
      });
      const notify = await queue.get(flow.jobs.notify!);
      assert.equal(notify?.error?.message, "user gave up");
      await assert.rejects(() => queue.complete(large, "late"), LeaseLostError);
      assert.equal(await queue.cancelFlow(flow.id), false, "nothing left");
      assert.equal(await queue.cancelFlow("no-such-flow"), false);
    },
  },
  {
    name:
      "a dependent retried after its flow had nothing unfinished left still gets the result of a parent that retention removed",
    async run(ctx) {
      const queue = ctx.queue({ removeOnComplete: true });
      const flow = await queue.enqueueFlow(IMAGE_FLOW.slice(0, 2));
      await queue.complete(await claimOnly(queue, flow.jobs.fetch!), {
        bytes: 7,
      });
      assert.equal(await queue.get(flow.jobs.fetch!), null, "removed");
      const large = await claimOnly(queue, flow.jobs.large!);
      await queue.fail(large, "x", { retry: false });
      assert.equal((await queue.get(flow.jobs.large!))?.status, "failed");
      assert.equal(await queue.retry(flow.jobs.large!), true);
      let parents: Record<string, unknown> | undefined;
      const worker = createWorker(queue, {
        resize: async (_job, jc) => {
          parents = await jc.parents();
          return null;
        },
      }, { pollInterval: 50 });
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      await waitFor("large to run again", () => parents !== undefined);
      assert.deepEqual(parents, { fetch: { bytes: 7 } });
    },
  },
  {
    name:
      "a parent removed by retention as it completes still gives its result to its dependents",
    async run(ctx) {
      const queue = ctx.queue({ removeOnComplete: true });
      const flow = await queue.enqueueFlow(IMAGE_FLOW.slice(0, 2));
      await queue.complete(await claimOnly(queue, flow.jobs.fetch!), {
        bytes: 7,
      });
      assert.equal(await queue.get(flow.jobs.fetch!), null, "removed");
      let parents: Record<string, unknown> | undefined;
      const worker = createWorker(queue, {
        resize: async (_job, jc) => {
          parents = await jc.parents();
          return null;
        },
      }, { pollInterval: 50 });
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      await waitFor("large to run", () => parents !== undefined);
      assert.deepEqual(parents, { fetch: { bytes: 7 } });
    },
  },
  {
    name:
      "a parent whose lease runs out on its last attempt fails for good and cancels its dependents",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock, maxAttempts: 1 });
      const flow = await queue.enqueueFlow(CHAIN.slice(0, 2));
      await queue.claim({ leaseMs: 1_000 });
      clock.advance(1_001);
      assert.equal(await queue.claim(), null, "nothing is claimable");
      assert.deepEqual(await statuses(queue, flow.id), {
        a: "failed",
        b: "cancelled",
      });
      assert.equal(
        (await queue.get(flow.jobs.a!))?.error?.name,
        "LeaseExpiredError",
      );
    },
  },
];
