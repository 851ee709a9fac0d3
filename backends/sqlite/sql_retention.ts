/**
 * The retention SQL of the SQLite backend (issue 11), as named constants
 * beside sql.ts, which holds the schema (the keep columns, `remove_at` and
 * the two retention indexes are its migration 3) and the statements that
 * finish a job and set its removal time. Every statement here finds its
 * rows through an index (jobline_jobs_removals, jobline_jobs_finished), or
 * for pending jobs the two pending indexes; none scans every job. Runs
 * nothing.
 *
 * @module
 */

import { LIVE } from "./sql.ts";
import { grouped } from "./sql_limits_schema.ts";

/** ?1 seq: deletes one job (a finishing job whose rule is age 0). */
export const DELETE_JOB = "DELETE FROM jobline_jobs WHERE seq = ?1";

/** The most jobs past their removal time that one finishing step deletes. */
export const SWEEP_LIMIT = 100;

/**
 * ?1 queue, ?2 now: the first SWEEP_LIMIT jobs whose removal time has come,
 * by seq (deleted one by one with DELETE_JOB). It runs in every finishing
 * transition, so it is built to be one index seek when nothing is due: a
 * read, as a DELETE over an `IN (subquery)` builds a temporary table even
 * for no rows; and a literal LIMIT, as a bound one (`LIMIT ?3`) makes
 * SQLite prepare the statement again on every call. Either costs ten times
 * the seek.
 */
export const SWEEP = `SELECT seq FROM jobline_jobs
  WHERE queue = ?1 AND remove_at IS NOT NULL AND remove_at <= ?2
  ORDER BY remove_at LIMIT ${SWEEP_LIMIT}`;

/**
 * ?1 queue, ?2 status, ?3 count: the newest job of a finished status beyond
 * its newest `count` (by finish time, then enqueue order), as
 * `[completed_at, seq]`; no row when there are `count` or fewer.
 */
export const TRIM_FROM = `SELECT completed_at, seq FROM jobline_jobs
  WHERE queue = ?1 AND status = ?2 AND completed_at IS NOT NULL
  ORDER BY completed_at DESC, seq DESC LIMIT 1 OFFSET ?3`;

/**
 * ?1 queue, ?2 status, ?3 completed_at, ?4 seq (TRIM_FROM's row): deletes
 * that job and the older ones of its status.
 */
export const TRIM = `DELETE FROM jobline_jobs
  WHERE queue = ?1 AND status = ?2 AND completed_at IS NOT NULL
    AND completed_at <= ?3 AND (completed_at < ?3 OR seq <= ?4)`;

/**
 * ?1 queue, ?2 now, ?3 status, ?4 cutoff, ?5 type or null, ?6 limit:
 * deletes the oldest live jobs of a finished status that finished at or
 * before the cutoff.
 */
export const CLEAN_FINISHED = `DELETE FROM jobline_jobs WHERE seq IN (
  SELECT seq FROM jobline_jobs
  WHERE queue = ?1 AND status = ?3 AND completed_at IS NOT NULL
    AND completed_at <= ?4 AND (?5 IS NULL OR type = ?5) AND ${LIVE}
  ORDER BY completed_at, seq LIMIT ?6)`;

/**
 * As CLEAN_FINISHED for pending jobs, by creation time: the due ones
 * without and with a group and the delayed ones (each through its own
 * index), oldest first, leaving flow jobs alone (their dependents wait for
 * them). A deleted job's key is free with its row.
 */
export const CLEAN_PENDING = `DELETE FROM jobline_jobs WHERE seq IN (
  SELECT seq FROM (
    SELECT seq, created_at FROM jobline_jobs WHERE queue = ?1 AND state = 0
      AND job_group IS NULL
      AND created_at <= ?4 AND (?5 IS NULL OR type = ?5) AND ${LIVE}
      AND flow_id IS NULL
    UNION ALL
    SELECT seq, created_at FROM jobline_jobs WHERE queue = ?1 AND state = 0
      AND ${grouped()}
      AND created_at <= ?4 AND (?5 IS NULL OR type = ?5) AND ${LIVE}
      AND flow_id IS NULL
    UNION ALL
    SELECT seq, created_at FROM jobline_jobs WHERE queue = ?1 AND state = 1
      AND created_at <= ?4 AND (?5 IS NULL OR type = ?5) AND ${LIVE}
      AND flow_id IS NULL)
  ORDER BY created_at, seq LIMIT ?6)`;
