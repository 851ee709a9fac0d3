/**
 * Flows in the PostgreSQL backend (SPEC §12), as SQL text: migration 6 and
 * the statements of the flow transitions. Holds SQL text only and runs
 * nothing; transitions_flows.ts runs the statements, and the finishing
 * functions (sql_retention.ts, sql_claim.ts) call `flow_settle` for a
 * finished flow job.
 *
 * What a flow job keeps on its row (all null on a plain job, so a plain
 * job pays nothing: no index entry, no extra statement): `flow_id`,
 * `flow_ref`, `flow_parents` (JSON, ref to id), `flow_continue` (its
 * onParentFailure is "continue"), `flow_children` (ids, null when none),
 * `flow_delay` (its delay as enqueued), `waiting_on` (parents not yet
 * finished for it) and `blocked_by` (the parent whose failure cancelled
 * it, for retry's re-arm). The `jobs_flow` index is partial, on flow jobs
 * only. Per flow: a `flows` row counts its unfinished jobs (and is the lock
 * that orders two steps of one flow: jobs, then the flow row, then
 * dependents), and `flow_results` keeps what a finished job with dependents
 * left, for parentResults after retention removed the job. Both go when the
 * count reaches 0, so nothing of a flow outlives its last unfinished job; a
 * retry makes the row again.
 *
 * @module
 */

import { claimFunction } from "./sql_claim.ts";
import { notifyUpdates, updatePayload } from "./sql_final.ts";
import { arrivalsOf } from "./sql_limits.ts";
import { finishFunctions, retainSteps } from "./sql_retention.ts";

/**
 * The settings the flow functions are planned and run with, as the
 * finishing functions' (sql_retention.ts): index scans only, by generic
 * plans, and no nested loop but the ones a LATERAL lookup forces, so that
 * a dependent is found by a primary-key probe from the ids its parent
 * lists and updated by ctid, never by a scan of the queue, whatever the
 * statistics say (they say a queue is small more often than not). A flow
 * function is called with the default collation (its callers say so where
 * an argument comes from an id column, "C"), so that its queue parameter
 * still matches the primary key; an array of ids is compared in "C", the
 * collation of the id column, or the probe would not use the key's index.
 */
const FLOW_SETTINGS = "SET enable_seqscan = off SET enable_bitmapscan = off" +
  " SET enable_nestloop = off SET enable_mergejoin = off SET jit = off" +
  " SET plan_cache_mode = force_generic_plan";

const FINISHED = "('complete', 'failed', 'cancelled')";

/**
 * A FROM item of schema `s`: for each id of `ids` (a FROM item with an
 * `id` column), its job as `alias` with `cols` (and `where`), found by
 * a primary-key probe of its own (a LATERAL subquery kept apart by OFFSET
 * 0). A generic plan of `id = ANY(array)` would guess the array's size and
 * could read the whole queue instead.
 */
function probe(
  s: string,
  ids: string,
  alias: string,
  cols: string,
  where = "",
): string {
  return `${ids} CROSS JOIN LATERAL (SELECT ${cols} FROM ${s}.jobs ${alias}
            WHERE ${alias}.queue = p_queue AND ${alias}.id = ids.id ${where}
            OFFSET 0) ${alias}`;
}

/** Migration 6 (`s` the quoted schema): flows. */
export function flowsMigration(s: string): string {
  return [
    flowTables(s),
    settleFunction(s),
    accountFunction(s),
    cancelFlowFunction(s, 6),
    removeFunction(s),
    retryFunction(s),
    claimFunction(s, 6),
    finishFunctions(s, 6),
  ].join("\n");
}

/**
 * The columns, the index, the two tables, and the old signatures of the
 * functions that now take the queue's channel dropped.
 */
