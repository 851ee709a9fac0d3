/**
 * Migration 8 of the PostgreSQL backend, as SQL text: one index for every
 * finished job instead of two, and the retention functions that read it.
 * Holds SQL text only and runs nothing; sql.ts lists the migration, and the
 * finishing functions made again by it call these (sql_finish.ts,
 * retainSteps).
 *
 * Before, a finished job with an age rule had an entry in
 * `jobs_finished (queue, status, completed_at, seq)`, for the count rule
 * and clean(), and another in `jobs_removal (queue, remove_at)`, for the
 * sweep; a job kept with no age had only the first. Now every finished job
 * has one entry in `jobs_retained (queue, status, age, completed_at, seq)`,
 * `age` being its rule's age for its status (null: no age). Within one
 * (status, age) the entries run in completed_at order, which is removal
 * order, so:
 *
 * - the sweep takes, for each age in use, the entries up to `now - age`;
 * - the count rule and clean() merge the few ages of a status, each read in
 *   order from its own range;
 * - the ages in use are found by a skip scan of the index (one probe per
 *   age), never by reading the jobs.
 *
 * So the default retention writes what keeping every job writes, and a
 * drain pays nothing for it. `remove_at` stays a column (imports and
 * exports carry it) with no index.
 *
 * @module
 */

import { deleteSaving } from "./sql_final.ts";
import { SETTINGS } from "./sql_limits_claim.ts";

/**
 * Which migration makes the trim and sweep functions: 8 made them, 14
 * makes them again keeping the final update of a job they delete that
 * finished in the same step, too large to notify (sql_final.ts,
 * deleteSaving).
 */
type RetainedVersion = 8 | 14;

/** The most jobs past their removal time that one finishing step deletes. */
export const SWEEP_BATCH = 100;

/**
 * A job's keep age for its status, the index's third column: of the row
 * `o`, or of the table's own columns for "".
 */
export function ageOf(o: string): string {
  const c = o === "" ? "" : `${o}.`;
  return `(CASE WHEN ${c}status = 'complete' THEN ${c}keep_complete_age
    ELSE ${c}keep_failed_age END)`;
}

/** A finished job `o` of `p_queue` and `status`. */
function finished(status: string): string {
  return `o.queue = p_queue AND o.status = ${status}
          AND o.completed_at IS NOT NULL`;
}

/** Migration 8 (`s` the quoted schema): the index and its functions. */
export function retainedMigration(s: string): string {
  return [
    `CREATE INDEX jobs_retained ON ${s}.jobs (queue, status, ${
      ageOf("")
    }, completed_at, seq) WHERE completed_at IS NOT NULL;
    DROP INDEX ${s}.jobs_removal;
    DROP INDEX ${s}.jobs_finished;`,
    sweepFunction(s, 8),
    trimFunction(s, 8),
  ].join("\n");
}

/**
 * Migration 14 (`s` the quoted schema): the trim and sweep functions made
 * again, with the same signatures (the finishing functions that call them
 * stay as they are), to keep the final update of a job they delete within
 * FINAL_KEEP_MS of its finish when it is too large to notify: a job that
 * finished in the same step, whose subscribers are sent a re-read marker
 * (SPEC §7.6). Those the step's own keep rule removes at once were kept
 * already (dropSaving); a job that a batch mate's count rule or a small age
 * removes was not.
 */
export function savingMigration(s: string): string {
  return [sweepFunction(s, 14), trimFunction(s, 14)].join("\n");
}

/**
 * The ages of the finished jobs of status `status` (an SQL expression; none
 * for jobs kept with no age), ascending, as a query of one column `age`:
 * a skip scan, one index probe per age. Written into each function that
 * needs it, where plpgsql caches its plan (a function of its own, in SQL,
 * was planned again on every call: a third of a millisecond).
 */
function agesQuery(s: string, status: string): string {
  const next = (where: string) =>
    `SELECT ${ageOf("o")} FROM ${s}.jobs o
        WHERE ${finished(status)} AND ${where}
        ORDER BY ${ageOf("o")} LIMIT 1`;
  return `WITH RECURSIVE a(age) AS (
        (${next(`${ageOf("o")} IS NOT NULL`)})
        UNION ALL
        SELECT (${next(`${ageOf("o")} > a.age`)}) FROM a
        WHERE a.age IS NOT NULL
      )
      SELECT a.age FROM a WHERE a.age IS NOT NULL`;
}

/**
 * `retain_sweep(queue, now)`: deletes up to SWEEP_BATCH finished jobs of
 * any status whose age has passed at `now`, the earliest of each age
 * first; returns how many. Rows other transactions hold are skipped, never
 * waited for: the next step takes them. From migration 14, keeps the final
 * updates of the recent ones too large to notify.
 */
function sweepFunction(s: string, v: RetainedVersion): string {
  const due = `ARRAY(
            SELECT o.ctid FROM ${s}.jobs o
            WHERE ${finished("v_status")} AND ${ageOf("o")} = v_age
              AND o.completed_at <= p_now - v_age
            ORDER BY ${ageOf("o")}, o.completed_at, o.seq LIMIT v_left
            FOR UPDATE OF o SKIP LOCKED)`;
  return `${
    v === 8 ? "CREATE FUNCTION" : "CREATE OR REPLACE FUNCTION"
  } ${s}.retain_sweep(p_queue text, p_now float8)
      RETURNS integer
    LANGUAGE plpgsql VOLATILE ${SETTINGS}
    AS $sweep$
    DECLARE
      v_left integer := ${SWEEP_BATCH};
      v_status text;
      v_age float8;
      v_n integer;
    BEGIN
      FOREACH v_status IN ARRAY ARRAY['complete', 'failed', 'cancelled'] LOOP
        FOR v_age IN ${agesQuery(s, "v_status")} LOOP
          EXIT WHEN v_left <= 0;
          ${
    v === 8
      ? `DELETE FROM ${s}.jobs j WHERE j.ctid = ANY(${due});
          GET DIAGNOSTICS v_n = ROW_COUNT;`
      : deleteSaving(s, due, "p_now", "v_n")
  }
          v_left := v_left - v_n;
        END LOOP;
      END LOOP;
      RETURN ${SWEEP_BATCH} - v_left;
    END
    $sweep$;`;
}

