/**
 * The state transitions of the SQLite backend, each a function run inside
 * one write transaction (see db.ts), and the reads (the claim is
 * transitions_claim.ts; it marks the lease tokens that complete and fail
 * end with the limits step of, limits.ts). A transition
 * that throws LeaseLostError must do so before it writes anything. One that
 * finishes a job ends with retention.ts's step, in the same transaction,
 * after the flow step (transitions_flows.ts) of a job of a flow: its
 * finishing row ends with a flow id, null for a plain job, the one value a
 * plain job's finish reads more.
 *
 * @module
 */

import type {
  JobRecord,
  LeaseRef,
  ListRequest,
} from "../../src/backend/interface.ts";
import { LeaseLostError } from "../../src/errors.ts";
import type { JobError, QueueStats } from "../../src/types.ts";
import type { Connection, Tx } from "./db.ts";
import { retain } from "./retention.ts";
import { dropExpired, stopped } from "./limits.ts";
import { LIMITED } from "./transitions_claim.ts";
import { finishedInFlow, retryFlowJob } from "./transitions_flows.ts";
import { type Row, statsOf, toRecord } from "./records.ts";
import * as SQL from "./sql.ts";
import { STATS, TALLY_COMPLETED } from "./sql_counts.ts";
import { tally } from "./tallies.ts";

/** A row of payload, then (for release) LIMITS_TAIL. */
type Payload = [string, ...unknown[]] | undefined;

/**
 * A finishing statement's row: payload, then seq, rule age, rule count,
 * then the flow id (null for a plain job), then LIMITS_TAIL (at 5; for
 * COMPLETE_LIMITED and FAIL_LIMITED, its type and group only).
 */
type Finishing = [string, number, number | null, number | null] | undefined;

/** Where LIMITS_TAIL starts in a finishing row. */
const TAIL = 5;

/** Expired jobs deleted per queue and housekeeping run, at most. */
const EXPIRED_BATCH = 500;

/** Extends a lease; returns its new end. */
export function extendLease(
  tx: Tx,
  queue: string,
  id: string,
  token: string,
  until: number,
): number {
  const row = tx.stmt(SQL.HEARTBEAT).get(queue, id, token, until) as
    | [number]
    | undefined;
  if (row === undefined) throw new LeaseLostError(id);
  return row[0];
}

/** Sets progress and/or message of a held job. */
export function setProgress(
  tx: Tx,
  queue: string,
  id: string,
  token: string,
  change: { progress?: number; message?: string; now: number },
): void {
  const row = tx.stmt(SQL.UPDATE_PROGRESS).get(
    queue,
    id,
    token,
    change.now,
    change.progress ?? null,
    change.message ?? null,
  ) as Payload;
  if (row === undefined) throw new LeaseLostError(id);
  tx.emit(queue, "u", id, row[0]);
}

/** Completes a held job. */
export function completeJob(
  tx: Tx,
  queue: string,
  id: string,
  token: string,
  result: string,
  now: number,
): void {
  const limited = token.includes(LIMITED);
  const row = tx.stmt(limited ? SQL.COMPLETE_LIMITED : SQL.COMPLETE).get(
    queue,
    id,
    token,
    now,
    result,
  ) as Finishing;
  if (row === undefined) throw new LeaseLostError(id);
  tx.emit(queue, "u", id, row[0]);
  if (limited) stopped(tx, queue, row, TAIL, now);
  finishedInFlow(tx, queue, id, "complete", row, 1, now);
  retain(tx, queue, "complete", now, row, 1);
}

/** One completion of a batch: the job, its lease token, result and time. */
export interface Completion {
  id: string;
  token: string;
  /** The result as JSON text. */
  result: string;
  now: number;
}

/** Where RETAIN and LIMITS_TAIL start in a row of COMPLETE_MANY: one
 * column later than in a finishing row, as the job's id comes first. */
const MANY_RETAIN = 2;
const MANY_TAIL = TAIL + 1;

/**
 * Completes held jobs in one statement (COMPLETE_MANY), then takes each
 * one's steps as completeJob does, in the order given: true for each
 * whose lease held. The jobs that statement left (a lease lost, a count
 * rule) and a job named again in the batch go through completeJob after
 * the others, in order, so that each count rule trims as its job finishes
 * and a later completion of one job finds its lease gone, as one call at
 * a time would.
 */
export function completeJobs(
  tx: Tx,
  queue: string,
  items: readonly Completion[],
): boolean[] {
  const done = items.map(() => false);
  const seen = new Set<string>();
  const first: number[] = [];
  const later: number[] = [];
  items.forEach((c, i) => {
    if (seen.has(c.id)) later.push(i);
    else (seen.add(c.id), first.push(i));
  });
  const list = JSON.stringify(first.map((i) => {
    const c = items[i]!;
    return [c.id, c.token, c.result, c.now];
  }));
  const completed = tx.stmt(SQL.COMPLETE_MANY).all(queue, list) as Row[];
  tally(
    tx,
    queue,
    TALLY_COMPLETED,
    completed,
    (row) => row[MANY_TAIL] as string,
  );
  const rows = new Map<unknown, Row>();
  for (const row of completed) rows.set(row[0], row);
  for (const i of first) {
    const { id, token, now } = items[i]!;
    const row = rows.get(id);
    if (row === undefined) {
      later.push(i);
      continue;
    }
    done[i] = true;
    tx.emit(queue, "u", id, row[1] as string);
    if (token.includes(LIMITED)) {
      stopped(tx, queue, row, MANY_TAIL, now);
    }
    finishedInFlow(tx, queue, id, "complete", row, MANY_RETAIN, now);
    retain(tx, queue, "complete", now, row, MANY_RETAIN);
  }
  for (const i of later.sort((a, b) => a - b)) {
    const { id, token, result, now } = items[i]!;
    try {
      completeJob(tx, queue, id, token, result, now);
      done[i] = true;
    } catch (err) {
      if (!(err instanceof LeaseLostError)) throw err;
    }
  }
  return done;
}

