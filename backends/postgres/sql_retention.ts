/**
 * Retention in the PostgreSQL backend (SPEC §7.6), as SQL text: migration
 * 4's columns and indexes, the plpgsql steps a finishing transition ends
 * with (the job's keep rule, then a bounded sweep of jobs whose removal time
 * has passed), the functions that complete, fail and cancel jobs with those
 * steps, and clean's. Migration 5 makes the finishing functions again, so
 * that a job removed as it finishes leaves a final update too large to
 * notify where a re-read finds it (sql_final.ts); migration 4's text stays
 * as it was. Holds SQL text only and runs nothing; sql.ts and sql_claim.ts
 * build on it.
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

import { dropSaving } from "./sql_final.ts";
import { stoppedStep } from "./sql_limits.ts";
import { cleanFinished, SWEEP_BATCH } from "./sql_retained.ts";

/**
 * Which migration a finishing function is made by: 4 made them, 5 replaces
 * them with ones that keep a removed job's final update when it is too
 * large to notify (sql_final.ts), 6 with ones that take the queue's
 * channel and settle a finished flow job's dependents (sql_flows.ts; the
 * migration drops the old signatures first), 7 with ones that report a
 * job that stops processing to the queue's limits (sql_limits.ts), 8 with
 * ones that keep finished jobs in one index (sql_retained.ts).
 */
export type FinishVersion = 4 | 5 | 6 | 7 | 8;

/** How migration `v` makes a function: 5 and 6 replace those before. */
function create(v: FinishVersion): string {
  return v === 4 ? "CREATE FUNCTION" : "CREATE OR REPLACE FUNCTION";
}

/**
 * The settings the finishing functions are planned and run with: index
 * scans only, in index order (no sort), by generic plans (see sql_claim.ts
 * for why), and no nested loop but the one a LATERAL lookup forces (a
 * nested loop over a batch's rows re-reads its items for each of them).
 */
export const FINISH_SETTINGS =
  "SET enable_sort = off SET enable_seqscan = off SET enable_bitmapscan = off" +
  " SET enable_nestloop = off SET enable_mergejoin = off SET jit = off" +
  " SET plan_cache_mode = force_generic_plan";

/**
 * What complete_jobs returns of each job it completed: the columns of its
 * update notification (sql.ts, notifyUpdates), and no more, so that no row
 * is taken apart twice.
 */
const UPDATE_COLUMNS = "id text, type text, status text, progress float8, " +
  "message text, attempt integer, result text, error text, " +
  "updated_at float8, version integer";

/** `text` in the functions of migration 6 (flows) on, nothing before. */
function six(v: FinishVersion, text: string): string {
  return v >= 6 ? text : "";
}

/** `a` in the functions of migration 8 (one retention index) on, else `b`. */
function eight(v: FinishVersion, a: string, b: string): string {
  return v >= 8 ? a : b;
}

/** `text` in the functions of migration 7 (limits) on, nothing before. */
function seven(v: FinishVersion, text: string): string {
  return v >= 7 ? text : "";
}

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
 * The condition of a DELETE from `s.jobs j` (in a function with `p_queue`)
 * that takes up to SWEEP_BATCH jobs whose removal time is `now` or earlier,
 * the earliest first, through the removal index.
 */
export function sweepWhere(s: string, now: string): string {
  return `j.ctid = ANY(ARRAY(
        SELECT o.ctid FROM ${s}.jobs o
        WHERE o.queue = p_queue AND o.remove_at <= ${now}
        ORDER BY o.remove_at LIMIT ${SWEEP_BATCH}
        FOR UPDATE OF o SKIP LOCKED))`;
}

/**
 * The plpgsql statements that end a finishing transition of schema `s`
 * (quoted), in a function with `p_queue`, once the finished rows are
 * stored: delete the rows of `drop` (a tid[] variable: jobs whose rule
 * removes them at once), keep only the newest `keep` (an integer variable,
 * null for no limit) jobs of `status` (an SQL text literal), then, unless
 * `now` is null (the caller swept already), delete up to SWEEP_BATCH jobs
 * whose removal time is `now` or earlier. Rows other transactions hold are
 * skipped, never waited for: the next step takes them. With `save` (the
 * functions of migration 5), the rows of `drop` leave their final update
 * when it is too large to notify (sql_final.ts).
 */
