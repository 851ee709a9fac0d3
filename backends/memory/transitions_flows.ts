/**
 * The flow transitions of the memory backend (SPEC §12): storing a flow,
 * reading it, cancelling it, the parents' results, and the step every
 * finishing transition ends with for a job of a flow (release the
 * dependents it was the last parent of, or cancel them, transitively), and
 * retry's re-arming. Each runs whole on one queue's state, so each is
 * atomic; none reads a clock of its own.
 *
 * @module
 */

import type {
  FlowRecord,
  NewFlowJobRecord,
  ParentResult,
} from "../../src/backend/interface_flows.ts";
import { cancelRun, publish, wake } from "./events.ts";
import {
  admit,
  type Finished,
  type FlowEntry,
  live,
  releaseKey,
  schedule,
  type State,
  unfinish,
  unlease,
  unschedule,
} from "./heap.ts";
import { newRec, type Rec } from "./records.ts";
import { retain } from "./retention.ts";

/** Stores a flow: jobs with parents wait, the others are pending. */
export function enqueueFlow(
  s: State,
  flow: { id: string; jobs: readonly NewFlowJobRecord[] },
  now: number,
): void {
  const entry: FlowEntry = {
    ids: new Set(),
    results: new Map(),
  };
  s.flows.set(flow.id, entry);
  const recs = flow.jobs.map((job) => {
    const { children, flow: link, ...plain } = job;
    const rec = newRec(plain, ++s.counters.seq);
    rec.flow = { ...link, parents: { ...link.parents } };
    rec.children = [...children];
    rec.waitingOn = Object.keys(link.parents).length;
    rec.blockedBy = null;
    rec.delay = rec.runAt - rec.createdAt;
    if (rec.waitingOn > 0) rec.status = "waiting";
    entry.ids.add(rec.id);
    admit(s, rec, now);
    return rec;
  });
  let wakeAt = Infinity;
  for (const rec of recs) {
    publish(s, rec);
    if (rec.status === "pending") wakeAt = Math.min(wakeAt, rec.runAt);
  }
  if (wakeAt !== Infinity) wake(s, wakeAt);
}

/** Reads a flow's stored jobs in enqueue order; null when none is. */
export function getFlow(s: State, id: string, now: number): FlowRecord | null {
  const entry = s.flows.get(id);
  if (entry === undefined) return null;
  const jobs = [];
  for (const jobId of entry.ids) {
    const rec = live(s, jobId, now);
    if (rec === undefined) continue;
    jobs.push({
      ref: rec.flow!.ref,
      id: rec.id,
      status: rec.status,
      parents: { ...rec.flow!.parents },
    });
  }
  return jobs.length === 0 ? null : { id, jobs };
}

/** Cancels every unfinished job of a flow; true if any changed. */
export function cancelFlow(
  s: State,
  id: string,
  reason: string,
  now: number,
): boolean {
  const entry = s.flows.get(id);
  if (entry === undefined) return false;
  const cancelled: Rec[] = [];
  for (const jobId of entry.ids) {
    const rec = live(s, jobId, now);
    if (rec === undefined || !unfinished(rec)) continue;
    const wasProcessing = rec.status === "processing";
    stop(s, rec, "cancelled", { name: "CancelledError", message: reason }, now);
    if (wasProcessing) cancelRun(s, rec.id);
    cancelled.push(rec);
  }
  for (const rec of cancelled) {
    publish(s, rec);
    settled(s, rec, now);
    retain(s, rec, now);
  }
  return cancelled.length > 0;
}

/** The finished parents' results of a job, by ref. */
export function parentResults(
  s: State,
  id: string,
  now: number,
): Record<string, ParentResult> {
  const rec = live(s, id, now);
  const out: Record<string, ParentResult> = {};
  if (rec?.flow === undefined) return out;
  const kept = s.flows.get(rec.flow.id)?.results;
  for (const [ref, parentId] of Object.entries(rec.flow.parents)) {
    const parent = live(s, parentId, now);
    const found = parent !== undefined && parent.completedAt !== null
      ? resultOf(parent)
      : kept?.get(parentId);
    if (found !== undefined) out[ref] = found;
  }
  return out;
}

/**
 * What a finishing transition of a flow job runs after publishing its
 * update and before its retention: keeps its result for its dependents,
 * and releases or cancels its waiting dependents
 * (transitively, without recursion: a chain may be 10,000 long).
 */
