/**
 * The worker's scheduling parts, each alone: the claim-ahead sizing and
 * pace, the slots and their line, and the claim loop's wake-ups. A fake
 * clock where the arithmetic is the subject, short real intervals where a
 * timer is.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  AHEAD_MS,
  aheadTarget,
  type ClaimInputs,
  claimSize,
  createPace,
} from "../src/worker/ahead.ts";
import { createSlots } from "../src/worker/slots.ts";
import { createWakeups } from "../src/worker/wake.ts";
import { entry, settlesWithin } from "./_support/parts.ts";

/** Claim inputs of an idle worker with 2 slots and nothing in hand. */
function inputs(change: Partial<ClaimInputs> = {}): ClaimInputs {
  return {
    concurrency: 2,
    busy: 0,
    prefetch: 2000,
    recent: 0,
    claimMs: 5,
    waiting: 0,
    claimingFor: 0,
    held: 0,
    ...change,
  };
}

describe("claim-ahead sizing", () => {
  test("while handlers are slow a worker claims only for its free slots", () => {
    assert.equal(claimSize(inputs({ concurrency: 10, busy: 3, held: 3 })), 7);
    assert.equal(claimSize(inputs({ recent: 0.9, claimMs: 100 })), 2);
  });

  test("while handlers are quick and a claim costs time it also claims half the jobs to hold ahead", () => {
    // 50 finished in the last 100 ms, a claim takes 25 ms: hold 50 ahead,
    // claimed in two halves.
    assert.equal(aheadTarget(2000, 50, 25), 50);
    assert.equal(claimSize(inputs({ recent: 50, claimMs: 25 })), 2 + 25);
    // The second half, while the first is being claimed.
    assert.equal(
      claimSize(inputs({ recent: 50, claimMs: 25, claimingFor: 27 })),
      2 + 50 - 27,
    );
  });

  test("where a claim costs next to nothing it holds hardly any ahead", () => {
    // 30 finished in the last 100 ms, a claim takes 1 ms: hold 1 ahead.
    assert.equal(aheadTarget(2000, 30, 1), 1);
    assert.equal(claimSize(inputs({ recent: 30, claimMs: 1 })), 3);
  });

  test("prefetch caps the jobs held ahead, and 0 claims only for free slots", () => {
    assert.equal(aheadTarget(10, 1000, 100), 10);
    assert.equal(claimSize(inputs({ prefetch: 10, recent: 1000 })), 2 + 5);
    assert.equal(aheadTarget(0, 1000, 100), 0);
    assert.equal(claimSize(inputs({ prefetch: 0, recent: 1000 })), 2);
  });

  test("it claims nothing while the jobs waiting or coming cover those to hold ahead", () => {
    assert.equal(
      claimSize(inputs({ recent: 20, claimMs: 25, waiting: 20 })),
      0,
    );
    assert.equal(claimSize(inputs({ claimingFor: 1 })), 0);
  });

  test("it holds at most twice its slots plus the jobs ahead, counting results being stored", () => {
    // Both slots free, yet four results still being stored: no more leases.
    assert.equal(claimSize(inputs({ held: 4 })), 0);
    assert.equal(claimSize(inputs({ held: 3 })), 1);
  });

  test("the pace decays finished handlers by e every AHEAD_MS and averages the claim time", () => {
    let now = 1_000;
    const pace = createPace(() => now);
    for (let i = 0; i < 10; i++) pace.finished();
    assert.equal(pace.recent(), 10);
    now += AHEAD_MS;
    assert.ok(Math.abs(pace.recent() - 10 / Math.E) < 1e-9);
    assert.equal(pace.claimMs, AHEAD_MS);
    pace.claimed(0);
    assert.equal(pace.claimMs, 0.8 * AHEAD_MS);
  });
});

