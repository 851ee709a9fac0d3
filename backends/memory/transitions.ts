/**
 * The state transitions of the memory backend, one function per Backend
 * method, each run on one queue's state, and the housekeeping that expires
 * leases and promotes delayed jobs. A transition that throws LeaseLostError
 * does so before it changes anything. None reads a clock (each gets `now`)
 * or returns a stored job itself (callers get copies).
 *
 * @module
 */

import type {
  Backend,
  ClaimRequest,
  EnqueueOutcome,
  JobRecord,
  LeaseRef,
  ListRequest,
  NewJobRecord,
} from "../../src/backend/interface.ts";
import { countJobs, emptyStats } from "../../src/backend/counts.ts";
import type { QueueStats } from "../../src/types.ts";
import { cancelRun, publish, wake } from "./events.ts";
import {
  admit,
  drop,
  held,
  lease,
  live,
  next,
  releaseKey,
  schedule,
  type State,
  unfinish,
  unlease,
  unschedule,
} from "./heap.ts";
import { retain } from "./retention.ts";
import { unparkDue, wakeForLimits } from "./transitions_limits.ts";
import { retryFlowJob, settled, unfinished } from "./transitions_flows.ts";
import { newRec, type Rec, toRecord } from "./records.ts";
import { randomToken } from "./tokens.ts";

/**
 * Stores new jobs (skipping those whose key is held), then claims as
 * claimJobs does with `request` (the hand-off, src/handoff.ts): one wake,
 * for the new jobs left pending, if any.
 */
export function enqueueClaimJobs(
  s: State,
  jobs: readonly NewJobRecord[],
  request: ClaimRequest,
): { outcomes: EnqueueOutcome[]; claimed: JobRecord[] } {
  const outcomes = enqueueJobs(s, jobs, request.now, false);
  const claimed = claimJobs(s, request);
  let wakeAt = Infinity;
  for (const o of outcomes) {
    const rec = o.created ? s.jobs.get(o.id) : undefined;
    if (rec?.status === "pending") wakeAt = Math.min(wakeAt, rec.runAt);
  }
  if (wakeAt !== Infinity) wake(s, wakeAt);
  return { outcomes, claimed };
}

/**
 * Stores new jobs (skipping those whose key is held); one wake for all,
 * unless `wakeUp` is false.
 */
export function enqueueJobs(
  s: State,
  jobs: readonly NewJobRecord[],
  now: number,
  wakeUp = true,
): EnqueueOutcome[] {
  const outcomes: EnqueueOutcome[] = [];
  const created: Rec[] = [];
  let wakeAt = Infinity;
  for (const job of jobs) {
    if (job.key !== null) {
      const holder = s.keys.get(job.key);
      if (holder !== undefined && live(s, holder, now) !== undefined) {
        outcomes.push({ id: holder, created: false });
        continue;
      }
    }
    const rec = newRec(job, ++s.counters.seq);
    admit(s, rec, now);
    wakeAt = Math.min(wakeAt, rec.runAt);
    created.push(rec);
    outcomes.push({ id: rec.id, created: true });
  }
  for (const rec of created) publish(s, rec);
  if (wakeUp && created.length > 0) wake(s, wakeAt);
  return outcomes;
}

/**
 * Expires leases, then takes the best due jobs of the given types. Each
 * lease gets a random token (tokens.ts): no one can guess a lease from a
 * job's id or from the order of claims.
 */
export function claimJobs(
  s: State,
  { types, limit, leaseMs, now }: ClaimRequest,
): JobRecord[] {
  housekeep(s, now);
  const out: JobRecord[] = [];
  while (out.length < limit) {
    const rec = next(s, types, now);
    if (rec === undefined) break;
    if (rec.expiresAt !== null && rec.expiresAt <= now) {
      drop(s, rec);
      continue;
    }
    rec.status = "processing";
    rec.attempt++;
    rec.startedAt = now;
    rec.lease = { token: randomToken(), until: now + leaseMs };
    touch(rec, now);
    lease(s, rec);
    publish(s, rec);
    out.push(toRecord(rec));
  }
  if (out.length < limit && s.limits.on) wakeForLimits(s, types, now);
  return out;
}