/**
 * The finished jobs of `p_status` in (completed_at, seq) order per age:
 * `pick(age condition)` is one age's rows, `pick` applied to the jobs with
 * no age and to each age in use, all together (a row source `y`). Each
 * pick is a subquery in FROM, where a locking clause may stand (not as an
 * arm of UNION).
 */
function perAge(s: string, pick: (age: string) => string): string {
  return `(SELECT z.* FROM (${pick(`${ageOf("o")} IS NULL`)}) z
          UNION ALL
          SELECT x.* FROM (${agesQuery(s, "p_status")}) a(age)
          CROSS JOIN LATERAL (${pick(`${ageOf("o")} = a.age`)}) x) y`;
}

/**
 * `retain_trim(queue, status, keep)`: keeps only the newest `keep` finished
 * jobs of a status (by finish time, then enqueue order), across its ages;
 * nothing with null. Only the rows beyond them are locked, and rows other
 * transactions hold are skipped. From migration 14, keeps the final updates
 * too large to notify of those that finished within FINAL_KEEP_MS of the
 * newest (which, as a job has just finished, is the step's time); its count
 * 0 takes the same path as any other count.
 */
function trimFunction(s: string, v: RetainedVersion): string {
  const newest = (age: string) =>
    `SELECT o.completed_at, o.seq FROM ${s}.jobs o
            WHERE ${finished("p_status")} AND ${age}
            ORDER BY ${ageOf("o")} DESC, o.completed_at DESC, o.seq DESC
            LIMIT p_keep + 1`;
  const older = (age: string) =>
    `SELECT o.ctid FROM ${s}.jobs o
            WHERE ${finished("p_status")} AND ${age}
              AND (o.completed_at, o.seq) <= (v_at, v_seq)
            FOR UPDATE OF o SKIP LOCKED`;
  const beyond = `ARRAY(
        SELECT y.ctid FROM ${perAge(s, older)})`;
  if (v === 14) {
    return `CREATE OR REPLACE FUNCTION ${s}.retain_trim(p_queue text,
      p_status text, p_keep integer) RETURNS void
    LANGUAGE plpgsql VOLATILE ${SETTINGS}
    AS $trim$
    DECLARE
      v_at float8;
      v_seq bigint;
      v_newest float8;
    BEGIN
      IF p_keep IS NULL OR p_keep < 0 THEN
        RETURN;
      END IF;
      -- The newest job beyond the newest p_keep (with 0, the newest of
      -- all): the rest go with it.
      SELECT y.completed_at, y.seq, max(y.completed_at) OVER ()
      INTO v_at, v_seq, v_newest
      FROM ${perAge(s, newest)}
      ORDER BY y.completed_at DESC, y.seq DESC OFFSET p_keep LIMIT 1;
      IF v_at IS NULL THEN
        RETURN;
      END IF;
      ${deleteSaving(s, beyond, "v_newest")}
    END
    $trim$;`;
  }
  return `CREATE FUNCTION ${s}.retain_trim(p_queue text, p_status text,
      p_keep integer) RETURNS void
    LANGUAGE plpgsql VOLATILE ${SETTINGS}
    AS $trim$
    DECLARE
      v_at float8;
      v_seq bigint;
    BEGIN
      IF p_keep IS NULL OR p_keep < 0 THEN
        RETURN;
      ELSIF p_keep = 0 THEN
        DELETE FROM ${s}.jobs j WHERE j.ctid = ANY(ARRAY(
          SELECT o.ctid FROM ${s}.jobs o WHERE ${finished("p_status")}
          FOR UPDATE OF o SKIP LOCKED));
        RETURN;
      END IF;
      -- The newest job beyond the newest p_keep: the rest go with it.
      SELECT y.completed_at, y.seq INTO v_at, v_seq
      FROM ${perAge(s, newest)}
      ORDER BY y.completed_at DESC, y.seq DESC OFFSET p_keep LIMIT 1;
      IF v_at IS NULL THEN
        RETURN;
      END IF;
      DELETE FROM ${s}.jobs j WHERE j.ctid = ANY(${beyond});
    END
    $trim$;`;
}

/**
 * clean_jobs' step for finished jobs from migration 8 (plpgsql, in a
 * function with `p_queue`, `p_status`, `p_cutoff`, `p_type`, `p_limit`
 * and `p_now`): deletes up to `p_limit` live jobs of the status that
 * finished at or before the cutoff, oldest first across its ages.
 */
export function cleanFinished(s: string): string {
  const oldest = (age: string) =>
    `SELECT o.ctid, o.completed_at, o.seq FROM ${s}.jobs o
            WHERE ${finished("p_status")} AND ${age}
              AND o.completed_at <= p_cutoff
              AND (p_type IS NULL OR o.type = p_type)
              AND (o.expires_at IS NULL OR o.expires_at > p_now)
            ORDER BY ${ageOf("o")}, o.completed_at, o.seq LIMIT p_limit
            FOR UPDATE OF o SKIP LOCKED`;
  return `DELETE FROM ${s}.jobs j WHERE j.ctid = ANY(ARRAY(
          SELECT y.ctid FROM ${perAge(s, oldest)}
          ORDER BY y.completed_at, y.seq LIMIT p_limit));`;
}
