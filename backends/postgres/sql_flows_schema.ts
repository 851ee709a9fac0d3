/**
 * The flow schema of the PostgreSQL backend (SPEC §12), migration 6 of
 * sql_migrations.ts, as SQL text: the columns and tables of flows, the
 * functions only it makes (`remove_flow_job`, and `retry_flow_job`, whose
 * versions are in sql_flows_retry.ts), and the flow, claim and finishing
 * functions it makes again (sql_flows.ts, sql_claim.ts, sql_retention.ts);
 * and migration 18, which keeps the results of a flow until its last stored
 * job goes. Holds SQL text only and runs nothing.
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
 * left, for parentResults after retention removed the job. The row goes
 * when the count reaches 0 (a retry makes it again); the results went
 * then too until migration 18, and go with the flow's last stored job
 * since (flow_gone), so that a job retried after its flow finished still
 * reads its parents.
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
  settleFunction,
} from "./sql_flows.ts";
import { retryFunction } from "./sql_flows_retry.ts";
import { finishFunctions } from "./sql_retention.ts";

/** Migration 6 (`s` the quoted schema): flows. */
export function flowsMigration(s: string): string {
  return [
    flowTables(s),
    settleFunction(s),
    accountFunction(s),
    cancelFlowFunction(s, 6),
    removeFunction(s),
    retryFunction(s, 6),
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
 * Migration 18 (`s` the quoted schema): a flow's kept results go with its
 * last stored job, not its last unfinished one, so that a dependent that
 * failed and is retried after every other job of its flow finished still
 * reads its parents. flow_account keeps them at 0 (and the results of the
 * jobs that brought it there); `flow_gone`, after each delete of a job of
 * a flow (retention, remove, clean, expiry alike), drops them, and the
 * flow's count, once the flow index finds no job of it left. It takes no
 * lock: two transactions that delete a flow's last jobs at the same moment
 * each still see the other's, and leave the flow's kept results behind (a
 * row per job with dependents, read by nothing), where a lock per flow
 * would let two batches of deletes wait for each other. Migration 20
 * mends that without a wait (sql_flows_gone.ts).
 */
export function flowResultsMigration(s: string): string {
  return [
    accountFunction(s, 18),
    `CREATE FUNCTION ${s}.flow_gone() RETURNS trigger
    LANGUAGE plpgsql VOLATILE ${FLOW_SETTINGS}
    AS $gone$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM ${s}.jobs j
          WHERE j.queue = OLD.queue AND j.flow_id = OLD.flow_id) THEN
        DELETE FROM ${s}.flow_results x
        WHERE x.queue = OLD.queue AND x.flow_id = OLD.flow_id;
        DELETE FROM ${s}.flows w
        WHERE w.queue = OLD.queue AND w.id = OLD.flow_id;
      END IF;
      RETURN NULL;
    END
    $gone$;
    CREATE TRIGGER jobs_flow_gone AFTER DELETE ON ${s}.jobs
      FOR EACH ROW WHEN (OLD.flow_id IS NOT NULL)
      EXECUTE FUNCTION ${s}.flow_gone();`,
  ].join("\n");
}
