/**
 * Retention in the memory backend: the step a finishing transition ends
 * with (the job's keep rule, then a bounded sweep of jobs whose removal time
 * has passed) and clean(). Finished jobs are kept in one FIFO per status and
 * keep age, in the order they finished (fifo.ts): with one age, finish order
 * is removal order, so one entry per job serves the sweep, the count rule
 * and clean alike, and the default retention costs a drain what keeping
 * every job does. O(1) per job, no allocation per entry, and no step scans
 * every job. A job that finishes before one finished already (an imported
 * job, a clock moved back) also goes to a small heap by removal time. It
 * must never publish: a removed job's last update was published by the
 * transition that finished it.
 *
 * @module
 */

import type { CleanRequest, KeepRule } from "../../src/backend/interface.ts";
import { Fifo, finishedLive } from "./fifo.ts";
import { drop, type Finished, type State } from "./heap.ts";
import type { Entry, Rec } from "./records.ts";

/** The most jobs past their removal time that one finishing step deletes. */
const SWEEP = 100;

/** The FIFO key of jobs kept with no age rule. */
const NO_AGE = -1;

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
 * Puts a finished job in the FIFO of its status and keep age and, with an
 * age rule, gives it its removal time `finishedAt + age`.
 */
export function index(
  s: State,
  rec: Rec,
  rule: KeepRule,
  finishedAt: number,
): void {
  const status = rec.status as Finished;
  const age = rule.age ?? NO_AGE;
  let fifo = s.finished[status].get(age);
  if (fifo === undefined) {
    s.finished[status].set(age, fifo = new Fifo(finishedLive));
  }
  const late = finishedAt < fifo.lastAt;
  rec.finishStamp = ++s.finishSeq;
  rec.finishedIn = fifo;
  fifo.push(rec, rec.finishStamp, finishedAt);
  s.finishedLive[status]++;
  if (rule.age === null) return;
  const at = finishedAt + rule.age;
  rec.removeAt = at;
  if (at < s.nextRemoval) s.nextRemoval = at;
  if (late) s.lateRemovals.push({ rec, at, i: -1 } satisfies Entry);
}

/** The FIFO of `status` whose first live job finished first, if any. */
function oldest(s: State, status: Finished): Fifo | undefined {
  let best: Fifo | undefined;
  let stamp = Infinity;
  for (const fifo of s.finished[status].values()) {
    const rec = fifo.head();
    if (rec !== undefined && rec.finishStamp < stamp) {
      best = fifo;
      stamp = rec.finishStamp;
    }
  }
  return best;
}

/** Keeps only the newest `count` finished jobs of a status. */
function trim(s: State, status: Finished, count: number): void {
  while (s.finishedLive[status] > count) {
    const fifo = oldest(s, status);
    if (fifo === undefined) return;
    drop(s, fifo.head()!);
  }
}

/**
 * Deletes up to SWEEP jobs whose removal time has come. Nothing is due
 * before `s.nextRemoval` (the earliest removal time indexed, or earlier),
 * so a finishing job checks one number until then; the sweep sets it again
 * from what it leaves. A FIFO's first job that is not due yet stops its
 * walk: those behind it are due later, or are in the late heap too.
 */
export function sweep(s: State, now: number): void {
  if (now < s.nextRemoval) return;
  let n = 0;
  let next = Infinity;
  for (const shelf of Object.values(s.finished)) {
    for (const [age, fifo] of shelf) {
      if (age === NO_AGE) continue;
      for (let rec = fifo.head(); rec !== undefined; rec = fifo.head()) {
        if (rec.removeAt > now || n >= SWEEP) {
          next = Math.min(next, rec.removeAt);
          break;
        }
        drop(s, rec);
        n++;
      }
    }
  }
  for (
    let e = s.lateRemovals.peek();
    e !== undefined;
    e = s.lateRemovals.peek()
  ) {
    if (e.rec.removeAt !== e.at) {
      s.lateRemovals.pop();
    } else if (e.at > now || n >= SWEEP) {
      next = Math.min(next, e.at);
      break;
    } else {
      s.lateRemovals.pop();
      drop(s, e.rec);
      n++;
    }
  }
  s.nextRemoval = next;
}

/** Deletes up to `limit` jobs of one status, oldest first. */
export function cleanJobs(
  s: State,
  { status, cutoff, type, limit, now }: CleanRequest,
): number {
  const victims: Rec[] = [];
  if (status === "pending") {
    // Every job is read: the store's order is not creation order (an
    // import keeps each job's createdAt), and cleaning is no hot path.
    for (const rec of s.jobs.values()) {
      if (
        rec.status === "pending" && rec.flow === undefined &&
        rec.createdAt <= cutoff && (type === null || rec.type === type)
      ) {
        victims.push(rec);
      }
    }
    // The oldest first, as the other backends take them.
    if (victims.length > limit) {
      victims.sort((a, b) => a.createdAt - b.createdAt || a.seq - b.seq);
      victims.length = limit;
    }
  } else {
    for (const fifo of s.finished[status].values()) {
      let taken = 0;
      for (const [rec] of fifo.entries()) {
        if (taken >= limit) break;
        if (rec.completedAt! > cutoff) {
          if (fifo.ordered) break;
          continue;
        }
        if (type === null || rec.type === type) {
          victims.push(rec);
          taken++;
        }
      }
    }
    // The oldest first across the FIFOs, as one FIFO would give them.
    victims.sort((a, b) => a.finishStamp - b.finishStamp);
    victims.length = Math.min(victims.length, limit);
  }
  let removed = 0;
  for (const rec of victims) {
    if (rec.expiresAt === null || rec.expiresAt > now) removed++;
    drop(s, rec);
  }
  return removed;
}
