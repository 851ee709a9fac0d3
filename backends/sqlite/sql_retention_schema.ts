/**
 * The retention schema of the SQLite backend (migration 8, issue 11): one
 * index of finished jobs by queue, status and keep age, in finish order,
 * and a per-queue gate row. With one keep age, finish order is removal
 * order, so the one entry a finished job gets serves the sweep of due
 * removals, the count rule and clean() alike: a job kept a day costs a
 * drain what a job kept forever does (both get this one entry). The gate
 * holds a time before which nothing of the queue is due, so that a
 * finishing transaction with nothing due reads one row. Its statements:
 * sql_retention.ts; the step that keeps the gate right: retention.ts.
 * Runs nothing.
 *
 * @module
 */

/**
 * The keep age of a finished job for the status it finished with (null:
 * no age rule). Every statement that reads the index repeats this exact
 * expression: SQLite uses an expression index only then.
 */
export const AGE =
  "(CASE status WHEN 'complete' THEN keep_complete_age ELSE keep_failed_age END)";

/**
 * Migration 8: replaces the two retention indexes of migration 3 (by
 * status and finish time, and by removal time) with jobline_jobs_kept, by
 * status, keep age and finish time (then seq, as every index ends), and
 * adds the gate table: per queue, `next_at`, a time at or before the
 * earliest removal time of its jobs (null: no job has an age rule). A
 * missing row is unknown: the next finishing step computes it from the
 * index. `remove_at` stays a column, null or as an older release left
 * it: nothing reads or writes it any more (dropping a column rewrites the
 * whole table).
 */
export const RETENTION_MIGRATION = `
DROP INDEX IF EXISTS jobline_jobs_removals;
DROP INDEX IF EXISTS jobline_jobs_finished;
CREATE INDEX jobline_jobs_kept
  ON jobline_jobs (queue, status, ${AGE}, completed_at)
  WHERE completed_at IS NOT NULL;
CREATE TABLE jobline_retention (
  queue TEXT PRIMARY KEY,
  next_at INTEGER
) WITHOUT ROWID;`;