/** Extends a held lease; returns its new end. */
export function extendLease(
  s: State,
  ref: LeaseRef,
  leaseMs: number,
  now: number,
): number {
  const rec = held(s, ref);
  rec.lease!.until = now + leaseMs;
  lease(s, rec);
  return rec.lease!.until;
}

/** Sets progress and/or message of a held job. */
export function setProgress(
  s: State,
  ref: LeaseRef,
  { progress, message, now }: Parameters<Backend["update"]>[2],
): void {
  const rec = held(s, ref);
  if (progress !== undefined) rec.progress = progress;
  if (message !== undefined) rec.message = message;
  touch(rec, now);
  publish(s, rec);
}

/** Completes a held job. */
export function completeJob(
  s: State,
  ref: LeaseRef,
  result: string,
  now: number,
): void {
  const rec = held(s, ref);
  rec.result = result;
  finish(s, rec, "complete", now);
  publish(s, rec);
  if (rec.flow !== undefined) settled(s, rec, now);
  retain(s, rec, now);
}

/** Records a failed attempt: back to pending at `retryAt`, or failed. */
export function failJob(
  s: State,
  ref: LeaseRef,
  { error, retryAt, now }: Parameters<Backend["fail"]>[2],
): "pending" | "failed" {
  const rec = held(s, ref);
  rec.error = error;
  if (retryAt === null) {
    finish(s, rec, "failed", now);
  } else {
    rec.status = "pending";
    rec.lease = null;
    rec.runAt = retryAt;
    touch(rec, now);
    unlease(s, rec);
    schedule(s, rec, now);
    wake(s, retryAt);
  }
  publish(s, rec);
  const status = rec.status as "pending" | "failed";
  if (status === "failed") {
    if (rec.flow !== undefined) settled(s, rec, now);
    retain(s, rec, now);
  }
  return status;
}

/**
 * Gives held jobs back to pending, unstarted (due at `runAt` if given: a
 * snooze); leases that no longer hold are skipped. One wake for all;
 * returns the released ids in order.
 */
export function releaseJobs(
  s: State,
  refs: readonly LeaseRef[],
  now: number,
  runAt?: number,
): string[] {
  const ids: string[] = [];
  for (const ref of refs) {
    const rec = s.jobs.get(ref.id);
    if (
      rec === undefined || rec.status !== "processing" ||
      rec.lease?.token !== ref.token ||
      live(s, rec.id, now) === undefined
    ) continue;
    rec.status = "pending";
    rec.lease = null;
    rec.attempt--;
    if (runAt !== undefined) rec.runAt = runAt;
    touch(rec, now);
    unlease(s, rec);
    schedule(s, rec, now);
    publish(s, rec);
    ids.push(rec.id);
  }
  if (ids.length > 0) wake(s, runAt ?? now);
  return ids;
}

/** Cancels a live pending or processing job. */
export function cancelJob(
  s: State,
  id: string,
  reason: string,
  now: number,
): boolean {
  const rec = live(s, id, now);
  if (rec === undefined || !unfinished(rec)) return false;
  const wasProcessing = rec.status === "processing";
  rec.error = { name: "CancelledError", message: reason };
  finish(s, rec, "cancelled", now);
  if (wasProcessing) cancelRun(s, id);
  publish(s, rec);
  if (rec.flow !== undefined) settled(s, rec, now);
  retain(s, rec, now);
  return true;
}