export function settled(s: State, first: Rec, now: number): void {
  const stack = [first];
  const retainLater: Rec[] = [];
  let wakeAt = Infinity;
  for (let rec = stack.pop(); rec !== undefined; rec = stack.pop()) {
    // Kept until the flow's last job goes (drop, heap.ts): a dependent
    // that failed may be retried after the flow had nothing unfinished.
    if (rec.children!.length > 0) {
      s.flows.get(rec.flow!.id)?.results.set(rec.id, resultOf(rec));
    }
    const failed = rec.status !== "complete";
    const message = failure(rec);
    for (const childId of rec.children!) {
      const child = live(s, childId, now);
      if (child === undefined || child.status !== "waiting") continue;
      if (failed && child.flow!.onParentFailure === "cancel") {
        const error = { name: "CancelledError", message };
        stop(s, child, "cancelled", error, now);
        child.blockedBy = rec.id;
        publish(s, child);
        stack.push(child);
        retainLater.push(child);
      } else if (--child.waitingOn! === 0) {
        child.status = "pending";
        child.runAt = now + child.delay!;
        touch(child, now);
        schedule(s, child, now);
        publish(s, child);
        wakeAt = Math.min(wakeAt, child.runAt);
      }
    }
  }
  for (const rec of retainLater) retain(s, rec, now);
  if (wakeAt !== Infinity) wake(s, wakeAt);
}

/**
 * Retry of a failed or cancelled flow job: back to waiting while a parent
 * is unfinished (its `runAt`, and so its delay, kept), else pending at
 * `now`; then the jobs it cancelled wait again, transitively, but one with
 * another parent failed or cancelled, which stays cancelled, naming that
 * parent now (its retry re-arms it); and its "continue" dependents that
 * had counted it finished wait for it again (one not started yet goes
 * back to waiting). A job that follows "cancel" with a parent failed or
 * cancelled is not retried (false): it would run without that parent;
 * retry that parent instead.
 */
export function retryFlowJob(s: State, first: Rec, now: number): boolean {
  if (
    first.flow!.onParentFailure === "cancel" &&
    failedParent(s, first, "", now) !== undefined
  ) return false;
  const stack = [first];
  let wakeAt = Infinity;
  for (let rec = stack.pop(); rec !== undefined; rec = stack.pop()) {
    unfinish(s, rec);
    // What it left before is no longer its result.
    s.flows.get(rec.flow!.id)?.results.delete(rec.id);
    Object.assign(rec, {
      attempt: 0,
      error: null,
      result: null,
      progress: 0,
      message: "",
      completedAt: null,
      blockedBy: null,
    });
    rec.waitingOn = Object.values(rec.flow!.parents).filter((id) => {
      const parent = live(s, id, now);
      return parent !== undefined && unfinished(parent);
    }).length;
    if (rec.waitingOn > 0) {
      rec.status = "waiting";
    } else {
      rec.status = "pending";
      rec.runAt = now;
      schedule(s, rec, now);
      wakeAt = Math.min(wakeAt, now);
    }
    touch(rec, now);
    publish(s, rec);
    for (const childId of rec.children!) {
      const child = live(s, childId, now);
      if (child === undefined) continue;
      if (child.status === "cancelled" && child.blockedBy === rec.id) {
        const other = failedParent(s, child, rec.id, now);
        if (other === undefined) stack.push(child);
        else {
          child.blockedBy = other.id;
          child.error = { name: "CancelledError", message: failure(other) };
          touch(child, now);
          publish(s, child);
        }
      } else if (child.flow!.onParentFailure === "continue") {
        if (child.status === "waiting") child.waitingOn!++;
        else if (child.status === "pending") {
          unschedule(s, child);
          child.status = "waiting";
          child.waitingOn = 1;
          touch(child, now);
          publish(s, child);
        }
      }
    }
  }
  if (wakeAt !== Infinity) wake(s, wakeAt);
  return true;
}

/** A parent of `rec` but `except` that failed or was cancelled, if any. */
function failedParent(
  s: State,
  rec: Rec,
  except: string,
  now: number,
): Rec | undefined {
  for (const id of Object.values(rec.flow!.parents)) {
    if (id === except) continue;
    const parent = live(s, id, now);
    if (parent?.status === "failed" || parent?.status === "cancelled") {
      return parent;
    }
  }
  return undefined;
}

/** The reason a dependent is cancelled with, naming its parent. */
function failure(parent: Rec): string {
  return `parent "${parent.flow!.ref}" ${
    parent.status === "failed" ? "failed" : "was cancelled"
  }`;
}

/** True for a job that has not finished. */
export function unfinished(rec: Rec): boolean {
  return rec.status === "waiting" || rec.status === "pending" ||
    rec.status === "processing";
}

/** What a finished job leaves its dependents. */
function resultOf(rec: Rec): ParentResult {
  return {
    status: rec.status as Finished,
    result: rec.result,
    error: rec.error === null ? null : { ...rec.error },
  };
}

/** Ends an unfinished job with a status and error (no publish, no retain). */
function stop(
  s: State,
  rec: Rec,
  status: Finished,
  error: { name: string; message: string },
  now: number,
): void {
  rec.status = status;
  rec.error = error;
  rec.lease = null;
  rec.completedAt = now;
  unschedule(s, rec);
  unlease(s, rec);
  releaseKey(s, rec);
  touch(rec, now);
}

function touch(rec: Rec, now: number): void {
  rec.version++;
  rec.updatedAt = now;
}
