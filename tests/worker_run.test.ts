/**
 * Running one job alone (src/worker/run.ts): the outcome of an attempt from
 * its handler's return or throw, the handler's ctx, and a result discarded
 * after the lease was lost. On a real memory queue, with a clock the test
 * moves where time is the subject.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Queue } from "../src/queue_types.ts";
import {
  BackendError,
  LeaseLostError,
  QueueClosedError,
} from "../src/errors.ts";
import type { Emit } from "../src/worker/events.ts";
import { runJob, type RunOptions } from "../src/worker/run.ts";
import { withClaimed } from "./_support/parts.ts";
import type { Handler } from "../src/worker/types.ts";

/** What a run told: events, reports, and how often it freed its slot. */
interface Recorded {
  told: unknown[][];
  reported: unknown[];
  freed: number;
}

/** Run options on a queue, recording what the run tells. */
function runOptions(
  queue: RunOptions["queue"],
  handler: Handler,
): { o: RunOptions; rec: Recorded } {
  const rec: Recorded = { told: [], reported: [], freed: 0 };
  const emit: Emit = (event, ...args) => void rec.told.push([event, ...args]);
  return {
    rec,
    o: {
      handlers: { t: handler },
      queue,
      leaseMs: 60_000,
      freed: () => void rec.freed++,
      emit,
      report: (err) => void rec.reported.push(err),
    },
  };
}

/** A queue's calls for one run, some of them replaced. */
function runQueue(
  queue: Queue,
  over: Partial<RunOptions["queue"]> = {},
): RunOptions["queue"] {
  return {
    update: (job, change) => queue.update(job, change),
    heartbeat: (job, options) => queue.heartbeat(job, options),
    complete: (job, result) => queue.complete(job, result),
    fail: (job, error, options) => queue.fail(job, error, options),
    release: (jobs, options) => queue.release(jobs, options),
    ...over,
  };
}

/** A clock that moves only when told, for a queue's `clock` option. */
function manualClock(): { clock: () => number; advance(ms: number): void } {
  let now = Date.now();
  return { clock: () => now, advance: (ms) => void (now += ms) };
}

