/**
 * Flows in the PostgreSQL backend (SPEC §12), as SQL text: the functions
 * that settle a finished flow job's dependents (`flow_settle`), count jobs
 * off their flows (`flow_account`) and cancel a flow (`cancel_flow`),
 * which migration 6 makes and later ones make again, and the pieces every
 * flow function shares. Holds SQL text only and runs nothing; migration 6
 * is in sql_flows_schema.ts, the statements of the flow transitions in
 * sql_flows_statements.ts, and the finishing functions (sql_retention.ts,
 * sql_fail.ts, sql_claim.ts) call `flow_settle` for a finished flow job.
 *
 * @module
 */

import { notifyUpdates } from "./sql_final.ts";
import { retainSteps } from "./sql_finish.ts";

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
export const FLOW_SETTINGS =
  "SET enable_seqscan = off SET enable_bitmapscan = off" +
  " SET enable_nestloop = off SET enable_mergejoin = off SET jit = off" +
  " SET plan_cache_mode = force_generic_plan";

/** The statuses of a finished job, as an SQL list. */
export const FINISHED = "('complete', 'failed', 'cancelled')";

/**
 * A FROM item of schema `s`: for each id of `ids` (a FROM item with an
 * `id` column), its job as `alias` with `cols` (and `where`), found by
 * a primary-key probe of its own (a LATERAL subquery kept apart by OFFSET
 * 0). A generic plan of `id = ANY(array)` would guess the array's size and
 * could read the whole queue instead.
 */
export function probe(
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
 * parentResults. From migration 18 on (flowResultsMigration) the kept
 * results stay at 0 too, and the jobs of `done` leave theirs then as well:
 * they go with the flow's last stored job.
 */
export function accountFunction(s: string, v: 6 | 18 = 6): string {
  const keep = `INSERT INTO ${s}.flow_results AS x (queue, id, flow_id, status,
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
          result = excluded.result, error = excluded.error;`;
  const gone =
    `DELETE FROM ${s}.flows w WHERE w.queue = p_queue AND w.id = p_flow;`;
  return `${
    v >= 18 ? "CREATE OR REPLACE" : "CREATE"
  } FUNCTION ${s}.flow_account(p_queue text, p_flow text,
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
      ${
    v >= 18
      ? `IF v_left IS NOT NULL AND v_left <= 0 THEN
        ${gone}
      END IF;
      ${keep}`
      : `IF v_left IS NULL OR v_left <= 0 THEN
        ${gone}
        DELETE FROM ${s}.flow_results x
        WHERE x.queue = p_queue AND x.flow_id = p_flow;
      ELSE
        ${keep}
      END IF;`
  }
    END
    $account$;`;
}

/**
 * `cancel_flow(queue, channel, now, flow, error)`: cancels every waiting,
 * pending or processing job of a flow (a `cancel` event for the processing
 * ones, an update for each), counts them off the flow and applies their
 * keep rules; returns how many.
 */
export function cancelFlowFunction(s: string, v: 6 | 7 | 8 | 19): string {
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
    BEGIN${
    v >= 19
      ? `
      -- the flow's turn (retry_flow_job takes it too: sql_flows_retry.ts)
      PERFORM pg_advisory_xact_lock(
        hashtextextended(p_queue || E'\\n' || p_flow, 0));`
      : ""
  }
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
