/**
 * The flow schema of the PostgreSQL backend (SPEC §12), migration 6 of
 * sql_migrations.ts, as SQL text: the columns and tables of flows, the
 * functions only it makes (`remove_flow_job`, `retry_flow_job`), and the
 * flow, claim and finishing functions it makes again (sql_flows.ts,
 * sql_claim.ts, sql_retention.ts). Holds SQL text only and runs nothing.
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
import { notifyUpdates } from "./sql_final.ts";
import {
  accountFunction,
  cancelFlowFunction,
  FINISHED,
  FLOW_SETTINGS,
  probe,
  settleFunction,
} from "./sql_flows.ts";
import { finishFunctions } from "./sql_retention.ts";

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