function flowTables(s: string): string {
  return `ALTER TABLE ${s}.jobs
      ADD COLUMN flow_id text COLLATE "C",
      ADD COLUMN flow_ref text,
      ADD COLUMN flow_parents text,
      ADD COLUMN flow_continue boolean,
      ADD COLUMN flow_children text[],
      ADD COLUMN flow_delay float8,
      ADD COLUMN waiting_on integer,
      ADD COLUMN blocked_by text;
    CREATE INDEX jobs_flow ON ${s}.jobs (queue, flow_id, seq)
      WHERE flow_id IS NOT NULL;
    CREATE TABLE ${s}.flows (
      queue text NOT NULL,
      id text COLLATE "C" NOT NULL,
      unfinished integer NOT NULL,
      PRIMARY KEY (queue, id)
    );
    CREATE TABLE ${s}.flow_results (
      queue text NOT NULL,
      id text COLLATE "C" NOT NULL,
      flow_id text COLLATE "C" NOT NULL,
      status text NOT NULL,
      result text,
      error text,
      PRIMARY KEY (queue, id)
    );
    CREATE INDEX flow_results_flow ON ${s}.flow_results (queue, flow_id);
    DROP FUNCTION ${s}.claim_jobs(text, float8, text, integer, float8);
    DROP FUNCTION ${s}.complete_jobs(text, text);
    DROP FUNCTION ${s}.complete_job(text, text, text, text, float8);
    DROP FUNCTION ${s}.fail_job(text, text, text, float8, text, float8);
    DROP FUNCTION ${s}.cancel_job(text, text, float8, text);`;
}

/**
 * `flow_settle(queue, channel, now, ids, status)`: what flow jobs that
 * just finished as `status` (the jobs of one finishing step, of any flows)
 * do to their dependents, in rounds: each waiting child of the round's
 * jobs counts them as finished (becoming pending, due after its own delay,
 * at 0), or, when they failed or were cancelled and it does not continue,
 * is cancelled naming its direct parent and joins the next round. Each
 * round locks its waiting children in id order, then updates them. Notifies every
 * change and one wake; then counts the finished jobs off their flows, one
 * flow row after another in id order (flow_account), and applies the
 * cancelled jobs' keep rules as cancel does (their updates are sent before
 * any is deleted). Called by the finishing functions while the finished
 * jobs' rows still exist, after they locked them.
 *
 * Lock order, the same in every flow step: the finished (or cancelled,
 * retried) jobs, then their dependents, then the flow rows. A flow row is
 * taken last, so nobody holding one waits for a job.
 */