/** Records a failed attempt: back to pending at `retryAt`, or failed. */
export function failJob(
  tx: Tx,
  queue: string,
  id: string,
  token: string,
  failure: { error: JobError; retryAt: number | null; now: number },
): "pending" | "failed" {
  const { error, retryAt, now } = failure;
  const limited = token.includes(LIMITED);
  const row = tx.stmt(limited ? SQL.FAIL_LIMITED : SQL.FAIL).get(
    queue,
    id,
    token,
    now,
    JSON.stringify(error),
    retryAt,
  ) as Finishing;
  if (row === undefined) throw new LeaseLostError(id);
  if (retryAt !== null) tx.emit(queue, "w", null, String(retryAt));
  tx.emit(queue, "u", id, row[0]);
  if (limited) stopped(tx, queue, row, TAIL, now);
  if (retryAt !== null) return "pending";
  finishedInFlow(tx, queue, id, "failed", row, 1, now);
  retain(tx, queue, "failed", now, row, 1);
  return "failed";
}

/**
 * Gives held jobs back to pending, unstarted (due at `runAt` if given: a
 * snooze); leases that no longer hold are skipped. One wake for all;
 * returns the released ids in order.
 */
export function releaseJobs(
  tx: Tx,
  queue: string,
  leases: readonly LeaseRef[],
  now: number,
  runAt?: number,
): string[] {
  const ids: string[] = [];
  const release = tx.stmt(SQL.RELEASE);
  for (const { id, token } of leases) {
    const row = release.get(queue, now, id, token, runAt ?? null) as Payload;
    if (row === undefined) continue;
    tx.emit(queue, "u", id, row[0]);
    stopped(tx, queue, row, 1, now);
    ids.push(id);
  }
  if (ids.length > 0) tx.emit(queue, "w", null, String(runAt ?? now));
  return ids;
}

/** Cancels a live waiting, pending or processing job. */
export function cancelJob(
  tx: Tx,
  queue: string,
  id: string,
  reason: string,
  now: number,
): boolean {
  const before = tx.stmt(SQL.STATE_OF).get(queue, now, id) as
    | [number]
    | undefined;
  if (before === undefined || before[0] === 3) return false;
  const error = JSON.stringify({ name: "CancelledError", message: reason });
  const row = tx.stmt(SQL.CANCEL).get(queue, now, id, error) as Finishing;
  if (row === undefined) return false;
  if (before[0] === 2) {
    tx.emit(queue, "c", id, null);
    stopped(tx, queue, row, TAIL, now);
  }
  tx.emit(queue, "u", id, row[0]);
  finishedInFlow(tx, queue, id, "cancelled", row, 1, now);
  retain(tx, queue, "cancelled", now, row, 1);
  return true;
}

/**
 * Puts a failed or cancelled job back to pending (a flow job: to waiting
 * when a parent is unfinished, re-arming its dependents).
 */
export function retryJob(
  tx: Tx,
  queue: string,
  id: string,
  now: number,
): boolean {
  dropExpired(tx, queue, now, SQL.DROP_EXPIRED_HOLDER_OF, id);
  const row = tx.stmt(SQL.RETRY).get(queue, now, id) as Payload;
  if (row === undefined) return retryFlowJob(tx, queue, id, now);
  tx.emit(queue, "u", id, row[0]);
  tx.emit(queue, "w", null, String(now));
  return true;
}

/**
 * Deletes a live job; a processing one gets a cancel event. An unfinished
 * flow job is cancelled first, with its dependents.
 */
export function removeJob(
  tx: Tx,
  queue: string,
  id: string,
  now: number,
): boolean {
  const row = tx.stmt(SQL.REMOVE).get(queue, now, id);
  if (row === undefined) {
    if (!cancelJob(tx, queue, id, "job removed", now)) return false;
    tx.stmt(SQL.REMOVE).get(queue, now, id); // none if its rule removed it
    return true;
  }
  if (row[0] === 2) {
    tx.emit(queue, "c", id, null);
    stopped(tx, queue, row, 1, now);
  }
  return true;
}

/** Reads a live job. */
export function getJob(
  c: Connection,
  queue: string,
  id: string,
  now: number,
): JobRecord | null {
  const row = c.stmt(SQL.GET).get(queue, now, id) as Row | undefined;
  return row === undefined ? null : toRecord(row);
}

/** Lists live jobs by id. */
export function listJobs(
  c: Connection,
  queue: string,
  { status, type, limit, after, now }: ListRequest,
): JobRecord[] {
  const rows = c.stmt(SQL.LIST).all(
    queue,
    now,
    after ?? "",
    limit,
    status,
    type,
  ) as Row[];
  return rows.map(toRecord);
}

/** Counts live jobs by status and type (kept counts: sql_counts.ts). */
export function queueStats(
  c: Connection,
  queue: string,
  now: number,
): QueueStats {
  return statsOf(c.stmt(STATS).all(queue, now) as Row[]);
}

/** Deletes a bounded batch of expired jobs per queue, each by its clock. */
export function deleteExpired(
  tx: Tx,
  lastNow: ReadonlyMap<string, number>,
): void {
  for (const [queue, now] of lastNow) {
    dropExpired(tx, queue, now, SQL.DELETE_EXPIRED, EXPIRED_BATCH);
  }
}
