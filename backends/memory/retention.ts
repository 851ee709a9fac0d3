/**
 * Retention in the memory backend: the step a finishing transition ends
 * with (the job's keep rule, then a bounded sweep of jobs whose removal time
 * has passed) and clean(). Finished jobs are kept in a FIFO per status in
 * the order they finished and, with an age rule, in a FIFO per age by
 * removal time (fifo.ts): O(1) per job, no allocation per entry, and
 * neither step scans every job. A removal time that comes out of order (an
 * imported job, a clock moved back) goes to a small heap instead. It must
 * never publish: a removed job's last update was published by the
 * transition that finished it.
 *
 * @module
 */

import type { CleanRequest, KeepRule } from "../../src/backend/interface.ts";
import { Fifo, removalLive } from "./fifo.ts";
import { drop, type Finished, type State } from "./heap.ts";
import type { Entry, Rec } from "./records.ts";

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
    index(s, rec, rule, now);
    if (rule.count !== null) trim(s, status, rule.count);
  }
  sweep(s, now);
}

/**
 * Puts a finished job in its status's FIFO and, with an age rule, in the
 * removals at `finishedAt + age`.
 */
export function index(
  s: State,
  rec: Rec,
  rule: KeepRule,
  finishedAt: number,
): void {
  rec.finishStamp = ++s.finishSeq;
  s.finished[rec.status as Finished].push(rec, rec.finishStamp);
  if (rule.age === null) return;
  const at = finishedAt + rule.age;
  rec.removeAt = at;
  let fifo = s.removals.get(rule.age);
  if (fifo === undefined) {
    s.removals.set(rule.age, fifo = new Fifo(removalLive));
  }
  if (at >= fifo.last) {
    fifo.push(rec, at);
    rec.removeIn = fifo;
  } else {
    const entry: Entry = { rec, at, i: -1 };
    s.lateRemovals.push(entry);
  }
}

/** Keeps only the newest `count` finished jobs of a status. */
function trim(s: State, status: Finished, count: number): void {
  const fifo = s.finished[status];
  while (fifo.live > count) {
    const first = fifo.first();
    if (first === undefined) return;
    drop(s, first[0]);
  }
}

/** Deletes up to SWEEP jobs whose removal time has come. */
export function sweep(s: State, now: number): void {
  let n = 0;
  for (const fifo of s.removals.values()) {
    while (n < SWEEP) {
      const first = fifo.first();
      if (first === undefined || first[1] > now) break;
      drop(s, first[0]);
      n++;
    }
  }
  for (
    let e = s.lateRemovals.peek();
    n < SWEEP && e !== undefined && e.at <= now;
    e = s.lateRemovals.peek()
  ) {
    s.lateRemovals.pop();
    if (e.rec.removeAt === e.at) {
      drop(s, e.rec);
      n++;
    }
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
    const fifo = s.finished[status];
    for (const [rec] of fifo.entries()) {
      if (victims.length >= limit) break;
      if (rec.completedAt! > cutoff) {
        if (fifo.ordered) break;
        continue;
      }
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