export function settleFunction(s: string, v: 6 | 8 = 6): string {
  const cut = "(NOT v_release AND NOT j.flow_continue)";
  const freed = `(NOT ${cut} AND j.waiting_on <= k.n)`;
  return `${
    v === 6 ? "CREATE" : "CREATE OR REPLACE"
  } FUNCTION ${s}.flow_settle(p_queue text, p_channel text,
      p_now float8, p_ids text[], p_status text)
      RETURNS void
    LANGUAGE plpgsql VOLATILE ${FLOW_SETTINGS}
    AS $settle$
    DECLARE
      v_front text[] := p_ids;
      v_done text[] := p_ids;
      v_release boolean := p_status = 'complete';
      v_verb text := CASE p_status WHEN 'failed' THEN 'failed'
        ELSE 'was cancelled' END;
      v_wake float8;
      v_drop tid[];
      v_keep integer;
      v_ids text[];
      v_ns integer[];
      v_parents text[];
      v_refs text[];
      v_ats tid[];
      r record;
    BEGIN
      IF cardinality(p_ids) = 0 THEN
        RETURN;
      END IF;
      LOOP
        -- The waiting children, locked in id order by a statement of
        -- their own: the update below then runs on a snapshot taken after
        -- the locks, so a child that a parent finishing in another
        -- transaction changed meanwhile is seen as it now is (by an old
        -- ctid, or in the same statement, the update would skip it and
        -- the child would wait for ever).
        SELECT array_agg(k.id), array_agg(k.n), array_agg(k.parent),
          array_agg(k.ref), array_agg(x.at)
        INTO v_ids, v_ns, v_parents, v_refs, v_ats
        FROM (
          SELECT k.id, count(*)::int AS n,
            (array_agg(f.id ORDER BY f.id))[1] AS parent,
            (array_agg(f.flow_ref ORDER BY f.id))[1] AS ref
          FROM ${
    probe(
      s,
      "unnest(v_front) AS ids(id)",
      "f",
      "f.id, f.flow_ref, f.flow_children",
    )
  }
          CROSS JOIN LATERAL unnest(f.flow_children) AS k(id)
          GROUP BY k.id ORDER BY k.id
        ) k
        CROSS JOIN LATERAL (SELECT j.ctid AS at FROM ${s}.jobs j
          WHERE j.queue = p_queue AND j.id = k.id AND j.status = 'waiting'
          FOR UPDATE OF j) x;
        WITH found AS (
          SELECT * FROM unnest(v_ids, v_ns, v_parents, v_refs, v_ats)
            AS f(id, n, parent, ref, at)
        ), changed AS (
          UPDATE ${s}.jobs j SET
            status = CASE WHEN ${cut} THEN 'cancelled'
              WHEN j.waiting_on <= k.n THEN 'pending' ELSE 'waiting' END,
            waiting_on = CASE WHEN ${cut} THEN j.waiting_on
              ELSE greatest(j.waiting_on - k.n, 0) END,
            run_at = CASE WHEN ${freed}
              THEN p_now + coalesce(j.flow_delay, 0) ELSE j.run_at END,
            error = CASE WHEN ${cut} THEN jsonb_build_object(
              'name', 'CancelledError',
              'message', 'parent "' || k.ref || '" ' || v_verb)::text
              ELSE j.error END,
            completed_at = CASE WHEN ${cut} THEN p_now ELSE j.completed_at END,
            remove_at = CASE WHEN ${cut} THEN p_now + j.keep_failed_age
              ELSE j.remove_at END,
            blocked_by = CASE WHEN ${cut} THEN k.parent ELSE j.blocked_by END,
            version = CASE WHEN ${cut} OR ${freed} THEN j.version + 1
              ELSE j.version END,
            updated_at = CASE WHEN ${cut} OR ${freed} THEN p_now
              ELSE j.updated_at END
          FROM found k
          WHERE j.ctid = ANY(v_ats)
            AND j.id = k.id AND j.status = 'waiting'
          RETURNING j.*, j.ctid AS at
        ), shown AS (
          SELECT * FROM changed WHERE status <> 'waiting'
        ), notes AS (${notifyUpdates("shown", "p_channel")})
        SELECT array_agg(c.id) FILTER (WHERE c.status = 'cancelled') AS cut,
          min(c.run_at) FILTER (WHERE c.status = 'pending') AS wake,
          array_agg(c.at) FILTER (WHERE c.status = 'cancelled'
            AND (c.keep_failed_age = 0 OR c.keep_failed_count = 0)) AS dropped,
          min(c.keep_failed_count) FILTER (WHERE c.status = 'cancelled'
            AND c.keep_failed_age IS DISTINCT FROM 0) AS keep,
          (SELECT count(*) FROM notes) AS notes
        INTO r FROM changed c;
        v_wake := least(v_wake, r.wake);
        v_drop := v_drop || r.dropped;
        v_keep := least(v_keep, r.keep);
        EXIT WHEN r.cut IS NULL;
        v_done := v_done || r.cut;
        v_front := r.cut;
        v_verb := 'was cancelled';
      END LOOP;
      FOR r IN SELECT j.flow_id COLLATE "default" AS flow,
          array_agg(j.id) AS ids
        FROM ${probe(s, "unnest(v_done) AS ids(id)", "j", "j.id, j.flow_id")}
        GROUP BY j.flow_id ORDER BY j.flow_id LOOP
        PERFORM ${s}.flow_account(p_queue, r.flow, -cardinality(r.ids), r.ids);
      END LOOP;
      IF v_wake IS NOT NULL THEN
        PERFORM pg_notify(p_channel, json_build_array('w', v_wake)::text);
      END IF;
      ${
    retainSteps(s, "'cancelled'", {
      drop: "v_drop",
      keep: "v_keep",
      now: null,
      save: true,
      retained: v >= 8,
    })
  }
    END
    $settle$;`;
}

/**
 * `flow_account(queue, flow, delta, done)`: adds `delta` to the flow's
 * count of unfinished jobs (making its row when a retry brings it back).
 * At 0 the row and the kept results go; else the jobs of `done` that have
 * dependents and are finished leave their result or error for
 * parentResults.
 */
