/**
 * The retention SQL of the SQLite backend (issue 11), as named constants
 * beside sql.ts, which holds the keep columns (migration 3) and the
 * statements that finish a job; the index and the gate table are
 * migration 8 (sql_retention_schema.ts). Every statement here finds its
 * rows through jobline_jobs_kept (by queue, status, keep age, finish time)
 * or the gate's key, or for pending jobs the two pending indexes; none
 * scans every job. A status holds few keep ages: statements over a status
 * take its ages (AGES) and read each age in finish order, merging them
 * where the order spans ages. Runs nothing.
 *
 * @module
 */

import { LIVE } from "./sql.ts";
import { grouped } from "./sql_limits_schema.ts";
import { AGE } from "./sql_retention_schema.ts";

/** ?1 seq: deletes one job (a finishing job whose rule is age 0). */
export const DELETE_JOB = "DELETE FROM jobline_jobs WHERE seq = ?1";

/** The most jobs past their removal time that one finishing step deletes. */
export const SWEEP_LIMIT = 100;

/** ?1 queue: the gate, `[next_at]` (null: no age rule); no row: unknown. */
export const GATE = "SELECT next_at FROM jobline_retention WHERE queue = ?1";

/** ?1 queue, ?2 next_at or null: sets the gate. */
export const GATE_SET = `INSERT INTO jobline_retention (queue, next_at)
  VALUES (?1, ?2)
  ON CONFLICT (queue) DO UPDATE SET next_at = excluded.next_at`;

/** The index entries of one queue and status (?1, ?2). */
const KEPT = `FROM jobline_jobs
  WHERE queue = ?1 AND status = ?2 AND completed_at IS NOT NULL`;

/** The smallest keep age of ?1, ?2 above `after` (ages are >= 0). */
const nextAge = (after: string): string =>
  `SELECT ${AGE} ${KEPT} AND ${AGE} > ${after} ORDER BY ${AGE} LIMIT 1`;

/** The keep ages of ?1, ?2, ascending: one index seek per age, and one. */
const TIMED_AGES = `WITH RECURSIVE ages(age) AS (
  SELECT (${nextAge("-1")})
  UNION ALL
  SELECT (${nextAge("ages.age")}) FROM ages WHERE ages.age IS NOT NULL)`;

/**
 * ?1 queue, ?2 status: the keep ages its finished jobs have, ascending,
 * as `[age]` rows (the sweep needs no others).
 */
export const AGES_TIMED =
  `${TIMED_AGES} SELECT age FROM ages WHERE age IS NOT NULL`;

/** As AGES_TIMED, with a first `[null]` row when a job has no age rule. */
export const AGES = `${TIMED_AGES}
SELECT NULL WHERE EXISTS (SELECT 1 ${KEPT} AND ${AGE} IS NULL)
UNION ALL SELECT age FROM ages WHERE age IS NOT NULL`;

/**
 * ?1 queue, ?2 status, ?3 age, ?4 now - age: the first SWEEP_LIMIT jobs of
 * that age whose removal time has come, oldest first, by seq (deleted one
 * by one with DELETE_JOB: a DELETE over an `IN (subquery)` builds a
 * temporary table even for no rows). The LIMIT is a literal: a bound one
 * makes SQLite prepare the statement again on every call.
 */
export const DUE = `SELECT seq ${KEPT} AND ${AGE} = ?3
  AND completed_at <= ?4 ORDER BY completed_at LIMIT ${SWEEP_LIMIT}`;

/** ?1 queue, ?2 status, ?3 age: the oldest finish time of that age. */
export const HEAD = `SELECT completed_at ${KEPT} AND ${AGE} = ?3
  ORDER BY completed_at LIMIT 1`;

/**
 * ?1 queue: how many jobs of the queue have the finished `status` (the
 * counts the triggers keep: sql_counts.ts), `[n]`. Every finished job has
 * its finish time, so this is how many entries the status has in the
 * index: a count rule trims only when it is above the count, and then only
 * the excess, oldest first (`oldest`), never walking the `count` it keeps.
 */
export const tally = (status: "complete" | "failed" | "cancelled"): string =>
  `SELECT coalesce(sum(${status}), 0) FROM jobline_tallies WHERE queue = ?1`;

/**
 * ?1 queue, ?2 status, ?3 limit, ?4.. the status's `ages` ages (from
 * AGES): its `limit` oldest jobs (by finish time, then enqueue order), as
 * `[seq]`; the ages merged, each read in index order. The limit is an
 * expression: a bare bound one makes SQLite prepare the statement again on
 * every call.
 */
export function oldest(ages: number): string {
  const arms = Array.from(
    { length: ages },
    (_, i) => `SELECT seq, completed_at ${KEPT} AND ${AGE} IS ?${i + 4}`,
  );
  return `${arms.join("\nUNION ALL ")}
  ORDER BY completed_at, seq LIMIT CAST(?3 AS INTEGER)`;
}

/**
 * ?1 queue, ?2 now, ?3 status, ?4 cutoff, ?5 type or null, ?6 limit, ?7..
 * the status's `ages` ages (from AGES): deletes the oldest live jobs of a
 * finished status that finished at or before the cutoff, the ages merged.
 */
export function cleanFinished(ages: number): string {
  const arms = Array.from(
    { length: ages },
    (_, i) =>
      `SELECT seq, completed_at FROM jobline_jobs
    WHERE queue = ?1 AND status = ?3 AND completed_at IS NOT NULL
      AND ${AGE} IS ?${i + 7} AND completed_at <= ?4
      AND (?5 IS NULL OR type = ?5) AND ${LIVE}`,
  );
  return `DELETE FROM jobline_jobs WHERE seq IN (SELECT seq FROM (
  ${arms.join("\n  UNION ALL ")}
  ORDER BY completed_at, seq LIMIT ?6))`;
}

/**
 * As cleanFinished for pending jobs, by creation time: the due ones
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
