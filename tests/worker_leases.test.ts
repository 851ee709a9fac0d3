/**
 * The worker's lease keeper alone: heartbeats on schedule, the check of a
 * cancel event, lease loss, reporting, and draining. On a real memory queue
 * where the backend's answer is the subject, short real intervals where a
 * timer is.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  BackendError,
  LeaseLostError,
  QueueClosedError,
} from "../src/errors.ts";
import { createLeaseKeeper, type Running } from "../src/worker/leases.ts";
import { sleep, waitFor } from "./_support/time.ts";
import { fakeJob, settlesWithin, withClaimed } from "./_support/parts.ts";

describe("lease keeper", () => {
  test("heartbeats a held lease every interval and stops once none is held", async () => {
    await withClaimed(async (queue, job) => {
      let beats = 0;
      const keeper = createLeaseKeeper({
        queue: {
          heartbeat(j, options) {
            beats++;
            assert.equal(options?.leaseMs, 45_000);
            return queue.heartbeat(j, options);
          },
        },
        leaseMs: 45_000,
        heartbeatInterval: 20,
        report: (err) => assert.fail(`reported ${err}`),
        onLost: () => assert.fail("lost"),
      });
      const began = performance.now();
      keeper.hold(job);
      assert.equal(keeper.size, 1);
      await waitFor("three heartbeats", () => beats >= 3);
      assert.ok(performance.now() - began >= 50, "not before their time");
      const stored = await queue.get(job.id);
      assert.equal(stored?.status, "processing");
      keeper.settle(job);
      assert.equal(keeper.size, 0);
      const after = beats;
      await sleep(80);
      assert.equal(beats, after, "no heartbeat once the lease is settled");
    });
  });

  test("a refused heartbeat aborts the job's signal with a LeaseLostError and tells the worker", async () => {
    await withClaimed(async (queue, job) => {
      const lost: Running[] = [];
      const keeper = createLeaseKeeper({
        queue,
        leaseMs: 60_000,
        heartbeatInterval: 60_000,
        report: (err) => assert.fail(`reported ${err}`),
        onLost: (e) => void lost.push(e),
      });
      const held = keeper.hold(job);
      try {
        assert.equal(await queue.cancel(job.id), true);
        keeper.beat();
        await waitFor("the loss", () => lost.length > 0);
        assert.equal(lost[0], held);
        assert.ok(held.controller.signal.reason instanceof LeaseLostError);
      } finally {
        keeper.settle(job);
      }
    });
  });

  test("a cancel event aborts the job only once a heartbeat is refused", async () => {
    await withClaimed(async (queue, job) => {
      let lost = 0;
      const keeper = createLeaseKeeper({
        queue,
        leaseMs: 60_000,
        heartbeatInterval: 60_000,
        report: (err) => assert.fail(`reported ${err}`),
        onLost: () => void lost++,
      });
      const held = keeper.hold(job);
      try {
        // An event about an earlier lease: this one still holds.
        keeper.cancelled(job.id);
        keeper.cancelled("no-such-job");
        await sleep(50);
        assert.equal(held.controller.signal.aborted, false);
        assert.equal(lost, 0);
        await queue.cancel(job.id);
        keeper.cancelled(job.id);
        await waitFor("the abort", () => held.controller.signal.aborted);
        const reason = held.controller.signal.reason;
        assert.ok(reason instanceof LeaseLostError);
        assert.match(reason.message, /was cancelled, removed or its lease/);
        assert.equal(lost, 1);
      } finally {
        keeper.settle(job);
      }
    });
  });

  test("a heartbeat that fails otherwise is reported and the job kept; a closed queue is neither", async () => {
    let failure: Error = new BackendError("server gone");
    const reported: unknown[] = [];
    const keeper = createLeaseKeeper({
      queue: { heartbeat: () => Promise.reject(failure) },
      leaseMs: 60_000,
      heartbeatInterval: 60_000,
      report: (err) => void reported.push(err),
      onLost: () => assert.fail("lost"),
    });
    const job = fakeJob("a");
    const held = keeper.hold(job);
    keeper.beat();
    await waitFor("the report", () => reported.length > 0);
    assert.equal(reported[0], failure);
    failure = new QueueClosedError();
    keeper.beat();
    await sleep(20);
    assert.equal(reported.length, 1);
    assert.equal(held.controller.signal.aborted, false);
    keeper.settle(job);
  });

  test("drained() resolves when the last lease settles; abortAll aborts every held job", async () => {
    const keeper = createLeaseKeeper({
      queue: { heartbeat: () => Promise.reject(new Error("unused")) },
      leaseMs: 60_000,
      heartbeatInterval: 60_000,
      report: () => {},
      onLost: () => {},
    });
    const a = keeper.hold(fakeJob("a"));
    const b = keeper.hold(fakeJob("b"));
    const drained = keeper.drained();
    keeper.abortAll(new Error("stopping"));
    assert.equal(a.controller.signal.aborted, true);
    assert.equal(b.controller.signal.aborted, true);
    keeper.settle(a.job);
    assert.equal(await settlesWithin(drained, 20), false);
    keeper.settle(b.job);
    assert.equal(await settlesWithin(drained, 1_000), true);
    assert.equal(await settlesWithin(keeper.drained(), 20), true);
  });

  test("a job claimed again while its lost run still ends keeps its new lease when the old run settles", async () => {
    const beaten: string[] = [];
    const keeper = createLeaseKeeper({
      queue: {
        heartbeat(job) {
          beaten.push(job.lease.token);
          return Promise.resolve(job.lease);
        },
      },
      leaseMs: 60_000,
      heartbeatInterval: 20,
      report: (err) => assert.fail(`reported ${err}`),
      onLost: () => {},
    });
    const old = keeper.hold({
      ...fakeJob("j"),
      lease: { token: "old", until: 0 },
    });
    old.controller.abort(new Error("its lease was lost"));
    const again = keeper.hold({
      ...fakeJob("j"),
      lease: { token: "new", until: 0 },
    });
    assert.equal(keeper.size, 2);
    keeper.settle(old.job); // the lost run's handler ends late
    assert.equal(keeper.size, 1, "the new run's lease is still held");
    const drained = keeper.drained();
    await waitFor("a heartbeat of the new run", () => beaten.includes("new"));
    assert.ok(!beaten.includes("old"), "no heartbeat for a lost lease");
    assert.equal(await settlesWithin(drained, 20), false);
    keeper.settle(again.job);
    assert.equal(await settlesWithin(drained, 1_000), true);
  });

  test("a cancel event checks every held lease of the job", async () => {
    const asked: string[] = [];
    const lost: string[] = [];
    const keeper = createLeaseKeeper({
      queue: {
        heartbeat(job) {
          asked.push(job.lease.token);
          return job.lease.token === "live"
            ? Promise.resolve(job.lease)
            : Promise.reject(new LeaseLostError(job.id, "gone"));
        },
      },
      leaseMs: 60_000,
      heartbeatInterval: 60_000,
      report: (err) => assert.fail(`reported ${err}`),
      onLost: (entry) => lost.push(entry.job.lease.token),
    });
    keeper.hold({ ...fakeJob("j"), lease: { token: "stale", until: 0 } });
    keeper.hold({ ...fakeJob("j"), lease: { token: "live", until: 0 } });
    keeper.hold({ ...fakeJob("k"), lease: { token: "other", until: 0 } });
    keeper.cancelled("j");
    await waitFor("the stale lease lost", () => lost.length === 1);
    assert.deepEqual(asked.sort(), ["live", "stale"]);
    assert.deepEqual(lost, ["stale"]);
    keeper.stop();
  });
});