function accountFunction(s: string): string {
  return `CREATE FUNCTION ${s}.flow_account(p_queue text, p_flow text,
      p_delta integer, p_done text[])
      RETURNS void
    LANGUAGE plpgsql VOLATILE ${FLOW_SETTINGS}
    AS $account$
    DECLARE
      v_left integer;
    BEGIN
      IF p_delta > 0 THEN
        INSERT INTO ${s}.flows AS w (queue, id, unfinished)
        VALUES (p_queue, p_flow, p_delta)
        ON CONFLICT (queue, id)
        DO UPDATE SET unfinished = w.unfinished + excluded.unfinished;
        RETURN;
      END IF;
      UPDATE ${s}.flows w SET unfinished = w.unfinished + p_delta
      WHERE w.queue = p_queue AND w.id = p_flow
      RETURNING w.unfinished INTO v_left;
      IF v_left IS NULL OR v_left <= 0 THEN
        DELETE FROM ${s}.flows w WHERE w.queue = p_queue AND w.id = p_flow;
        DELETE FROM ${s}.flow_results x
        WHERE x.queue = p_queue AND x.flow_id = p_flow;
      ELSE
        INSERT INTO ${s}.flow_results AS x (queue, id, flow_id, status,
          result, error)
        SELECT p_queue, j.id, p_flow, j.status, j.result, j.error
        FROM ${
    probe(
      s,
      "unnest(p_done) AS ids(id)",
      "j",
      "j.id, j.status, j.result, j.error",
      `AND j.flow_children IS NOT NULL AND j.status IN ${FINISHED}`,
    )
  }
        ON CONFLICT (queue, id) DO UPDATE SET status = excluded.status,
          result = excluded.result, error = excluded.error;
      END IF;
    END
    $account$;`;
}

/**
 * `cancel_flow(queue, channel, now, flow, error)`: cancels every waiting,
 * pending or processing job of a flow (a `cancel` event for the processing
 * ones, an update for each), counts them off the flow and applies their
 * keep rules; returns how many.
 */
export function cancelFlowFunction(s: string, v: 6 | 7 | 8): string {
  const seven = (text: string) => v >= 7 ? text : "";
  return `${
    v >= 7 ? "CREATE OR REPLACE" : "CREATE"
  } FUNCTION ${s}.cancel_flow(p_queue text, p_channel text,
      p_now float8, p_flow text, p_error text)
      RETURNS integer
    LANGUAGE plpgsql VOLATILE ${FLOW_SETTINGS}
    AS $cancel$
    DECLARE
      v_at tid[];
      v_busy text[];
      v_done text[];
      v_drop tid[];
      v_keep integer;
      v_notes integer;${
    seven(`
      v_types text[];
      v_groups text[];`)
  }
    BEGIN
      SELECT array_agg(x.at), array_agg(x.id) FILTER (
        WHERE x.status = 'processing')${
    seven(`,
        array_agg(x.type) FILTER (WHERE x.status = 'processing'),
        array_agg(x.job_group) FILTER (WHERE x.status = 'processing')`)
  }
      INTO v_at, v_busy${seven(", v_types, v_groups")}
      FROM (SELECT o.ctid AS at, o.id, o.status${
    seven(", o.type, o.job_group")
  } FROM ${s}.jobs o
        WHERE o.queue = p_queue AND o.flow_id = p_flow
          AND o.status IN ('waiting', 'pending', 'processing')
        ORDER BY o.seq FOR UPDATE OF o) x;
      IF v_at IS NULL THEN
        RETURN 0;
      END IF;
      WITH changed AS (
        UPDATE ${s}.jobs j SET status = 'cancelled', error = p_error,
          held_key = NULL, lease_token = NULL, lease_until = NULL,
          completed_at = p_now, remove_at = p_now + j.keep_failed_age,
          version = j.version + 1, updated_at = p_now
        WHERE j.ctid = ANY(v_at)
        RETURNING j.*, j.ctid AS at
      ), notes AS (
        SELECT pg_notify(p_channel, json_build_array('c', b)::text)
          FROM unnest(v_busy) b
        UNION ALL
        ${notifyUpdates("changed", "p_channel")}
      )
      SELECT array_agg(c.id), array_agg(c.at) FILTER (
          WHERE c.keep_failed_age = 0 OR c.keep_failed_count = 0),
        min(c.keep_failed_count) FILTER (
          WHERE c.keep_failed_age IS DISTINCT FROM 0),
        (SELECT count(*) FROM notes)
      INTO v_done, v_drop, v_keep, v_notes FROM changed c;
      PERFORM ${s}.flow_account(p_queue, p_flow, -cardinality(v_done), v_done);${
    seven(`
      IF v_busy IS NOT NULL AND EXISTS (SELECT 1 FROM ${s}.limits m
        WHERE m.queue = p_queue) THEN
        PERFORM ${s}.limits_stopped(p_queue, p_channel, p_now, v_types,
          v_groups);
      END IF;`)
  }
      ${
    retainSteps(s, "'cancelled'", {
      drop: "v_drop",
      keep: "v_keep",
      now: null,
      save: true,
      retained: v >= 8,
    })
  }
      RETURN cardinality(v_done);
    END
    $cancel$;`;
}

