/**
 * The flow transitions of the SQLite backend (SPEC §12), each run inside
 * one write transaction like those of transitions.ts: storing a flow,
 * cancelling one, reading one and its parents' results; and the flow steps
 * that transitions.ts calls from complete, fail, claim (a lease run out on
 * the last attempt), cancel and retry, in the same transaction, only for a
 * flow job (a plain job's finishing row has a null flow id: no statement
 * more).
 *
 * A step over dependents is one statement per job whose dependents it
 * touches (release, cancel, re-arm: sql_flows.ts), so a release or a
 * cascade touches at most the flow's jobs. It never emits for a job it did
 * not change, and applies a cancelled dependent's keep rule after its
 * update (the sweep of due removals is left to the caller's retention).
 *
 * @module
 */

import type {
  FlowLink,
  FlowRecord,
  NewFlowJobRecord,
  ParentResult,
} from "../../src/backend/interface_flows.ts";
import type { JobError, JobStatus } from "../../src/types.ts";
import type { Connection, Tx } from "./db.ts";
import { type Finished, sweep, trim } from "./retention.ts";
import { pendingPayload, type Row } from "./records.ts";
import * as SQL from "./sql_flows.ts";
import { DELETE_JOB } from "./sql_retention.ts";
import { laneFor, stopped } from "./limits.ts";
import { LIMITS_GET } from "./sql_limits.ts";

/** A job whose failure or cancel its waiting dependents follow. */
interface Fallen {
  id: string;
  ref: string;
  /** Its dependents' ids, as JSON. */
  children: string;
  verb: "failed" | "was cancelled";
}

/** Stores every job of a flow (see BackendFlows.enqueueFlow). */
export function enqueueFlow(
  tx: Tx,
  queue: string,
  flowId: string,
  jobs: readonly NewFlowJobRecord[],
  now: number,
): void {
  const insert = tx.stmt(SQL.INSERT_FLOW_JOB);
  let wakeAt = Infinity;
  for (const job of jobs) {
    const { flow, keep } = job;
    const parents = Object.keys(flow.parents).length;
    const waiting = parents > 0;
    const [seq] = insert.get(
      queue,
      job.id,
      job.type,
      job.data,
      job.priority,
      job.maxAttempts,
      job.runAt,
      job.createdAt,
      job.metadata,
      waiting ? -1 : job.runAt > now ? 1 : 0,
      waiting ? "waiting" : "pending",
      keep.complete.age,
      keep.complete.count,
      keep.failed.age,
      keep.failed.count,
      flowId,
      JSON.stringify({
        id: flowId,
        ref: flow.ref,
        parents: flow.parents,
        onParentFailure: flow.onParentFailure,
      }),
      job.children.length > 0 ? JSON.stringify(job.children) : null,
      parents,
      job.group ?? null,
    )!;
    const due = !waiting && job.runAt <= now;
    if (due && job.group !== undefined) laneFor(tx, queue, job, seq as number);
    const status = waiting ? "waiting" : "pending";
    tx.emit(
      queue,
      "u",
      job.id,
      pendingPayload(job.type, job.createdAt, status),
    );
    if (!waiting && job.runAt < wakeAt) wakeAt = job.runAt;
  }
  if (wakeAt !== Infinity) tx.emit(queue, "w", null, String(wakeAt));
}

/**
 * The flow step of a job that has just finished, before its own retention
 * (`row[at..]`: its seq, rule age and count, then FLOW_TAIL, sql.ts); a
 * plain job (null flow id) costs this one test. A job with dependents
 * keeps what it left for them, then releases them (complete) or makes them
 * follow its failure (failed, cancelled). The kept results go with the
 * flow's last stored job (jobline_flow_gone, sql_flows_schema.ts): a job
 * that failed may be retried after every other one finished.
 */