export function retainSteps(
  s: string,
  status: string,
  { drop, keep, now, save, retained = false }: {
    drop: string;
    keep: string;
    now: string | null;
    save: boolean;
    /** Migration 8 on: the count rule and sweep by sql_retained.ts. */
    retained?: boolean;
  },
): string {
  const dropStep = `IF ${drop} IS NOT NULL THEN
        ${
    save
      ? dropSaving(s, drop)
      : `DELETE FROM ${s}.jobs j WHERE j.ctid = ANY(${drop});`
  }
      END IF;`;
  if (retained) {
    return `${dropStep}
      IF ${keep} IS NOT NULL THEN
        PERFORM ${s}.retain_trim(p_queue, ${status}, ${keep});
      END IF;${
      now === null ? "" : `
      PERFORM ${s}.retain_sweep(p_queue, ${now});`
    }`;
  }
  const finished = `o.queue = p_queue AND o.status = ${status}
          AND o.completed_at IS NOT NULL`;
  return `${dropStep}
      IF ${keep} = 0 THEN
        DELETE FROM ${s}.jobs j WHERE j.ctid = ANY(ARRAY(
          SELECT o.ctid FROM ${s}.jobs o WHERE ${finished}
          ORDER BY o.completed_at, o.seq
          FOR UPDATE OF o SKIP LOCKED));
      ELSIF ${keep} > 0 THEN
        -- Older than the newest ${keep}: only the rows beyond it are locked.
        DELETE FROM ${s}.jobs j WHERE j.ctid = ANY(ARRAY(
          SELECT o.ctid FROM ${s}.jobs o WHERE ${finished}
            AND (o.completed_at, o.seq) < (
              SELECT b.completed_at, b.seq FROM ${s}.jobs b
              WHERE b.queue = p_queue AND b.status = ${status}
                AND b.completed_at IS NOT NULL
              ORDER BY b.completed_at DESC, b.seq DESC
              OFFSET ${keep} - 1 LIMIT 1)
          ORDER BY o.completed_at, o.seq
          FOR UPDATE OF o SKIP LOCKED));
      END IF;${
    now === null ? "" : `
      DELETE FROM ${s}.jobs j WHERE ${sweepWhere(s, now)};`
  }`;
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
 * `fail_job(queue, id, token, now, error, retry_at)`: records a failed
 * attempt of a job processing under `token` (the token alone says so, as
 * in complete_jobs): back to pending at `retry_at`, or, with null, failed
 * for good and its `keep_failed` rule applied. Returns the job as it ends
 * (none when the lease no longer holds).
 */
function failFunction(s: string, v: FinishVersion): string {
  return `${create(v)} ${s}.fail_job(p_queue text, p_id text, p_token text,
      p_now float8, p_error text, p_retry_at float8${
    six(v, ", p_channel text")
  })
      RETURNS SETOF ${s}.jobs
    LANGUAGE plpgsql VOLATILE ROWS 1 ${FINISH_SETTINGS}
    AS $fail$
    DECLARE
      r record;
      v_drop tid[];
      v_keep integer;
    BEGIN
      UPDATE ${s}.jobs j SET error = p_error,
        status = CASE WHEN p_retry_at IS NULL THEN 'failed' ELSE 'pending' END,
        run_at = coalesce(p_retry_at, j.run_at),
        held_key = CASE WHEN p_retry_at IS NULL THEN NULL ELSE j.held_key END,
        completed_at = CASE WHEN p_retry_at IS NULL THEN p_now END,
        remove_at = CASE WHEN p_retry_at IS NULL
          THEN p_now + j.keep_failed_age END,
        lease_token = NULL, lease_until = NULL,
        version = j.version + 1, updated_at = p_now
      WHERE j.queue = p_queue AND j.id = p_id AND j.lease_token = p_token
      RETURNING j AS job, j.ctid AS at INTO r;
      IF NOT FOUND THEN
        RETURN;
      END IF;
      RETURN NEXT r.job;${
    seven(
      v,
      `
      ${stoppedStep(s, "(SELECT (r.job).*) e", "p_now")}`,
    )
  }
      IF p_retry_at IS NOT NULL THEN
        RETURN;
      END IF;${
    six(
      v,
      `
      IF (r.job).flow_id IS NOT NULL THEN
        PERFORM ${s}.flow_settle(p_queue, p_channel, p_now, ARRAY[p_id],
          'failed');
      END IF;`,
    )
  }
      ${dropOrKeep("r", "failed")}
      ${
    retainSteps(s, "'failed'", {
      drop: "v_drop",
      keep: "v_keep",
      now: "p_now",
      save: v >= 5,
      retained: v >= 8,
    })
  }
    END
    $fail$;`;
}

/**
 * `cancel_job(queue, id, now, error)`: cancels a live pending or processing
 * job and applies its `keep_failed` rule. Returns its status before (`was`)
 * and the job as it ends; no row when there was nothing to cancel.
 */
function cancelFunction(s: string, v: FinishVersion): string {
  return `${create(v)} ${s}.cancel_job(p_queue text, p_id text,
      p_now float8, p_error text${six(v, ", p_channel text")})
      RETURNS TABLE (was text, job ${s}.jobs)
    LANGUAGE plpgsql VOLATILE ROWS 1 ${FINISH_SETTINGS}
    AS $cancel$
    DECLARE
      r record;
      v_drop tid[];
      v_keep integer;
    BEGIN
      SELECT j.status INTO was FROM ${s}.jobs j
      WHERE j.queue = p_queue AND j.id = p_id
        AND j.status IN (${six(v, "'waiting', ")}'pending', 'processing')
        AND (j.expires_at IS NULL OR j.expires_at > p_now)
      FOR UPDATE;
      IF NOT FOUND THEN
        RETURN;
      END IF;
      UPDATE ${s}.jobs j SET status = 'cancelled', error = p_error,
        held_key = NULL, lease_token = NULL, lease_until = NULL,
        completed_at = p_now, remove_at = p_now + j.keep_failed_age,
        version = j.version + 1, updated_at = p_now
      WHERE j.queue = p_queue AND j.id = p_id
      RETURNING j AS job, j.ctid AS at INTO r;
      job := r.job;
      RETURN NEXT;${
    seven(
      v,
      `
      IF was = 'processing' THEN
        ${stoppedStep(s, "(SELECT (r.job).*) e", "p_now")}
      END IF;`,
    )
  }${
    six(
      v,
      `
      IF (r.job).flow_id IS NOT NULL THEN
        PERFORM ${s}.flow_settle(p_queue, p_channel, p_now, ARRAY[p_id],
          'cancelled');
      END IF;`,
    )
  }
      ${dropOrKeep("r", "failed")}
      ${
    retainSteps(s, "'cancelled'", {
      drop: "v_drop",
      keep: "v_keep",
      now: "p_now",
      save: v >= 5,
      retained: v >= 8,
    })
  }
    END
    $cancel$;`;
}

/**
 * Sets `v_drop` and `v_keep` from one finished job `r` (`r.job`, `r.at`)
 * and its `keep_<rule>` columns: removed at once with age 0 or count 0;
 * with a count (and an age other than 0), the newest `count` kept.
 */
function dropOrKeep(r: string, rule: "complete" | "failed"): string {
  return keepOf(
    `(${r}.job).keep_${rule}_age`,
    `(${r}.job).keep_${rule}_count`,
    `${r}.at`,
  );
}

/** As dropOrKeep, from a rule's `age` and `count` and the row's `at`. */
function keepOf(age: string, count: string, at: string): string {
  return `IF ${age} = 0 OR ${count} = 0 THEN
        v_drop := ARRAY[${at}];
      END IF;
      IF ${age} IS DISTINCT FROM 0 THEN
        v_keep := ${count};
      END IF;`;
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
  }${
    six(
      v,
      `
      IF r.flow IS NOT NULL THEN
        PERFORM ${s}.flow_settle(p_queue, p_channel, p_now, ARRAY[p_id],
          'complete');
      END IF;`,
    )
  }
      ${keepOf("r.age", "r.count", "r.at")}
      ${
    retainSteps(s, "'complete'", {
      drop: "v_drop",
      keep: "v_keep",
      now: "p_now",
      save: v >= 5,
      retained: v >= 8,
    })
  }
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