/**
 * `remove_flow_job(queue, channel, now, id, error)`: removes a flow job,
 * cancelling it first when unfinished (cancel_job: its dependents settle;
 * its update and, when processing, its `cancel` event are sent). Null
 * when there is no such job, else true.
 */
function removeFunction(s: string): string {
  return `CREATE FUNCTION ${s}.remove_flow_job(p_queue text, p_channel text,
      p_now float8, p_id text, p_error text)
      RETURNS boolean
    LANGUAGE plpgsql VOLATILE ${FLOW_SETTINGS}
    AS $remove$
    DECLARE
      v_status text;
      v_notes integer;
    BEGIN
      SELECT j.status INTO v_status FROM ${s}.jobs j
      WHERE j.queue = p_queue AND j.id = p_id AND j.flow_id IS NOT NULL
      FOR UPDATE;
      IF NOT FOUND THEN
        RETURN NULL;
      END IF;
      IF v_status NOT IN ${FINISHED} THEN
        WITH c AS (
          SELECT was, (job).* FROM ${s}.cancel_job(p_queue, p_id, p_now,
            p_error, p_channel)
        ), notes AS (
          SELECT pg_notify(p_channel, json_build_array('c', id)::text)
            FROM c WHERE was = 'processing'
          UNION ALL
          ${notifyUpdates("c", "p_channel")}
        )
        SELECT count(*) INTO v_notes FROM notes;
      END IF;
      DELETE FROM ${s}.jobs j WHERE j.queue = p_queue AND j.id = p_id;
      RETURN true;
    END
    $remove$;`;
}

/**
 * `retry_flow_job(queue, channel, now, id)`: retries a failed or cancelled
 * flow job: waiting when some parent is unfinished, else pending (due
 * now, with a wake); then every job cancelled because of it, transitively,
 * back to waiting, counting its unfinished parents (those re-armed among
 * them). The parents are share-locked first, so a parent finishing at the
 * same moment is seen finished or settles after. False when there is no
 * such job.
 */
