/**
 * Retention in the memory backend: the step a finishing transition ends
 * with (the job's keep rule, then a bounded sweep of jobs whose removal time
 * has passed) and clean(). Finished jobs are indexed by status in the order
 * they finished and, with an age rule, in a heap by removal time, so
 * neither step scans every job. It must never publish: a removed job's last
 * update was published by the transition that finished it.
 *
 * @module
 */

import type { CleanRequest } from "../../src/backend/interface.ts";
import { drop, type Finished, type State } from "./heap.ts";
import type { Rec } from "./records.ts";

/** The most jobs past their removal time that one finishing step deletes. */
const SWEEP = 100;

/**
 * Applies a job's keep rule as it finishes (after its update went out):
 * deletes it at once (age 0), or indexes it and trims its status to the
 * rule's count; then deletes due removals.
 */
export function retain(s: State, rec: Rec, now: number): void {
  const status = rec.status as Finished;
  const rule = status === "complete" ? rec.keep.complete : rec.keep.failed;
  if (rule.age === 0) {
    drop(s, rec);
  } else {
    const done = s.finished[status];
    done.set(rec.id, rec);
    if (rule.age !== null) {
      rec.inRemovals = { rec, at: now + rule.age, i: -1 };
      s.removals.push(rec.inRemovals);
    }
    if (rule.count !== null) {
      for (const old of done.values()) {
        if (done.size <= rule.count) break;
        drop(s, old);
      }
    }
  }
  sweep(s, now);
}

/** Deletes up to SWEEP jobs whose removal time has come. */
export function sweep(s: State, now: number): void {
  for (let n = 0; n < SWEEP; n++) {
    const e = s.removals.peek();
    if (e === undefined || e.at > now) return;
    drop(s, e.rec);
  }
}

/** Deletes up to `limit` jobs of one status, oldest first. */
export function cleanJobs(
  s: State,
  { status, cutoff, type, limit, now }: CleanRequest,
): number {
  const victims: Rec[] = [];
  if (status === "pending") {
    for (const rec of s.jobs.values()) {
      if (victims.length >= limit || rec.createdAt > cutoff) break;
      if (
        rec.status === "pending" && rec.flow === undefined &&
        (type === null || rec.type === type)
      ) {
        victims.push(rec);
      }
    }
  } else {
    for (const rec of s.finished[status].values()) {
      if (victims.length >= limit || rec.completedAt! > cutoff) break;
      if (type === null || rec.type === type) victims.push(rec);
    }
  }
  let removed = 0;
  for (const rec of victims) {
    if (rec.expiresAt === null || rec.expiresAt > now) removed++;
    drop(s, rec);
  }
  return removed;
}