export function finishedInFlow(
  tx: Tx,
  queue: string,
  id: string,
  status: Finished,
  row: Row,
  at: number,
  now: number,
): void {
  const flowId = row[at + 3] as string | null;
  if (flowId === null) return;
  const seq = row[at] as number;
  const [ref, children] = tx.stmt(SQL.FLOW_OF).get(seq) as [
    string,
    string | null,
  ];
  if (children === null) return;
  tx.stmt(SQL.KEEP_RESULT).run(seq);
  if (status === "complete") {
    release(tx, queue, children, now, false);
  } else {
    const verb = status === "failed" ? "failed" : "was cancelled";
    cascade(tx, queue, { id, ref, children, verb }, now);
  }
}

/**
 * Waiting dependents count one finished parent fewer; those at zero become
 * pending (with an update each, one wake for the earliest).
 */
function release(
  tx: Tx,
  queue: string,
  children: string,
  now: number,
  continueOnly: boolean,
): void {
  const rows = tx.stmt(SQL.RELEASE_DEPENDENTS).all(
    queue,
    now,
    children,
    continueOnly ? 1 : 0,
  );
  let wakeAt = Infinity;
  for (const [id, state, runAt, payload] of rows) {
    if (state === -1) continue;
    tx.emit(queue, "u", id as string, payload as string);
    if ((runAt as number) < wakeAt) wakeAt = runAt as number;
  }
  if (wakeAt !== Infinity) tx.emit(queue, "w", null, String(wakeAt));
}

/**
 * Cancels the waiting dependents of a fallen job that follow "cancel",
 * theirs in turn, and releases those that "continue"; keep rules applied
 * as a cancel applies them (count trims once per distinct count, at the
 * end: the same jobs go as trimming after each).
 */
function cascade(tx: Tx, queue: string, first: Fallen, now: number): void {
  const todo = [first];
  const counts = new Set<number>();
  const cancel = tx.stmt(SQL.CANCEL_DEPENDENTS);
  for (let i = 0; i < todo.length; i++) {
    const parent = todo[i]!;
    const error = JSON.stringify({
      name: "CancelledError",
      message: `parent ${JSON.stringify(parent.ref)} ${parent.verb}`,
    });
    const rows = cancel.all(queue, now, parent.children, error, parent.id);
    for (const [id, payload, seq, age, count, ref, children] of rows) {
      tx.emit(queue, "u", id as string, payload as string);
      if (children !== null) {
        tx.stmt(SQL.KEEP_RESULT).run(seq as number);
        todo.push({
          id: id as string,
          ref: ref as string,
          children: children as string,
          verb: "was cancelled",
        });
      }
      if (age === 0) tx.stmt(DELETE_JOB).run(seq as number);
      else if (count !== null) counts.add(count as number);
    }
    release(tx, queue, parent.children, now, true);
  }
  for (const count of counts) trim(tx, queue, "cancelled", count);
}

/**
 * Retries a failed or cancelled flow job (see RETRY_FLOW_JOB), then puts
 * back to waiting the dependents it cancelled, transitively (but those
 * with another parent failed or cancelled, which stay cancelled by it),
 * and the "continue" dependents of every job back to work wait for it
 * again.
 */
export function retryFlowJob(
  tx: Tx,
  queue: string,
  id: string,
  now: number,
): boolean {
  const row = tx.stmt(SQL.RETRY_FLOW_JOB).get(queue, now, id);
  if (row === undefined) return false;
  const [payload, state, flowId, children] = row as [
    string,
    number,
    string,
    string | null,
  ];
  tx.emit(queue, "u", id, payload);
  if (state === 0) tx.emit(queue, "w", null, String(now));
  const back = [id];
  if (children !== null) rearm(tx, queue, { id, children }, back, now);
  tx.stmt(SQL.FORGET_RESULTS).run(queue, flowId, JSON.stringify(back));
  return true;
}

/**
 * Re-arms the jobs `first` cancelled, transitively, but those with another
 * parent failed or cancelled (cancelled by that one now); adds their ids
 * to `back`. Then the "continue" dependents of these jobs back to work
 * count them unfinished again: those released and not started yet wait.
 */
