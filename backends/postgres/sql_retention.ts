/**
 * Retention in the PostgreSQL backend (SPEC §7.6), as SQL text: migration
 * 4's columns and indexes, the functions that complete jobs and clean's,
 * and `finishFunctions`, which assembles them with fail and cancel
 * (sql_fail.ts) per migration. The plpgsql steps a finishing transition
 * ends with (the job's keep rule, then a bounded sweep of jobs whose
 * removal time has passed) and the functions' other shared pieces are in
 * sql_finish.ts. Migration 5 makes the finishing functions again, so
 * that a job removed as it finishes leaves a final update too large to
 * notify where a re-read finds it (sql_final.ts); migration 4's text stays
 * as it was. Holds SQL text only and runs nothing; sql_migrations.ts,
 * sql_flows_schema.ts and sql_claim.ts build on it.
 *
 * Why functions: a job removed as it finishes (age 0) is first updated, so
 * that its final update is published from the row as it ends, then deleted
 * by its ctid; a statement cannot delete a row it updates, a function's next
 * statement can, for the price of a TID scan and only for such jobs. And,
 * as for the claim (sql_claim.ts), the settings of a function pin its plans
 * to the indexes whatever the statistics say: finished jobs are found
 * through `jobs_finished (queue, status, completed_at, seq)`, removals
 * through `jobs_removal (queue, remove_at)`, both partial, so a job is in
 * neither until it finishes and a sweep with nothing due is one index peek.
 * Migration 8 replaces both by one index (sql_retained.ts), and the
 * functions made again by it call the trim and sweep functions there.
 *
 * @module
 */

import { cancelFunction, failFunction } from "./sql_fail.ts";
import {
  create,
  eight,
  FINISH_SETTINGS,
  type FinishVersion,
  keepOf,
  retainAtNow,
  retainSteps,
  settleOne,
  seven,
  six,
  sweepWhere,
} from "./sql_finish.ts";
import { stoppedStep } from "./sql_limits.ts";
import { cleanFinished } from "./sql_retained.ts";

/**
 * What complete_jobs returns of each job it completed: the columns of its
 * update notification (sql.ts, notifyUpdates), and no more, so that no row
 * is taken apart twice.
 */
const UPDATE_COLUMNS = "id text, type text, status text, progress float8, " +
  "message text, attempt integer, result text, error text, " +
  "updated_at float8, version integer";

/**
 * The plpgsql statement of migration 6 that settles the flow jobs among
 * `rows` (a row source `e` with `id`, `flow_id` and `status`) that just
 * finished as `status` at `at`, all in one call (sql_flows.ts,
 * flow_settle), in a function with `p_queue` and `p_channel`. The ids go
 * in the default collation, as the call's other arguments: an argument in
 * "C" (an id column's) would make the call's collation "C", and the queue
 * parameter would then no longer match the primary key.
 */
export function settleAll(
  s: string,
  rows: string,
  at: string,
  status: "complete" | "failed",
): string {
  return `PERFORM ${s}.flow_settle(p_queue, p_channel, ${at}, ARRAY(
          SELECT e.id COLLATE "default" FROM ${rows}
          WHERE e.flow_id IS NOT NULL AND e.status = '${status}'
          ORDER BY e.id), '${status}');`;
}

/**
 * Migration 4, its table part: the keep rules of each job (null in rows
 * stored before: kept, as they were), its removal time, and the two
 * partial indexes. The functions follow it (sql.ts).
 */
export function retentionTables(s: string): string {
  return `ALTER TABLE ${s}.jobs
      ADD COLUMN keep_complete_age float8,
      ADD COLUMN keep_complete_count integer,
      ADD COLUMN keep_failed_age float8,
      ADD COLUMN keep_failed_count integer,
      ADD COLUMN remove_at float8;
    CREATE INDEX jobs_removal ON ${s}.jobs (queue, remove_at)
      WHERE remove_at IS NOT NULL;
    CREATE INDEX jobs_finished ON ${s}.jobs (queue, status, completed_at, seq)
      WHERE completed_at IS NOT NULL;`;
}