/** Puts a failed or cancelled job back to pending, as new. */
export function retryJob(s: State, id: string, now: number): boolean {
  const rec = live(s, id, now);
  if (
    rec === undefined ||
    (rec.status !== "failed" && rec.status !== "cancelled")
  ) return false;
  if (rec.flow !== undefined) return retryFlowJob(s, rec, now);
  unfinish(s, rec);
  Object.assign(rec, {
    status: "pending",
    attempt: 0,
    runAt: now,
    error: null,
    result: null,
    progress: 0,
    message: "",
    completedAt: null,
  });
  if (rec.key !== null) {
    const holder = s.keys.get(rec.key);
    if (holder === undefined || live(s, holder, now) === undefined) {
      s.keys.set(rec.key, rec.id);
    }
  }
  touch(rec, now);
  schedule(s, rec, now);
  publish(s, rec);
  wake(s, now);
  return true;
}

/** Deletes a live job; a processing one gets a cancel signal. */
export function removeJob(s: State, id: string, now: number): boolean {
  const rec = live(s, id, now);
  if (rec === undefined) return false;
  if (rec.flow !== undefined && unfinished(rec)) {
    cancelJob(s, id, "job removed", now);
  }
  const wasProcessing = rec.status === "processing";
  drop(s, rec);
  if (wasProcessing) cancelRun(s, id);
  return true;
}

/** Reads a live job. */
export function getJob(s: State, id: string, now: number): JobRecord | null {
  const rec = live(s, id, now);
  return rec === undefined ? null : toRecord(rec);
}

/** Lists live jobs by ascending id. */
export function listJobs(
  s: State,
  { status, type, limit, after, now }: ListRequest,
): JobRecord[] {
  const out: JobRecord[] = [];
  const all = [...s.jobs.values()];
  if (!s.byId) all.sort((a, b) => (a.id < b.id ? -1 : 1));
  for (const rec of all) {
    if (out.length >= limit) break;
    if (after !== null && rec.id <= after) continue;
    if (status !== null && rec.status !== status) continue;
    if (type !== null && rec.type !== type) continue;
    if (live(s, rec.id, now) === undefined) continue;
    out.push(toRecord(rec));
  }
  return out;
}

/** Counts live jobs by status and type. */
export function queueStats(s: State, now: number): QueueStats {
  housekeep(s, now);
  const stats = emptyStats();
  for (const rec of s.jobs.values()) {
    if (rec.expiresAt !== null && rec.expiresAt <= now) continue;
    countJobs(stats, rec.type, rec.status);
  }
  return stats;
}

/**
 * Drops expired jobs, returns jobs whose lease ran out to pending (or
 * failed, after their last attempt) with a cancel signal, and makes due
 * delayed jobs claimable.
 */
function housekeep(s: State, now: number): void {
  for (
    let e = s.expiry.peek();
    e !== undefined && e.at <= now;
    e = s.expiry.peek()
  ) drop(s, e.rec);
  for (
    let e = s.leases.peek();
    e !== undefined && e.at <= now;
    e = s.leases.peek()
  ) {
    const rec = e.rec;
    unlease(s, rec);
    rec.error = { name: "LeaseExpiredError", message: "lease expired" };
    if (rec.attempt < rec.maxAttempts) {
      rec.status = "pending";
      rec.lease = null;
      rec.runAt = now;
      touch(rec, now);
      schedule(s, rec, now);
    } else {
      finish(s, rec, "failed", now);
    }
    cancelRun(s, rec.id);
    publish(s, rec);
    if (rec.status === "failed") {
      if (rec.flow !== undefined) settled(s, rec, now);
      retain(s, rec, now);
    }
  }
  unparkDue(s, now);
  for (
    let e = s.delayed.peek();
    e !== undefined && e.at <= now;
    e = s.delayed.peek()
  ) schedule(s, e.rec, now);
}

function touch(rec: Rec, now: number): void {
  rec.version++;
  rec.updatedAt = now;
}

function finish(
  s: State,
  rec: Rec,
  status: "complete" | "failed" | "cancelled",
  now: number,
): void {
  rec.status = status;
  rec.lease = null;
  rec.completedAt = now;
  unschedule(s, rec);
  unlease(s, rec);
  // A finished job is claimed again only after a retry: its lease entry
  // would be kept alive (and marked by every GC) for nothing till then.
  rec.inLeases = null;
  releaseKey(s, rec);
  touch(rec, now);
}
