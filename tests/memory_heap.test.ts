/**
 * The memory backend's heaps hold only what they order: a finished,
 * cancelled or removed job leaves its heaps at once, so the memory the
 * backend holds does not grow with throughput × leaseMs (or × delay, or ×
 * ttl). Checked on one queue's state through the transitions
 * (backends/memory/transitions.ts), whose heap sizes are the documented
 * internal this file reads.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type {
  JobRecord,
  LeaseRef,
  NewJobRecord,
} from "../src/backend/interface.ts";
import { createListeners } from "../src/backend/listeners.ts";
import { newState, type State } from "../backends/memory/heap.ts";
import { Heap } from "../backends/memory/indexed_heap.ts";
import {
  cancelJob,
  claimJobs,
  completeJob,
  enqueueJobs,
  extendLease,
  failJob,
  queueStats,
  releaseJobs,
  removeJob,
} from "../backends/memory/transitions.ts";

const HOUR = 3_600_000;
let made = 0;

function state(): State {
  const counters = { seq: 0 };
  return newState("q", createListeners(() => {}), counters);
}

function job(now: number, extra: Partial<NewJobRecord> = {}): NewJobRecord {
  return {
    id: `job${String(++made).padStart(12, "0")}`,
    type: "t",
    data: "null",
    priority: 50,
    maxAttempts: 3,
    runAt: now,
    createdAt: now,
    ttl: null,
    expiresAt: null,
    key: null,
    metadata: "{}",
    keep: {
      complete: { age: null, count: null },
      failed: { age: null, count: null },
    },
    ...extra,
  };
}

/** The lease reference of a claimed job. */
const ref = (r: JobRecord): LeaseRef => ({ id: r.id, token: r.lease!.token });

/** Every entry the state's timed and ready heaps hold. */
function entries(s: State): number {
  let ready = 0;
  for (const t of s.ready.byType.values()) {
    for (const lane of t.lanes.values()) ready += lane.jobs.size;
  }
  return ready + s.delayed.size + s.leases.size + s.expiry.size;
}

