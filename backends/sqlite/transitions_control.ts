/**
 * The flow-control transitions of the SQLite backend (pause, resume,
 * reschedule), each run inside one write transaction like those of
 * transitions.ts; the claim there reads the pause table in its own
 * transaction.
 *
 * @module
 */

import { pausedStateOf } from "../../src/backend/paused.ts";
import type { Connection, Tx } from "./db.ts";
import * as SQL from "./sql_control.ts";

/** Pauses or resumes the queue (`type` null) or a type; true if it changed. */
export function setPaused(
  tx: Tx,
  queue: string,
  type: string | null,
  paused: boolean,
  now: number,
): boolean {
  const row = tx.stmt(paused ? SQL.PAUSE : SQL.RESUME).get(queue, type ?? "");
  if (row === undefined) return false;
  if (paused) tx.emit(queue, "p", null, JSON.stringify(type));
  else tx.emit(queue, "w", null, String(now));
  return true;
}

/** Whether the queue is paused, and its paused types. */
export function pausedState(
  c: Connection,
  queue: string,
): { queue: boolean; types: string[] } {
  return pausedStateOf(c.stmt(SQL.PAUSED).all(queue).map((r) => r[0]));
}

/** Moves a live pending job to a new runAt and/or priority. */
export function rescheduleJob(
  tx: Tx,
  queue: string,
  id: string,
  change: { runAt?: number; priority?: number; now: number },
): boolean {
  const { now } = change;
  const before = tx.stmt(SQL.PENDING_RUN_AT).get(queue, now, id);
  if (before === undefined) return false;
  const runAt = change.runAt ?? null;
  const row = tx.stmt(SQL.RESCHEDULE).get(
    queue,
    now,
    id,
    runAt,
    change.priority ?? null,
  ) as [string] | undefined;
  if (row === undefined) return false;
  tx.emit(queue, "u", id, row[0]);
  if (runAt !== null && runAt < Number(before[0])) {
    tx.emit(queue, "w", null, String(runAt));
  }
  return true;
}