function retryFunction(s: string): string {
  // How many of the parents (JSON, ref to id) of a job are stored and
  // unfinished, or are among \`also\`.
  const unfinished = (parents: string, also: string) =>
    `(SELECT count(*)::int FROM ${
      probe(
        s,
        `json_each_text(${parents}::json) AS ids(ref, id)`,
        "p",
        "p.id, p.status",
      )
    } WHERE p.status NOT IN ${FINISHED}${also})`;
  // The jobs among \`ids\` (k.id) cancelled because of \`by\`.
  const armed = (ids: string, by: string) =>
    `x.id FROM ${ids}
          CROSS JOIN LATERAL (SELECT c.id FROM ${s}.jobs c
            WHERE c.queue = p_queue AND c.id = k.id
              AND c.status = 'cancelled' AND c.blocked_by = ${by}
            OFFSET 0) x`;
  return `CREATE FUNCTION ${s}.retry_flow_job(p_queue text, p_channel text,
      p_now float8, p_id text)
      RETURNS boolean
    LANGUAGE plpgsql VOLATILE ${FLOW_SETTINGS}
    AS $retry$
    DECLARE
      v_job ${s}.jobs;
      v_set text[];
      v_at tid[];
      v_n integer;
      v_notes integer;
    BEGIN
      SELECT * INTO v_job FROM ${s}.jobs j
      WHERE j.queue = p_queue AND j.id = p_id AND j.flow_id IS NOT NULL
        AND j.status IN ('failed', 'cancelled')
        AND (j.expires_at IS NULL OR j.expires_at > p_now)
      FOR UPDATE;
      IF NOT FOUND THEN
        RETURN false;
      END IF;
      WITH RECURSIVE r(id) AS (
        SELECT ${armed("unnest(v_job.flow_children) AS k(id)", "p_id")}
        UNION
        SELECT ${
    armed(
      `r CROSS JOIN LATERAL (SELECT p.flow_children FROM ${s}.jobs p
            WHERE p.queue = p_queue AND p.id = r.id OFFSET 0) p
          CROSS JOIN LATERAL unnest(p.flow_children) AS k(id)`,
      "r.id",
    )
  }
      )
      SELECT coalesce(array_agg(r.id), '{}') INTO v_set FROM r;
      -- Their parents first, in id order: one finishing now settles before.
      PERFORM 1 FROM (SELECT DISTINCT x.id FROM ${
    probe(
      s,
      "unnest(v_set || p_id) AS ids(id)",
      "c",
      "c.flow_parents",
    )
  } CROSS JOIN LATERAL json_each_text(c.flow_parents::json) AS x(ref, id)
          ORDER BY x.id) ids
        CROSS JOIN LATERAL (SELECT 1 FROM ${s}.jobs p
          WHERE p.queue = p_queue AND p.id = ids.id
          FOR SHARE OF p) l;
      SELECT array_agg(c.at) INTO v_at FROM ${
    probe(
      s,
      "unnest(v_set) AS ids(id)",
      "c",
      "c.ctid AS at",
      "AND c.status = 'cancelled'",
    )
  };
      WITH up AS (
        UPDATE ${s}.jobs j SET
          status = CASE WHEN x.n > 0 THEN 'waiting' ELSE 'pending' END,
          waiting_on = x.n,
          run_at = CASE WHEN x.n > 0 THEN j.run_at ELSE p_now END,
          attempt = 0, error = NULL, result = NULL, progress = 0,
          message = '', completed_at = NULL, remove_at = NULL,
          blocked_by = NULL, version = j.version + 1, updated_at = p_now
        FROM (SELECT ${unfinished("v_job.flow_parents", "")} AS n) x
        WHERE j.queue = p_queue AND j.id = p_id
        RETURNING j.*
      ), arm AS (
        UPDATE ${s}.jobs j SET status = 'waiting',
          waiting_on = ${
    unfinished("j.flow_parents", " OR p.id = ANY(v_set) OR p.id = p_id")
  },
          error = NULL, result = NULL, completed_at = NULL, remove_at = NULL,
          blocked_by = NULL, version = j.version + 1, updated_at = p_now
        WHERE j.ctid = ANY(v_at) AND j.status = 'cancelled'
        RETURNING j.*
      ), changed AS (
        SELECT * FROM up UNION ALL SELECT * FROM arm
      ), notes AS (
        ${notifyUpdates("changed", "p_channel")}
        UNION ALL
        SELECT pg_notify(p_channel, json_build_array('w', p_now)::text)
          FROM up WHERE status = 'pending'
      )
      SELECT (SELECT count(*) FROM changed), (SELECT count(*) FROM notes)
      INTO v_n, v_notes;
      PERFORM ${s}.flow_account(p_queue, v_job.flow_id COLLATE "default",
        v_n, '{}');
      RETURN true;
    END
    $retry$;`;
}