describe("running one job", () => {
  test("a return value completes the job, and the slot frees before the result is stored", async () => {
    await withClaimed(async (queue, job) => {
      const order: string[] = [];
      const { o, rec } = runOptions(
        runQueue(queue, {
          async complete(j, result) {
            order.push("complete");
            await queue.complete(j, result);
          },
        }),
        () => ({ width: 640 }),
      );
      const freed = o.freed;
      o.freed = () => {
        order.push("freed");
        freed();
      };
      const outcome = await runJob(
        { job, controller: new AbortController() },
        o,
      );
      assert.equal(outcome, "completed");
      assert.deepEqual(order, ["freed", "complete"]);
      assert.equal(rec.freed, 1);
      assert.deepEqual(rec.told, [["completed", job, { width: 640 }]]);
      const stored = await queue.get(job.id);
      assert.equal(stored?.status, "complete");
      assert.deepEqual(stored?.result, { width: 640 });
    });
  });

  test("a throw fails the attempt: retried while attempts remain, then failed for good", async () => {
    const time = manualClock();
    await withClaimed(async (queue, job) => {
      const err = new Error("bad image");
      const { o, rec } = runOptions(runQueue(queue), () => {
        throw err;
      });
      const first = await runJob({ job, controller: new AbortController() }, o);
      assert.equal(first, "retrying");
      assert.equal((await queue.get(job.id))?.status, "pending");
      assert.deepEqual(rec.told, [["failed", job, err, true]]);
      time.advance(600_000);
      const again = await queue.claim();
      assert.ok(again);
      const last = await runJob({
        job: again,
        controller: new AbortController(),
      }, o);
      assert.equal(last, "failed");
      const stored = await queue.get(job.id);
      assert.equal(stored?.status, "failed");
      assert.equal(stored?.error?.message, "bad image");
      assert.deepEqual(rec.told[1], ["failed", again, err, false]);
      assert.equal(rec.freed, 2);
    }, { maxAttempts: 2, clock: time.clock });
  });

  test("a result that is not JSON fails the job for good, though attempts remain", async () => {
    await withClaimed(async (queue, job) => {
      const { o, rec } = runOptions(runQueue(queue), () => 10n);
      assert.equal(
        await runJob({ job, controller: new AbortController() }, o),
        "failed",
      );
      const stored = await queue.get(job.id);
      assert.equal(stored?.status, "failed");
      assert.equal(stored?.attempt, 1);
      assert.equal(stored?.error?.name, "ValidationError");
      assert.equal(rec.told[0]?.[0], "failed");
      assert.equal(rec.told[0]?.[3], false);
    });
  });

  test("a result or a throw that comes after the lease was lost is discarded", async () => {
    await withClaimed(async (queue, job) => {
      let stores = 0;
      const counted = runQueue(queue, {
        complete: (j, r) => (stores++, queue.complete(j, r)),
        fail: (j, e, opt) => (stores++, queue.fail(j, e, opt)),
      });
      for (
        const late of [() => ({ late: true }), () => {
          throw new Error("late");
        }]
      ) {
        let finish = () => {};
        const { o, rec } = runOptions(counted, () =>
          new Promise((resolve) => {
            finish = () => resolve(undefined);
          }).then(late));
        const controller = new AbortController();
        const running = runJob({ job, controller }, o);
        controller.abort(new LeaseLostError(job.id, "lease lost"));
        finish();
        assert.equal(await running, "lost");
        assert.equal(rec.freed, 1);
        assert.deepEqual(rec.told, []);
      }
      assert.equal(stores, 0, "nothing stored");
      const stored = await queue.get(job.id);
      assert.equal(stored?.status, "processing");
      assert.equal(stored?.result, undefined);
    });
  });

  test("a signal aborted for a reason other than a lost lease or the worker giving up still stores the result", async () => {
    await withClaimed(async (queue, job) => {
      const controller = new AbortController();
      const { o } = runOptions(runQueue(queue), (_job, ctx) => {
        controller.abort(new DOMException("stop", "AbortError"));
        return { aborted: ctx.signal.aborted };
      });
      assert.equal(await runJob({ job, controller }, o), "completed");
      assert.deepEqual((await queue.get(job.id))?.result, { aborted: true });
    });
  });

  test("the handler's ctx reports progress, extends the lease and carries the signal", async () => {
    const time = manualClock();
    await withClaimed(async (queue, job) => {
      const controller = new AbortController();
      const { o } = runOptions(runQueue(queue), async (j, ctx) => {
        assert.equal(ctx.signal, controller.signal);
        await ctx.progress(0.5, "half way");
        const seen = await queue.get(j.id);
        assert.equal(seen?.progress, 0.5);
        assert.equal(seen?.message, "half way");
        const before = j.lease.until;
        time.advance(1_000);
        await ctx.heartbeat();
        assert.equal(j.lease.until, before + 1_000);
        return "done";
      });
      assert.equal(await runJob({ job, controller }, o), "completed");
    }, { clock: time.clock });
  });

  test("a store call that fails is reported and ends the attempt in error; a lost lease is not reported", async () => {
    await withClaimed(async (queue, job) => {
      const cases: [Error, string, number][] = [
        [new BackendError("server gone"), "error", 1],
        [new QueueClosedError(), "error", 0],
        [new LeaseLostError(job.id, "gone"), "lost", 0],
      ];
      for (const [err, outcome, reports] of cases) {
        const { o, rec } = runOptions(
          runQueue(queue, { complete: () => Promise.reject(err) }),
          () => 1,
        );
        assert.equal(
          await runJob({ job, controller: new AbortController() }, o),
          outcome,
        );
        assert.equal(rec.reported.length, reports, err.name);
        assert.equal(rec.freed, 1);
      }
    });
  });
});
