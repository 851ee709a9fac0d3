/**
 * The schedule SQL of the SQLite backend (SPEC §8), as named constants
 * beside sql.ts, which holds the schema (the schedules table and its index
 * by next occurrence are its migration 4). Each statement reads one queue's
 * rows through the primary key or the index; none scans the table. A
 * schedule row is returned as `[name, definition, next_run_at, version]`.
 * Runs nothing.
 *
 * @module
 */

/** The columns of a schedule row, in the order records.ts reads them. */
const SCHEDULE = "name, definition, next_run_at, version";

/**
 * ?1 queue, ?2 name, ?3 definition, ?4 next_run_at: creates a schedule at
 * version 1, or replaces one with another definition at version + 1. No
 * row when the stored definition is the same (the row is left as it is).
 */
export const PUT_SCHEDULE = `INSERT INTO jobline_schedules
  (queue, name, definition, next_run_at, version)
VALUES (?1, ?2, ?3, ?4, 1)
ON CONFLICT (queue, name) DO UPDATE SET definition = excluded.definition,
  next_run_at = excluded.next_run_at, version = version + 1
  WHERE definition <> excluded.definition
RETURNING ${SCHEDULE}`;

/** ?1 queue, ?2 name: one schedule. */
export const GET_SCHEDULE = `SELECT ${SCHEDULE} FROM jobline_schedules
  WHERE queue = ?1 AND name = ?2`;

/** ?1 queue, ?2 name: a row if the schedule existed. */
export const REMOVE_SCHEDULE = `DELETE FROM jobline_schedules
  WHERE queue = ?1 AND name = ?2 RETURNING name`;

/** ?1 queue: every schedule of the queue, by name. */
export const ALL_SCHEDULES = `SELECT ${SCHEDULE} FROM jobline_schedules
  WHERE queue = ?1 ORDER BY name`;

/**
 * ?1 queue, ?2 due by: the schedules whose next occurrence is at or before
 * ?2, soonest first, read from jobline_schedules_due (whose entries end
 * with the name, so the order needs no sorting).
 */
export const DUE_SCHEDULES = `SELECT ${SCHEDULE} FROM jobline_schedules
  WHERE queue = ?1 AND next_run_at <= ?2 ORDER BY next_run_at, name`;

/**
 * ?1 queue, ?2 name, ?3 version read, ?4 next_run_at: moves a schedule that
 * still has version ?3 on to its next occurrence (the compare-and-set of a
 * fire). A row if it did.
 */
export const FIRE_SCHEDULE = `UPDATE jobline_schedules
  SET next_run_at = ?4, version = version + 1
  WHERE queue = ?1 AND name = ?2 AND version = ?3
RETURNING version`;