/**
 * `complete_jobs(queue, items)`: completes the jobs of `items` (JSON
 * `[{ id, token, result, now }]`) still processing under their token, and
 * returns them as they end (the columns of their updates; a job removed at
 * once included) and the ids of the others (`lost`: their lease no longer
 * held); then applies the completed jobs' `keep_complete` rules. A batch's jobs count as finishing together,
 * so `keep` is the smallest count among them.
 *
 * Each item finds its row by a primary-key probe of its own (a LATERAL
 * subquery, kept apart by OFFSET 0, is planned only that way); the update
 * then takes the rows by ctid, as the claim does (a row changed meanwhile,
 * by a heartbeat, is taken in its new version if it still holds the
 * token). Planned freely, the lookup read the whole queue whenever the
 * statistics said it was small. A lease token is set only while a job is
 * processing, so the token alone says the lease holds. The sweep is a CTE
 * of the same statement (it takes only rows finished before, never the
 * batch's), which saves a statement per batch.
 */
function completeFunction(s: string, v: FinishVersion): string {
  return `${create(v)} ${s}.complete_jobs(p_queue text, p_items text${
    six(v, ", p_channel text")
  })
      RETURNS TABLE (lost text, ${UPDATE_COLUMNS})
    LANGUAGE plpgsql VOLATILE ROWS 10 ${FINISH_SETTINGS}
    AS $complete$
    #variable_conflict use_column
    DECLARE
      v_done ${s}.jobs[];
      v_lost text[];
      v_drop tid[];
      v_keep integer;${six(v, "\n      v_flow boolean;")}
    BEGIN
      WITH c AS MATERIALIZED (
        SELECT c.id, c.token, c.result, c.now, x.at
        FROM json_to_recordset(p_items::json)
          AS c(id text, token text, result text, now float8)
        LEFT JOIN LATERAL (SELECT j.ctid AS at FROM ${s}.jobs j
          WHERE j.queue = p_queue AND j.id = c.id AND j.lease_token = c.token
          OFFSET 0) x ON true
      ), done AS (
        UPDATE ${s}.jobs j SET status = 'complete', result = c.result,
          held_key = NULL, lease_token = NULL, lease_until = NULL,
          completed_at = c.now, remove_at = c.now + j.keep_complete_age,
          version = j.version + 1, updated_at = c.now
        FROM c
        WHERE j.ctid = ANY(ARRAY(SELECT at FROM c WHERE at IS NOT NULL))
          AND j.id = c.id AND j.lease_token = c.token
        RETURNING j AS job, j.ctid AS at, j.keep_complete_age AS age,
          j.keep_complete_count AS count
      )${
    eight(
      v,
      "",
      `, swept AS (
        DELETE FROM ${s}.jobs j
        WHERE ${sweepWhere(s, "(SELECT max(c.now) FROM c)")}
      )`,
    )
  }
      SELECT array_agg(d.job),
        array_agg(d.at) FILTER (WHERE d.age = 0 OR d.count = 0),
        min(d.count) FILTER (WHERE d.age IS DISTINCT FROM 0),
        (SELECT array_agg(c.id) FROM c
          WHERE c.id NOT IN (SELECT (d2.job).id FROM done d2))${
    six(v, ",\n        bool_or((d.job).flow_id IS NOT NULL)")
  }
      INTO v_done, v_drop, v_keep, v_lost${six(v, ", v_flow")} FROM done d;
      RETURN QUERY SELECT NULL::text, ${
    UPDATE_COLUMNS.split(", ").map((c) => `e.${c.split(" ")[0]}`).join(", ")
  }
        FROM unnest(v_done) e
        UNION ALL SELECT l, ${
    UPDATE_COLUMNS.split(", ").map(() => "NULL").join(", ")
  } FROM unnest(v_lost) l;${
    seven(
      v,
      `
      IF v_done IS NOT NULL THEN
        ${
        stoppedStep(
          s,
          "unnest(v_done) e",
          "(SELECT max(d.completed_at) FROM unnest(v_done) d)",
        )
      }
      END IF;`,
    )
  }${
    six(
      v,
      `
      IF v_flow THEN
        ${
        settleAll(
          s,
          "unnest(v_done) e",
          "(SELECT max(d.completed_at) FROM unnest(v_done) d)",
          "complete",
        )
      }
      END IF;`,
    )
  }
      ${
    retainSteps(s, "'complete'", {
      drop: "v_drop",
      keep: "v_keep",
      now: v >= 8 ? "(SELECT max(d.completed_at) FROM unnest(v_done) d)" : null,
      save: v >= 5,
      retained: v >= 8,
    })
  }
    END
    $complete$;`;
}
/**
 * `complete_job(queue, id, token, result, now)`: complete_jobs for one job,
 * without JSON: a primary-key update (the equality on the whole key leaves
 * the planner no other way), then its `keep_complete` rule and the sweep.
 * Returns the columns of its update, or nothing when the lease no longer
 * holds. One completion at a time is the latency-bound case, where the
 * batch statement's start-up cost showed.
 */
