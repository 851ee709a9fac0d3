/**
 * The schedule transitions of the SQLite backend (SPEC §8): put, remove,
 * list, and fire, which moves a schedule on and enqueues its job in one
 * write transaction, only if the schedule still has the version the caller
 * read. The job goes in through transitions.ts's enqueue, so a fired job is
 * stored, keyed and announced as an enqueued one is. Like transitions.ts,
 * none reads a clock of its own.
 *
 * @module
 */

import type {
  EnqueueOutcome,
  ScheduleFire,
  ScheduleRecord,
} from "../../src/backend/interface.ts";
import type { Connection, Tx } from "./db.ts";
import { type Row, scheduleOf } from "./records.ts";
import * as SQL from "./sql_schedule.ts";
import { enqueueJobs } from "./transitions_enqueue.ts";

/** Creates or replaces a schedule; one stored as it is stays untouched. */
export function putSchedule(
  tx: Tx,
  queue: string,
  put: Omit<ScheduleRecord, "version">,
): ScheduleRecord {
  const { name, definition, nextRunAt } = put;
  const row = tx.stmt(SQL.PUT_SCHEDULE).get(
    queue,
    name,
    definition,
    nextRunAt,
  ) ?? tx.stmt(SQL.GET_SCHEDULE).get(queue, name);
  return scheduleOf(row as Row);
}

/** Deletes a schedule, keeping its version's mark; true if it existed. */
export function removeSchedule(tx: Tx, queue: string, name: string): boolean {
  const row = tx.stmt(SQL.REMOVE_SCHEDULE).get(queue, name) as Row | undefined;
  if (row === undefined) return false;
  tx.stmt(SQL.REMOVED_VERSION).run(queue, row[0] as number);
  return true;
}

/** Every schedule by name, or those due by `dueBy` by next occurrence. */
export function listSchedules(
  c: Connection,
  queue: string,
  dueBy: number | null,
): ScheduleRecord[] {
  const rows = dueBy === null
    ? c.stmt(SQL.ALL_SCHEDULES).all(queue)
    : c.stmt(SQL.DUE_SCHEDULES).all(queue, dueBy);
  return rows.map(scheduleOf);
}

/**
 * Fires a schedule at the version the caller read: moves it to its next
 * occurrence and enqueues its job, in the caller's transaction. Null when
 * the schedule is gone or changed since (another process fired or
 * replaced it).
 */
export function fireSchedule(
  tx: Tx,
  queue: string,
  fire: ScheduleFire,
  now: number,
): EnqueueOutcome | null {
  const moved = tx.stmt(SQL.FIRE_SCHEDULE).get(
    queue,
    fire.name,
    fire.version,
    fire.nextRunAt,
  );
  if (moved === undefined) return null;
  return enqueueJobs(tx, queue, [fire.job], now)[0]!;
}