describe("slots", () => {
  test("start the best job first, in claim order among equals, never more than concurrency", () => {
    const slots = createSlots(2);
    slots.line([entry("a", 10), entry("b", 5)]);
    slots.line([entry("c", 5)]);
    assert.equal(slots.waiting, 3);
    assert.equal(slots.take()?.job.id, "a");
    assert.equal(slots.take()?.job.id, "b");
    assert.equal(slots.take(), undefined, "both slots are busy");
    assert.equal(slots.busy, 2);
    slots.free();
    assert.equal(slots.take()?.job.id, "c");
    assert.equal(slots.take(), undefined, "none waits");
  });

  test("a later claim of a higher priority goes before the jobs already waiting", () => {
    const slots = createSlots(10);
    slots.line([entry("a"), entry("b")]);
    slots.line([entry("c", 10), entry("d")]);
    const order = [];
    for (let e = slots.take(); e !== undefined; e = slots.take()) {
      order.push(e.job.id);
    }
    assert.deepEqual(order, ["c", "a", "b", "d"]);
  });

  test("drop takes one waiting job out, drain all of them", () => {
    const slots = createSlots(1);
    const b = entry("b");
    slots.line([entry("a"), b, entry("c")]);
    assert.equal(slots.drop(b), true);
    assert.equal(slots.drop(b), false);
    assert.deepEqual(slots.drain().map((e) => e.job.id), ["c", "a"]);
    assert.equal(slots.waiting, 0);
    assert.equal(slots.take(), undefined);
  });
});

describe("wake-ups", () => {
  test("an idle wait returns at once when done, or when a wake-up is requested and there is room", async () => {
    const w = createWakeups(Date.now, 60_000);
    assert.equal(w.requested, true, "the first claim goes out at once");
    assert.equal(await settlesWithin(w.idle(true, false), 20), true);
    assert.equal(await settlesWithin(w.idle(false, true), 20), true);
    const noRoom = w.idle(false, false);
    assert.equal(await settlesWithin(noRoom, 50), false);
    w.poke();
    assert.equal(await settlesWithin(noRoom, 20), true);
  });

  test("with room, the poll interval ends an idle wait with a wake-up", async () => {
    const w = createWakeups(Date.now, 30);
    w.requested = false;
    const began = performance.now();
    assert.equal(await settlesWithin(w.idle(true, false), 2_000), true);
    assert.ok(performance.now() - began >= 25);
    assert.equal(w.requested, true);
  });

  test("wakeAt wakes the loop when the time comes, an earlier time replacing a later one", async () => {
    const w = createWakeups(Date.now, 60_000);
    w.requested = false;
    const idle = w.idle(false, false);
    w.wakeAt(Date.now() + 5_000);
    w.wakeAt(Date.now() + 40);
    assert.equal(await settlesWithin(idle, 10), false);
    assert.equal(await settlesWithin(idle, 2_000), true);
    assert.equal(w.requested, true);
    w.requested = false;
    w.wakeAt(Date.now() - 1);
    assert.equal(w.requested, true, "a time already due wakes at once");
  });

  test("wakeAt follows the queue's clock: a timer that fires before it says so waits again", async () => {
    let now = 1_000;
    const w = createWakeups(() => now, 60_000);
    w.requested = false;
    const idle = w.idle(false, false);
    w.wakeAt(1_030);
    assert.equal(await settlesWithin(idle, 100), false);
    now = 1_030;
    assert.equal(await settlesWithin(idle, 1_000), true);
  });

  test("stop() cancels a pending wakeAt", async () => {
    const w = createWakeups(Date.now, 60_000);
    w.requested = false;
    const idle = w.idle(false, false);
    w.wakeAt(Date.now() + 20);
    w.stop();
    assert.equal(await settlesWithin(idle, 80), false);
    assert.equal(w.requested, false);
    w.poke();
    await idle;
  });

  test("a wake-up heard while claims are under way is kept until they come back; one for later, or with none under way, is not", async () => {
    let now = 1_000;
    const w = createWakeups(() => now, 60_000);
    w.requested = false;
    w.heard(1_000, true);
    assert.equal(w.requested, false, "kept while a claim is under way");
    w.claimsBack();
    assert.equal(w.requested, true, "requested once it came back");
    w.requested = false;
    w.claimsBack();
    assert.equal(w.requested, false, "kept once only");
    w.heard(1_000, false);
    assert.equal(w.requested, true, "with no claim under way, at once");
    w.requested = false;
    const idle = w.idle(false, false);
    w.heard(1_020, true);
    assert.equal(w.requested, false);
    now = 1_020;
    assert.equal(await settlesWithin(idle, 2_000), true, "one for later");
    assert.equal(w.requested, true);
    w.stop();
  });
});
