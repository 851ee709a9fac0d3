/**
 * A worker that gives up on its running handlers (stop() past its timeout),
 * one job's run alone (src/worker/run.ts): the attempt fails at once with
 * the reason it gave up, the slot frees, and whatever the handler returns
 * or throws later is discarded. On a real memory queue.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { abandonJob, runJob, type RunOptions } from "../src/worker/run.ts";
import { withClaimed } from "./_support/parts.ts";
import type { Running } from "../src/worker/leases.ts";
import type { Handler } from "../src/worker/types.ts";
import { sleep } from "./_support/time.ts";

/** A handler that settles only when told, with a value or a throw. */
function pending(): {
  handler: Handler;
  settle(how: "return" | "throw"): void;
} {
  let settle: (how: "return" | "throw") => void = () => {};
  const handler = () =>
    new Promise((resolve, reject) => {
      settle = (how) =>
        how === "return" ? resolve({ late: true }) : reject(new Error("late"));
    });
  return { handler, settle: (how) => settle(how) };
}

describe("giving up on a running handler", () => {
  for (const how of ["return", "throw"] as const) {
    test(`the attempt fails at once with the reason, and a later ${how} is discarded`, async () => {
      await withClaimed(async (queue, job) => {
        const told: unknown[][] = [];
        let freed = 0;
        const stores: string[] = [];
        const { handler, settle } = pending();
        const controller = new AbortController();
        const entry: Running = { job, controller };
        const o: RunOptions = {
          handlers: { t: handler },
          queue: {
            update: (j, c) => queue.update(j, c),
            heartbeat: (j, o) => queue.heartbeat(j, o),
            complete: (j, r) => (stores.push("complete"), queue.complete(j, r)),
            fail: (j, e, o) => (stores.push("fail"), queue.fail(j, e, o)),
            release: (j, o) => queue.release(j, o),
          },
          leaseMs: 60_000,
          freed: () => void freed++,
          emit: (event, ...args) => void told.push([event, ...args]),
          report: (err) => assert.fail(`reported ${err}`),
        };
        const running = runJob(entry, o);
        // What stop() does when it gives up: abort, then abandon.
        const reason = new DOMException("stopped", "AbortError");
        controller.abort(reason);
        assert.equal(await abandonJob(entry, reason, o), "retrying");
        assert.equal(freed, 1);
        assert.deepEqual(stores, ["fail"]);
        assert.deepEqual(told, [["failed", job, reason, true]]);
        const failed = await queue.get(job.id);
        assert.equal(failed?.status, "pending");
        assert.equal(failed?.error?.name, "AbortError");
        settle(how);
        assert.equal(await running, "abandoned");
        await sleep(20);
        assert.deepEqual(stores, ["fail"], "nothing stored after");
        assert.equal((await queue.get(job.id))?.version, failed?.version);
      });
    });
  }

  test("a handler that returned before the worker gave up still has its result stored", async () => {
    await withClaimed(async (queue, job) => {
      let storing = () => {};
      const stored = new Promise<void>((resolve) => (storing = resolve));
      const controller = new AbortController();
      const entry: Running = { job, controller };
      const o: RunOptions = {
        handlers: { t: () => "done" },
        queue: {
          update: (j, c) => queue.update(j, c),
          heartbeat: (j, o) => queue.heartbeat(j, o),
          release: (j, o) => queue.release(j, o),
          complete: async (j, r) => {
            storing();
            await sleep(20);
            await queue.complete(j, r);
          },
          fail: () => Promise.reject(new Error("not called")),
        },
        leaseMs: 60_000,
        freed: () => {},
        emit: () => {},
        report: (err) => assert.fail(`reported ${err}`),
      };
      const running = runJob(entry, o);
      await stored;
      // What stop() does when it gives up: abort, then abandon (too late).
      const reason = new DOMException("stopped", "AbortError");
      controller.abort(reason);
      assert.equal(abandonJob(entry, reason, o), undefined);
      assert.equal(await running, "completed");
      assert.equal((await queue.get(job.id))?.result, "done");
    });
  });
});