describe("memory backend heaps", () => {
  test("200,000 claim+complete cycles with a long lease leave the lease heap empty", () => {
    const s = state();
    let now = Date.now();
    let most = 0;
    for (let i = 0; i < 200_000; i++) {
      enqueueJobs(s, [job(now)], now);
      const [claimed] = claimJobs(s, {
        types: null,
        limit: 1,
        leaseMs: HOUR,
        now,
      });
      assert.ok(claimed?.lease);
      completeJob(s, ref(claimed), "null", now);
      most = Math.max(most, s.leases.size);
      now++;
    }
    assert.ok(most <= 1, `the lease heap held ${most} entries`);
    assert.equal(s.leases.size, 0);
  });

  test("finished jobs with a short ttl are unreachable from any heap once expired", () => {
    const s = state();
    let now = Date.now();
    for (let i = 0; i < 20_000; i++) {
      enqueueJobs(s, [job(now, { ttl: 1, expiresAt: now + 1_000 })], now);
      const claimed = claimJobs(s, {
        types: null,
        limit: 10,
        leaseMs: HOUR,
        now,
      });
      for (const c of claimed) completeJob(s, ref(c), "null", now);
    }
    now += 2_000;
    queueStats(s, now);
    assert.equal(s.jobs.size, 0);
    assert.equal(entries(s), 0);
  });

  test("heartbeats keep one lease entry per job", () => {
    const s = state();
    let now = Date.now();
    enqueueJobs(s, [job(now), job(now)], now);
    const held = claimJobs(s, { types: null, limit: 2, leaseMs: 1_000, now });
    assert.equal(held.length, 2);
    for (let i = 0; i < 10_000; i++) {
      now += 10;
      for (const h of held) extendLease(s, ref(h), 1_000, now);
    }
    assert.equal(s.leases.size, 2);
    for (const h of held) completeJob(s, ref(h), "null", now);
    assert.equal(s.leases.size, 0);
  });

  test("cancelled, removed, released and retried jobs leave no stale entries", () => {
    const s = state();
    const now = Date.now();
    const later = now + HOUR;
    const delayed = Array.from(
      { length: 1_000 },
      () =>
        job(now, { runAt: later, ttl: 86_400, expiresAt: now + 86_400_000 }),
    );
    enqueueJobs(s, delayed, now);
    for (const j of delayed.slice(0, 500)) cancelJob(s, j.id, "no", now);
    for (const j of delayed.slice(500)) removeJob(s, j.id, now);
    assert.equal(s.delayed.size, 0, "delayed heap");
    assert.equal(s.expiry.size, 500, "expiry entries of the cancelled jobs");
    for (const j of delayed.slice(0, 500)) removeJob(s, j.id, now);
    assert.equal(entries(s), 0);

    const ready = Array.from({ length: 1_000 }, () => job(now));
    enqueueJobs(s, ready, now);
    for (const j of ready.slice(0, 500)) cancelJob(s, j.id, "no", now);
    const claimed = claimJobs(s, {
      types: null,
      limit: 500,
      leaseMs: HOUR,
      now,
    });
    assert.equal(claimed.length, 500);
    assert.equal(entries(s), 500, "one lease entry per claimed job");
    releaseJobs(s, claimed.slice(0, 250).map(ref), now);
    for (const c of claimed.slice(250)) {
      failJob(s, ref(c), {
        error: { name: "E", message: "x" },
        retryAt: later,
        now,
      });
    }
    assert.equal(s.leases.size, 0);
    assert.equal(entries(s), 500, "250 ready and 250 delayed");
    for (const j of ready) removeJob(s, j.id, now);
    assert.equal(entries(s), 0);
  });

  test("the lanes of groups whose jobs left keep no more than 1,024 empty ones per type, claimed or not", () => {
    const s = state();
    const now = Date.now();
    const lanes = (type: string) => s.ready.byType.get(type)?.lanes.size ?? 0;
    const grouped = (type: string, n: number) =>
      Array.from({ length: n }, (_, i) => job(now, { type, group: `g${i}` }));
    // Cancelled, with no claim of their type after: kept at their turns
    // until the empty ones outnumber the rest and 1,024, then swept.
    const cancelled = grouped("a", 5_000);
    enqueueJobs(s, cancelled, now);
    assert.equal(lanes("a"), 5_000);
    for (const j of cancelled) cancelJob(s, j.id, "no", now);
    assert.ok(lanes("a") <= 1_024, `${lanes("a")} lanes of type a left`);
    // Claimed: a claim drops the empty lanes it meets first.
    const claimed = grouped("b", 3_000);
    enqueueJobs(s, claimed, now);
    const jobs = claimJobs(s, {
      types: ["b"],
      limit: 3_000,
      leaseMs: HOUR,
      now,
    });
    assert.equal(jobs.length, 3_000);
    for (const c of jobs) completeJob(s, ref(c), "null", now);
    assert.ok(lanes("b") <= 1_024, `${lanes("b")} lanes of type b left`);
    assert.equal(
      claimJobs(s, { types: ["b"], limit: 1, leaseMs: HOUR, now }).length,
      0,
    );
    assert.equal(lanes("b"), 0, "a claim that finds nothing drops them all");
  });

  test("the indexed heap stays ordered through random pushes, removals and key changes", () => {
    type Item = { key: number; i: number };
    const heap = new Heap<Item>((a, b) => a.key < b.key);
    const held = new Set<Item>();
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    for (let step = 0; step < 20_000; step++) {
      const op = random() % 4;
      const items = [...held];
      const some = items[random() % Math.max(1, items.length)];
      if (op === 0 || some === undefined) {
        const item = { key: random() % 1_000, i: -1 };
        heap.push(item);
        held.add(item);
      } else if (op === 1) {
        assert.equal(heap.remove(some), true);
        assert.equal(heap.remove(some), false, "removed once");
        held.delete(some);
      } else if (op === 2) {
        some.key = random() % 1_000;
        heap.update(some);
      } else {
        const top = heap.pop()!;
        assert.equal(top.key, Math.min(...items.map((x) => x.key)));
        held.delete(top);
      }
      assert.equal(heap.size, held.size);
    }
    let last = -1;
    for (let top = heap.pop(); top !== undefined; top = heap.pop()) {
      assert.ok(top.key >= last);
      assert.equal(top.i, -1);
      last = top.key;
    }
  });
});
