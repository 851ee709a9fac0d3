/**
 * The memory backend's store: one queue's state (its jobs, the heaps that
 * order them, the keys) and the index steps the transitions are made of:
 * finding a live or a held job, putting a pending job where a claim finds
 * it, popping the best due job, dropping a job. Private to backends/memory/.
 * It never reads a clock of its own (every step gets `now`) and publishes
 * no event itself: the only one its steps lead to is the wake transitions_limits.ts
 * sends when a job stops while a concurrency limit was full.
 *
 * Claims never scan every job: due jobs sit in lanes by type and group
 * (lanes.ts), each keyed by (priority, sequence); delayed jobs in a heap by runAt; leases in
 * a heap by deadline; TTLs in a heap by expiry. A job is in each heap at
 * most once, and leaves it the moment it no longer belongs there (each
 * entry knows its place: indexed_heap.ts): a heap never holds a finished,
 * cancelled or removed job, so memory follows the live jobs, not
 * throughput × leaseMs.
 *
 * @module
 */

import type { LeaseRef } from "../../src/backend/interface.ts";
import { LeaseLostError } from "../../src/errors.ts";
import { addReady, popReady, removeReady } from "./lanes.ts";
import {
  queueUntil,
  started,
  stopped,
  typeUntil,
} from "./transitions_limits.ts";
import type { Finished, State } from "./state.ts";

export {
  type Counters,
  type Finished,
  type FlowEntry,
  newState,
  type State,
} from "./state.ts";
import type { Rec } from "./records.ts";

/** The job, unless it is missing or expired (an expired one is dropped). */
export function live(s: State, id: string, now: number): Rec | undefined {
  const rec = s.jobs.get(id);
  if (rec === undefined) return undefined;
  if (rec.expiresAt !== null && rec.expiresAt <= now) {
    drop(s, rec);
    return undefined;
  }
  return rec;
}

/** The job whose lease `ref` holds, or LeaseLostError. */
export function held(s: State, ref: LeaseRef): Rec {
  const rec = s.leased.get(ref.id);
  if (
    rec === undefined || rec.status !== "processing" ||
    rec.lease?.token !== ref.token
  ) {
    throw new LeaseLostError(ref.id);
  }
  return rec;
}

/** Forgets a job: it leaves every heap and index, its key is free. */
export function drop(s: State, rec: Rec): void {
  s.jobs.delete(rec.id);
  unschedule(s, rec);
  unlease(s, rec);
  unfinish(s, rec);
  if (rec.inExpiry !== null) {
    s.expiry.remove(rec.inExpiry);
    rec.inExpiry = null;
  }
  releaseKey(s, rec);
  if (rec.flow !== undefined) {
    const entry = s.flows.get(rec.flow.id);
    entry?.ids.delete(rec.id);
    if (entry?.ids.size === 0) s.flows.delete(rec.flow.id);
  }
}

/** Takes a job out of the finished indexes (retried or dropped). */
export function unfinish(s: State, rec: Rec): void {
  if (rec.finishStamp === 0) return;
  s.finishedLive[rec.status as Finished]--;
  rec.finishedIn!.live--;
  rec.finishStamp = 0;
  rec.finishedIn = null;
  rec.removeAt = NaN;
}

/** Frees the job's key, if it holds it. */
export function releaseKey(s: State, rec: Rec): void {
  if (rec.key !== null && s.keys.get(rec.key) === rec.id) {
    s.keys.delete(rec.key);
  }
}

/**
 * Stores a job: by id, in the TTL heap, and while pending (a new job, or an
 * imported one) by key and in line.
 */
export function admit(s: State, rec: Rec, now: number): void {
  s.jobs.set(rec.id, rec);
  if (rec.id > s.lastId) s.lastId = rec.id;
  else s.byId = false;
  const pending = rec.status === "pending";
  if (pending && rec.key !== null) s.keys.set(rec.key, rec.id);
  if (rec.expiresAt !== null) {
    rec.inExpiry = { rec, at: rec.expiresAt, i: -1 };
    s.expiry.push(rec.inExpiry);
  }
  if (pending) schedule(s, rec, now);
}

/** Puts a pending job (once) where a claim will find it. */
export function schedule(s: State, rec: Rec, now: number): void {
  unschedule(s, rec);
  if (rec.runAt > now) {
    rec.inDelayed = { rec, at: rec.runAt, i: -1 };
    s.delayed.push(rec.inDelayed);
    return;
  }
  addReady(s.ready, rec);
}

/** Takes a job out of line (its ready or delayed heap), if it is in it. */
export function unschedule(s: State, rec: Rec): void {
  if (rec.readyStamp !== 0) removeReady(s.ready, rec);
  if (rec.inDelayed !== null) {
    s.delayed.remove(rec.inDelayed);
    rec.inDelayed = null;
  }
}

/** Puts a held job in the lease heap at its lease's end, or moves it. */
export function lease(s: State, rec: Rec): void {
  const until = rec.lease!.until;
  const entry = rec.inLeases;
  if (entry !== null && entry.i >= 0) {
    entry.at = until;
    s.leases.update(entry);
    return;
  }
  // A job's entry is made once and reused by its later claims (until it
  // finishes: transitions.ts drops it then).
  if (entry === null) rec.inLeases = { rec, at: until, i: -1 };
  else entry.at = until;
  s.leases.push(rec.inLeases!);
  s.leased.set(rec.id, rec);
  started(s, rec, rec.startedAt!);
}

/** Takes a job out of the lease heap, if it is in it. */
export function unlease(s: State, rec: Rec): void {
  const entry = rec.inLeases;
  if (entry === null || entry.i < 0) return;
  s.leases.remove(entry);
  s.leased.delete(rec.id);
  stopped(s, rec);
}

/**
 * The best due job of the given types, popped from its lane; none of a
 * paused queue or type, or of one a limit holds back (transitions_limits.ts).
 */
export function next(
  s: State,
  types: readonly string[] | null,
  now: number,
): Rec | undefined {
  const { paused } = s;
  if (paused.has("")) return undefined;
  if (!s.limits.on && paused.size === 0) {
    return popReady(s.ready, types ?? s.ready.byType.keys());
  }
  if (queueUntil(s, now) > 0) return undefined;
  const wanted = (types ?? [...s.ready.byType.keys()]).filter((t) =>
    !paused.has(t) && typeUntil(s, t, now) === 0
  );
  return popReady(s.ready, wanted);
}
