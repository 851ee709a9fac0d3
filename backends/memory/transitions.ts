/**
 * The memory backend's store: per-queue state (jobs, heaps, keys, listeners)
 * and the steps every transition is made of. Private to backends/memory/mod.ts;
 * it must never touch a clock of its own (every step gets `now`).
 *
 * @module
 */

import type {
  BackendEvent,
  JobRecord,
  LeaseRef,
} from "../../src/backend/interface.ts";
import { updateRecordOf } from "../../src/codec.ts";
import { LeaseLostError } from "../../src/errors.ts";
import type { JobError, StatusCounts } from "../../src/types.ts";
import { Heap } from "./heap.ts";
export interface Rec extends JobRecord {
  seq: number;
  /** Bumped whenever the job leaves a heap's state, so stale entries are skipped. */
  gen: number;
}

export interface Entry {
  rec: Rec;
  gen: number;
  at: number;
}

export type Listener = (event: BackendEvent) => void;

export interface State {
  jobs: Map<string, Rec>;
  ready: Map<string, Heap<Rec>>;
  delayed: Heap<Entry>;
  leases: Heap<Entry>;
  expiry: Heap<Entry>;
  keys: Map<string, string>;
  queueListeners: Set<Listener>;
  jobListeners: Map<string, Set<Listener>>;
  workerListeners: Set<Listener>;
}

export const byPriority = (a: Rec, b: Rec): boolean =>
  a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
export const byTime = (a: Entry, b: Entry): boolean => a.at < b.at;

export function emptyCounts(): StatusCounts {
  return { pending: 0, processing: 0, complete: 0, failed: 0, cancelled: 0 };
}
/** Makes the empty state of one queue. */
export function newState(): State {
  return {
    jobs: new Map(),
    ready: new Map(),
    delayed: new Heap(byTime),
    leases: new Heap(byTime),
    expiry: new Heap(byTime),
    keys: new Map(),
    queueListeners: new Set(),
    jobListeners: new Map(),
    workerListeners: new Set(),
  };
}

export function deliver(
  listeners: Iterable<Listener>,
  event: BackendEvent,
): void {
  for (const listener of listeners) {
    try {
      listener(event);
    } catch (err) {
      console.error("jobline: a memory backend listener threw", err);
    }
  }
}

export function publish(s: State, rec: Rec): void {
  const forJob = s.jobListeners.get(rec.id);
  if (s.queueListeners.size === 0 && forJob === undefined) return;
  const event: BackendEvent = { kind: "update", update: updateRecordOf(rec) };
  deliver(s.queueListeners, event);
  if (forJob !== undefined) deliver(forJob, event);
}

export function signal(s: State, event: BackendEvent): void {
  if (s.workerListeners.size > 0) deliver(s.workerListeners, event);
}

export function live(s: State, id: string, now: number): Rec | undefined {
  const rec = s.jobs.get(id);
  if (rec === undefined) return undefined;
  if (rec.expiresAt !== null && rec.expiresAt <= now) {
    drop(s, rec);
    return undefined;
  }
  return rec;
}

export function drop(s: State, rec: Rec): void {
  s.jobs.delete(rec.id);
  rec.gen++;
  releaseKey(s, rec);
}

export function releaseKey(s: State, rec: Rec): void {
  if (rec.key !== null && s.keys.get(rec.key) === rec.id) {
    s.keys.delete(rec.key);
  }
}

export function touch(rec: Rec, now: number): void {
  rec.version++;
  rec.updatedAt = now;
}

/** Puts a pending job where a claim will find it. */
export function schedule(s: State, rec: Rec, now: number): void {
  rec.gen++;
  if (rec.runAt > now) {
    s.delayed.push({ rec, gen: rec.gen, at: rec.runAt });
    return;
  }
  let heap = s.ready.get(rec.type);
  if (heap === undefined) s.ready.set(rec.type, heap = new Heap(byPriority));
  heap.push(rec);
}

export function finish(
  s: State,
  rec: Rec,
  status: "complete" | "failed" | "cancelled",
  now: number,
): void {
  rec.status = status;
  rec.lease = null;
  rec.completedAt = now;
  rec.gen++;
  releaseKey(s, rec);
  touch(rec, now);
}

export function housekeep(s: State, now: number): void {
  for (
    let e = s.expiry.peek();
    e !== undefined && e.at <= now;
    e = s.expiry.peek()
  ) {
    s.expiry.pop();
    if (s.jobs.get(e.rec.id) === e.rec) drop(s, e.rec);
  }
  for (
    let e = s.leases.peek();
    e !== undefined && e.at <= now;
    e = s.leases.peek()
  ) {
    s.leases.pop();
    const rec = e.rec;
    if (
      rec.gen !== e.gen || rec.status !== "processing" ||
      rec.lease === null || rec.lease.until > now
    ) continue;
    const error: JobError = {
      name: "LeaseExpiredError",
      message: "lease expired",
    };
    rec.error = error;
    if (rec.attempt < rec.maxAttempts) {
      rec.status = "pending";
      rec.lease = null;
      rec.runAt = now;
      touch(rec, now);
      schedule(s, rec, now);
    } else {
      finish(s, rec, "failed", now);
    }
    signal(s, { kind: "cancel", jobId: rec.id });
    publish(s, rec);
  }
  for (
    let e = s.delayed.peek();
    e !== undefined && e.at <= now;
    e = s.delayed.peek()
  ) {
    s.delayed.pop();
    if (e.rec.gen === e.gen && e.rec.status === "pending") {
      schedule(s, e.rec, now);
    }
  }
}

/** The best due job of the given types, popped from its heap. */
export function next(
  s: State,
  types: readonly string[] | null,
): Rec | undefined {
  let bestHeap: Heap<Rec> | undefined;
  let best: Rec | undefined;
  const heaps = types === null
    ? s.ready.values()
    : types.map((t) => s.ready.get(t));
  for (const heap of heaps) {
    if (heap === undefined) continue;
    let top = heap.peek();
    while (
      top !== undefined &&
      (top.status !== "pending" || s.jobs.get(top.id) !== top)
    ) {
      heap.pop();
      top = heap.peek();
    }
    if (top !== undefined && (best === undefined || byPriority(top, best))) {
      best = top;
      bestHeap = heap;
    }
  }
  bestHeap?.pop();
  return best;
}

export function held(s: State, ref: LeaseRef): Rec {
  const rec = s.jobs.get(ref.id);
  if (
    rec === undefined || rec.status !== "processing" ||
    rec.lease?.token !== ref.token
  ) {
    throw new LeaseLostError(ref.id);
  }
  return rec;
}

/** A copy the caller may keep: explicit fields are much faster than a rest spread. */
export function copy(rec: Rec): JobRecord {
  return {
    id: rec.id,
    type: rec.type,
    data: rec.data,
    priority: rec.priority,
    maxAttempts: rec.maxAttempts,
    runAt: rec.runAt,
    createdAt: rec.createdAt,
    ttl: rec.ttl,
    expiresAt: rec.expiresAt,
    key: rec.key,
    metadata: rec.metadata,
    status: rec.status,
    progress: rec.progress,
    message: rec.message,
    result: rec.result,
    error: rec.error === null ? null : { ...rec.error },
    attempt: rec.attempt,
    updatedAt: rec.updatedAt,
    startedAt: rec.startedAt,
    completedAt: rec.completedAt,
    lease: rec.lease === null
      ? null
      : { token: rec.lease.token, until: rec.lease.until },
    version: rec.version,
  };
}