function completeOneFunction(s: string, v: FinishVersion): string {
  const cols = UPDATE_COLUMNS.split(", ").map((c) => c.split(" ")[0]!);
  return `${create(v)} ${s}.complete_job(p_queue text, p_id text,
      p_token text, p_result text, p_now float8${six(v, ", p_channel text")})
      RETURNS TABLE (${UPDATE_COLUMNS})
    LANGUAGE plpgsql VOLATILE ROWS 1 ${FINISH_SETTINGS}
    AS $complete$
    #variable_conflict use_column
    DECLARE
      r record;
      v_drop tid[];
      v_keep integer;
    BEGIN
      UPDATE ${s}.jobs j SET status = 'complete', result = p_result,
        held_key = NULL, lease_token = NULL, lease_until = NULL,
        completed_at = p_now, remove_at = p_now + j.keep_complete_age,
        version = j.version + 1, updated_at = p_now
      WHERE j.queue = p_queue AND j.id = p_id AND j.lease_token = p_token
      RETURNING ${cols.map((c) => `j.${c}`).join(", ")}, j.ctid AS at,
        j.keep_complete_age AS age, j.keep_complete_count AS count${
    six(v, ", j.flow_id AS flow")
  }${seven(v, ", j.job_group")} INTO r;
      IF NOT FOUND THEN
        RETURN;
      END IF;
      RETURN QUERY SELECT ${cols.map((c) => `r.${c}`).join(", ")};${
    seven(
      v,
      `
      ${stoppedStep(s, "(SELECT r.type, r.job_group) e", "p_now")}`,
    )
  }${settleOne(s, v, "r.flow", "complete")}
      ${keepOf("r.age", "r.count", "r.at")}
      ${retainAtNow(s, "'complete'", v)}
    END
    $complete$;`;
}

/**
 * The function part of migration `v`: complete, fail and cancel (and, in
 * 4 and 6, clean, which 5 leaves as it is).
 */
export function finishFunctions(s: string, v: FinishVersion): string {
  return [
    completeFunction(s, v),
    completeOneFunction(s, v),
    failFunction(s, v),
    cancelFunction(s, v),
    ...(v === 5 ? [] : [cleanFunction(s, v)]),
  ].join("\n");
}

/**
 * `clean_jobs(queue, status, cutoff, type, limit, now)`: deletes up to
 * `limit` live jobs of `status`, oldest first, that finished (or, pending,
 * were created) at or before `cutoff`, of `type` unless null; returns how
 * many. Finished jobs come from the finished index in order; pending ones
 * from the claim index (every pending job, sorted). Rows other
 * transactions hold (a pending job being claimed) are skipped. From
 * migration 6, pending jobs of flows are left alone.
 */
function cleanFunction(s: string, v: FinishVersion): string {
  const pick = (where: string, order: string) =>
    `DELETE FROM ${s}.jobs j WHERE j.ctid = ANY(ARRAY(
          SELECT o.ctid FROM ${s}.jobs o
          WHERE o.queue = p_queue AND ${where}
            AND (p_type IS NULL OR o.type = p_type)
            AND (o.expires_at IS NULL OR o.expires_at > p_now)
          ORDER BY ${order} LIMIT p_limit
          FOR UPDATE OF o SKIP LOCKED));`;
  return `${create(v)} ${s}.clean_jobs(p_queue text, p_status text,
      p_cutoff float8, p_type text, p_limit integer, p_now float8)
      RETURNS integer
    LANGUAGE plpgsql VOLATILE ${FINISH_SETTINGS}
    AS $clean$
    DECLARE
      v_n integer;
    BEGIN
      IF p_status = 'pending' THEN
        ${
    pick(
      `o.status = 'pending' AND o.created_at <= p_cutoff${
        six(v, " AND o.flow_id IS NULL")
      }`,
      "o.created_at, o.seq",
    )
  }
      ELSE
        ${
    eight(
      v,
      cleanFinished(s),
      pick(
        `o.status = p_status AND o.completed_at IS NOT NULL
            AND o.completed_at <= p_cutoff`,
        "o.completed_at, o.seq",
      ),
    )
  }
      END IF;
      GET DIAGNOSTICS v_n = ROW_COUNT;
      RETURN v_n;
    END
    $clean$;`;
}