/** The flow statements of one schema. */
export interface FlowStatements {
  /**
   * $1 queue, $2 channel, $3 flow id, $4 the jobs as a JSON array
   * (records.ts, flowJson): stores them in the order given, waiting or
   * pending, and the flow's row; notifies an update per job, in order, and
   * one wake when any is pending.
   */
  enqueue: string;
  /** $1 queue, $2 flow id, $3 now: `ref, id, status, parents` by seq. */
  get: string;
  /** $1 queue, $2 channel, $3 now, $4 flow id, $5 error: `n` cancelled. */
  cancel: string;
  /**
   * $1 queue, $2 id, $3 now: per parent `ref`, and from its job, or else
   * its kept copy, `status, result, error` (all null when neither).
   */
  parents: string;
}

/** Builds the flow statements of a schema (`s` quoted). */
export function flowStatements(s: string): FlowStatements {
  const t = `${s}.jobs`;
  const cols = "id text, type text, data text, priority int, " +
    "max_attempts int, run_at float8, created_at float8, metadata text, " +
    "kca float8, kcc int, kfa float8, kfc int, ref text, parents text, " +
    "cont boolean, children text[], waiting int, grp text";
  const names = cols.split(", ").map((c) => c.split(" ")[0]).join(", ");
  return {
    enqueue: `WITH ins AS (
      INSERT INTO ${t} (queue, id, type, data, priority, max_attempts, run_at,
        created_at, metadata, status, updated_at, keep_complete_age,
        keep_complete_count, keep_failed_age, keep_failed_count, flow_id,
        flow_ref, flow_parents, flow_continue, flow_children, flow_delay,
        waiting_on, job_group)
      SELECT $1, i.id, i.type, i.data, i.priority, i.max_attempts, i.run_at,
        i.created_at, i.metadata,
        CASE WHEN i.waiting > 0 THEN 'waiting' ELSE 'pending' END,
        i.created_at, i.kca, i.kcc, i.kfa, i.kfc, $3, i.ref, i.parents,
        i.cont, i.children, i.run_at - i.created_at, i.waiting, i.grp
      FROM ROWS FROM (json_to_recordset($4::text::json) AS (${cols}))
        WITH ORDINALITY AS i(${names}, ord)
      ORDER BY i.ord
      RETURNING *
    ), arrived AS (
      ${arrivalsOf(s, "ins")}
    ), flow AS (
      INSERT INTO ${s}.flows (queue, id, unfinished)
      SELECT $1, $3, count(*) FROM ins
      RETURNING 1
    ), notes AS (
      SELECT pg_notify($2, m.msg) FROM (
        SELECT '["p",' || string_agg(q, ',' ORDER BY seq) || ']' AS msg
        FROM (SELECT seq, ${updatePayload()} AS q,
            (row_number() OVER (ORDER BY seq) - 1) / 25 AS chunk
          FROM ins) x
        GROUP BY chunk ORDER BY chunk OFFSET 0) m
      UNION ALL
      SELECT pg_notify($2, json_build_array('w', min(run_at))::text)
        FROM ins WHERE status = 'pending' HAVING count(*) > 0
    )
    SELECT (SELECT count(*) FROM flow)::int AS flows,
      (SELECT count(*) FROM notes)::int AS notes`,
    get: `SELECT j.flow_ref AS ref, j.id, j.status, j.flow_parents AS parents
      FROM ${t} j
      WHERE j.queue = $1 AND j.flow_id = $2
        AND (j.expires_at IS NULL OR j.expires_at > $3)
      ORDER BY j.seq`,
    cancel: `SELECT ${s}.cancel_flow($1, $2, $3::float8, $4, $5::text) AS n`,
    parents: `SELECT pp.key AS ref,
        CASE WHEN p.id IS NULL THEN r.status ELSE p.status END AS status,
        CASE WHEN p.id IS NULL THEN r.result ELSE p.result END AS result,
        CASE WHEN p.id IS NULL THEN r.error ELSE p.error END AS error
      FROM ${t} c
        CROSS JOIN LATERAL json_each_text(c.flow_parents::json) pp
        LEFT JOIN ${t} p ON p.queue = $1 AND p.id = pp.value
          AND (p.expires_at IS NULL OR p.expires_at > $3)
        LEFT JOIN ${s}.flow_results r ON r.queue = $1
          AND r.id = pp.value
      WHERE c.queue = $1 AND c.id = $2
        AND (c.expires_at IS NULL OR c.expires_at > $3)`,
  };
}
