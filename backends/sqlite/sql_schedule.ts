/**
 * The schedule SQL of the SQLite backend (SPEC §8), as named constants
 * beside sql.ts, which holds the schema (the schedules table and its index
 * by next occurrence are its migration 4). Each statement reads one queue's
 * rows through the primary key or the index; none scans the table. A
 * schedule row is returned as `[name, definition, next_run_at, version]`.
 * Besides its schedules, a queue may have one row named `#version` (never
 * a schedule's name: names have no `#`), never due and never listed, whose
 * version is the highest a removed schedule of the queue had: a new
 * schedule starts above it, so a (queue, name) never has the same version
 * twice and a fire that read a removed schedule cannot pass on its
 * successor. No migration adds it: it is a row like the others. Runs
 * nothing.
 *
 * @module
 */

/** The columns of a schedule row, in the order records.ts reads them. */
const SCHEDULE = "name, definition, next_run_at, version";

/** The name of a queue's row of removed versions. */
const REMOVED = "'#version'";

/**
 * ?1 queue, ?2 name, ?3 definition, ?4 next_run_at: creates a schedule at
 * the version after the queue's removed ones (1 when none was removed), or
 * replaces one with another definition at version + 1. No row when the
 * stored definition is the same (the row is left as it is).
 */
export const PUT_SCHEDULE = `INSERT INTO jobline_schedules
  (queue, name, definition, next_run_at, version)
VALUES (?1, ?2, ?3, ?4, 1 + coalesce((SELECT version FROM jobline_schedules
  WHERE queue = ?1 AND name = ${REMOVED}), 0))
ON CONFLICT (queue, name) DO UPDATE SET definition = excluded.definition,
  next_run_at = excluded.next_run_at, version = version + 1
  WHERE definition <> excluded.definition
RETURNING ${SCHEDULE}`;

/** ?1 queue, ?2 name: one schedule. */
export const GET_SCHEDULE = `SELECT ${SCHEDULE} FROM jobline_schedules
  WHERE queue = ?1 AND name = ?2`;

/**
 * ?1 queue, ?2 name: `[version]` if the schedule existed (then
 * REMOVED_VERSION keeps its version, in the same transaction).
 */
export const REMOVE_SCHEDULE = `DELETE FROM jobline_schedules
  WHERE queue = ?1 AND name = ?2 AND name <> ${REMOVED} RETURNING version`;

/**
 * ?1 queue, ?2 the version of a schedule just removed: raises the queue's
 * row of removed versions to it (it never goes down). Never due: its next
 * occurrence is past any clock's.
 */
export const REMOVED_VERSION = `INSERT INTO jobline_schedules
  (queue, name, definition, next_run_at, version)
VALUES (?1, ${REMOVED}, '', ${Number.MAX_SAFE_INTEGER}, ?2)
ON CONFLICT (queue, name) DO UPDATE
  SET version = max(version, excluded.version)`;

/** ?1 queue: every schedule of the queue, by name. */
export const ALL_SCHEDULES = `SELECT ${SCHEDULE} FROM jobline_schedules
  WHERE queue = ?1 AND name <> ${REMOVED} ORDER BY name`;

/**
 * ?1 queue, ?2 due by: the schedules whose next occurrence is at or before
 * ?2, soonest first, read from jobline_schedules_due (whose entries end
 * with the name, so the order needs no sorting).
 */
export const DUE_SCHEDULES = `SELECT ${SCHEDULE} FROM jobline_schedules
  WHERE queue = ?1 AND next_run_at <= ?2 AND name <> ${REMOVED}
  ORDER BY next_run_at, name`;

/**
 * ?1 queue, ?2 name, ?3 version read, ?4 next_run_at: moves a schedule that
 * still has version ?3 on to its next occurrence (the compare-and-set of a
 * fire). A row if it did.
 */
export const FIRE_SCHEDULE = `UPDATE jobline_schedules
  SET next_run_at = ?4, version = version + 1
  WHERE queue = ?1 AND name = ?2 AND version = ?3
RETURNING version`;