function rearm(
  tx: Tx,
  queue: string,
  first: { id: string; children: string },
  back: string[],
  now: number,
): void {
  const todo = [first];
  const armed: string[] = [];
  const statement = tx.stmt(SQL.REARM_DEPENDENTS);
  const reblock = tx.stmt(SQL.REBLOCK_DEPENDENTS);
  for (let i = 0; i < todo.length; i++) {
    const { id, children } = todo[i]!;
    for (const [child, payload] of reblock.all(queue, now, children, id)) {
      tx.emit(queue, "u", child as string, payload as string);
    }
    for (
      const [child, payload, grand] of statement.all(
        queue,
        now,
        children,
        id,
      )
    ) {
      tx.emit(queue, "u", child as string, payload as string);
      armed.push(child as string);
      if (grand !== null) {
        todo.push({ id: child as string, children: grand as string });
      }
    }
  }
  const unreleased: string[] = [];
  for (const { children } of todo) {
    for (
      const [child, payload] of tx.stmt(SQL.UNRELEASE_DEPENDENTS).all(
        queue,
        now,
        children,
      )
    ) {
      tx.emit(queue, "u", child as string, payload as string);
    }
    for (const [child] of tx.stmt(SQL.WAITING_CONTINUE).all(queue, children)) {
      unreleased.push(child as string);
    }
  }
  // Counted once all are back: a parent re-armed in this step counts.
  const recount = [...armed, ...unreleased];
  if (recount.length > 0) {
    tx.stmt(SQL.WAITING_ON_RECOUNT).run(queue, JSON.stringify(recount));
  }
  back.push(...armed);
}

/** Cancels every unfinished job of a flow; true if any changed. */
export function cancelFlow(
  tx: Tx,
  queue: string,
  flowId: string,
  reason: string,
  now: number,
): boolean {
  const processing = tx.stmt(SQL.FLOW_PROCESSING).all(queue, flowId);
  const error = JSON.stringify({ name: "CancelledError", message: reason });
  const rows = tx.stmt(SQL.CANCEL_FLOW).all(queue, now, flowId, error);
  if (rows.length === 0) return false;
  const limits = tx.stmt(LIMITS_GET).get(queue)?.[0] ?? null;
  for (const [id, type, group] of processing) {
    tx.emit(queue, "c", id as string, null);
    stopped(tx, queue, [type, group, limits], 0, now);
  }
  const counts = new Set<number>();
  for (const [id, payload, seq, age, count] of rows) {
    tx.emit(queue, "u", id as string, payload as string);
    if (age === 0) tx.stmt(DELETE_JOB).run(seq as number);
    else if (count !== null) counts.add(count as number);
  }
  for (const count of counts) trim(tx, queue, "cancelled", count);
  sweep(tx, queue, now);
  return true;
}

/** Reads a flow's stored jobs in enqueue order; null when none. */
export function getFlow(
  c: Connection,
  queue: string,
  id: string,
  now: number,
): FlowRecord | null {
  const rows = c.stmt(SQL.GET_FLOW).all(queue, now, id);
  if (rows.length === 0) return null;
  return {
    id,
    jobs: rows.map(([job, status, text]) => {
      const { ref, parents } = JSON.parse(text as string) as FlowLink;
      return { ref, id: job as string, status: status as JobStatus, parents };
    }),
  };
}

/** What the finished parents of a job left, by ref. */
export function parentResults(
  c: Connection,
  queue: string,
  id: string,
  now: number,
): Record<string, ParentResult> {
  const results: Record<string, ParentResult> = {};
  for (const row of c.stmt(SQL.PARENT_RESULTS).all(queue, now, id)) {
    // The job itself when stored (unfinished: left out), else its copy.
    const at = row[1] !== null ? 1 : 4;
    const result = resultOf(row, at);
    if (result !== null) results[row[0] as string] = result;
  }
  return results;
}

/** The result of `[status, result, error]` at `at`; null unless finished. */
function resultOf(row: Row, at: number): ParentResult | null {
  const status = row[at] as JobStatus | null;
  if (status === "complete") {
    return { status, result: row[at + 1] as string, error: null };
  }
  if (status !== "failed" && status !== "cancelled") return null;
  const error = row[at + 2] as string | null;
  return {
    status,
    result: null,
    error: error === null ? null : JSON.parse(error) as JobError,
  };
}
