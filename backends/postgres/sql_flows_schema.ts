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
 * The steps of retry_flow_job from migration 17 on, after the parents of
 * the jobs to re-arm (v_set) are share-locked: those with another parent
 * failed or cancelled, not back to work in this step, are taken out of
 * v_set, and so, round after round, are the jobs they cancelled (v_all
 * keeps every one met); then the "continue" dependents of the jobs back to
 * work that wait or were released are locked in id order (v_kids).
 */
function keepBlocked(s: string): string {
  const otherFailed = `EXISTS (SELECT 1
            FROM json_each_text(c.flow_parents::json) AS x(ref, id)
            CROSS JOIN LATERAL (SELECT q.status FROM ${s}.jobs q
              WHERE q.queue = p_queue AND q.id = x.id OFFSET 0) q
            WHERE x.id <> p_id AND x.id <> ALL(v_set)
              AND q.status IN ('failed', 'cancelled'))`;
  return `
      v_all := v_set;
      LOOP
        v_drop := ARRAY(SELECT c.id FROM ${
    probe(
      s,
      "unnest(v_set) AS ids(id)",
      "c",
      "c.id, c.blocked_by, c.flow_parents",
    )
  }
          WHERE (c.blocked_by <> p_id AND c.blocked_by <> ALL(v_set))
            OR ${otherFailed});
        EXIT WHEN cardinality(v_drop) = 0;
        v_set := ARRAY(SELECT x FROM unnest(v_set) x WHERE x <> ALL(v_drop));
      END LOOP;
      SELECT array_agg(k.at) INTO v_kids FROM (
          SELECT DISTINCT c.id FROM ${
    probe(s, "unnest(v_set || p_id) AS ids(id)", "f", "f.flow_children")
  }
          CROSS JOIN LATERAL unnest(f.flow_children) AS c(id)
          ORDER BY c.id
        ) c
        CROSS JOIN LATERAL (SELECT j.ctid AS at FROM ${s}.jobs j
          WHERE j.queue = p_queue AND j.id = c.id AND j.flow_continue
            AND j.status IN ('waiting', 'pending')
          FOR UPDATE OF j) k;`;
}

/**
 * The CTEs of retry_flow_job from migration 17 on: `blocked`, the jobs
 * the retried one (or one re-armed) cancelled that stay cancelled, by
 * their first other parent failed or cancelled (in dependsOn order) now,
 * named in their error;
 * `rewaited`, the "continue" dependents of the jobs back to work (v_kids)
 * waiting again, counting their unfinished parents (`unfinished`, those
 * back to work among them), with `was` their status before.
 */
function rewait(
  s: string,
  unfinished: (parents: string, also: string) => string,
): string {
  return `, blocked AS (
        UPDATE ${s}.jobs j SET blocked_by = b.id,
          error = jsonb_build_object('name', 'CancelledError', 'message',
            'parent "' || b.flow_ref || '" ' || CASE b.status
              WHEN 'failed' THEN 'failed' ELSE 'was cancelled' END)::text,
          version = j.version + 1, updated_at = p_now
        FROM (SELECT c.at, q.id, q.flow_ref, q.status FROM ${
    probe(
      s,
      "unnest(v_all) AS ids(id)",
      "c",
      "c.ctid AS at, c.blocked_by, c.flow_parents",
      "AND c.status = 'cancelled'",
    )
  }
          CROSS JOIN LATERAL (SELECT q.id, q.flow_ref, q.status
            FROM json_each_text(c.flow_parents::json)
              WITH ORDINALITY AS x(ref, id, n)
            CROSS JOIN LATERAL (SELECT q.id, q.flow_ref, q.status
              FROM ${s}.jobs q WHERE q.queue = p_queue AND q.id = x.id
              OFFSET 0) q
            WHERE x.id <> p_id AND x.id <> ALL(v_set)
              AND q.status IN ('failed', 'cancelled')
            ORDER BY x.n LIMIT 1) q
          WHERE ids.id <> ALL(v_set)
            AND (c.blocked_by = p_id OR c.blocked_by = ANY(v_set))) b
        WHERE j.ctid = b.at
        RETURNING j.*
      ), rewaited AS (
        UPDATE ${s}.jobs j SET status = 'waiting',
          waiting_on = ${
    unfinished("j.flow_parents", " OR p.id = ANY(v_set) OR p.id = p_id")
  },
          version = CASE WHEN k.was = 'waiting' THEN j.version
            ELSE j.version + 1 END,
          updated_at = CASE WHEN k.was = 'waiting' THEN j.updated_at
            ELSE p_now END
        FROM (SELECT c.at, c.status AS was FROM unnest(v_kids) AS u(at)
          CROSS JOIN LATERAL (SELECT o.ctid AS at, o.status FROM ${s}.jobs o
            WHERE o.ctid = u.at OFFSET 0) c) k
        WHERE j.ctid = k.at AND j.flow_continue
          AND j.status IN ('waiting', 'pending')
        RETURNING j AS job, k.was
      )`;
}

/**
 * Migration 17 (`s` the quoted schema): retry_flow_job made again so that
 * a job cancelled because of the retried one (or of one re-armed with it)
 * waits again only when no other parent of it failed or was cancelled;
 * else it stays cancelled, by that parent now, named in its error (its
 * retry re-arms it), and so do the jobs it cancelled. And the "continue"
 * dependents of the jobs back to work count them unfinished again: those
 * released and not started yet wait again. Before, a job with two failed
 * parents ran once one of them was retried and completed, and a
 * "continue" dependent could start while its retried parent ran again.
 */
export function retryMigration(s: string): string {
  return retryFunction(s, 17);
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
 * would let two batches of deletes wait for each other.
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

/**
 * Migration 19 (`s` the quoted schema): retry_flow_job and cancel_flow take
 * their flow's turn first (flowTurn), so that a retry and a cancelFlow of
 * one flow no longer interleave: a retry's locks could deadlock with the
 * cancel's (the retry failed with a deadlock error), and a cancel that
 * read the flow before a retry committed left a dependent waiting on a
 * cancelled parent for ever. And retry_flow_job no longer retries a job
 * that follows "cancel" with a parent failed or cancelled (cancelFollows):
 * it made it pending, and it ran before that parent.
 */
export function flowTurnMigration(s: string): string {
  return [retryFunction(s, 19), cancelFlowFunction(s, 19)].join("\n");
}

/**
 * The first step of retry_flow_job from migration 19 on: the job's flow
 * read, and its turn taken (a transaction advisory lock on the queue and
 * flow, which cancel_flow takes too); false when the job is not of a flow.
 */
function flowTurn(s: string): string {
  return `
      SELECT j.flow_id INTO v_flow FROM ${s}.jobs j
      WHERE j.queue = p_queue AND j.id = p_id;
      IF v_flow IS NULL THEN
        RETURN false;
      END IF;
      PERFORM pg_advisory_xact_lock(
        hashtextextended(p_queue || E'\\n' || v_flow, 0));`;
}

/**
 * The step of retry_flow_job from migration 19 on after the job is locked:
 * a job that follows "cancel" with a parent failed or cancelled is not
 * retried (false): it would run without that parent.
 */
function cancelFollows(s: string): string {
  return `
      IF NOT coalesce(v_job.flow_continue, false) AND EXISTS (SELECT 1
          FROM json_each_text(v_job.flow_parents::json) AS x(ref, id)
          CROSS JOIN LATERAL (SELECT q.status FROM ${s}.jobs q
            WHERE q.queue = p_queue AND q.id = x.id OFFSET 0) q
          WHERE q.status IN ('failed', 'cancelled')) THEN
        RETURN false;
      END IF;`;
}

/**
 * `retry_flow_job(queue, channel, now, id)`: retries a failed or cancelled
 * flow job: waiting when some parent is unfinished, else pending (due
 * now, with a wake); then every job cancelled because of it, transitively,
 * back to waiting, counting its unfinished parents (those re-armed among
 * them). The parents are share-locked first, so a parent finishing at the
 * same moment is seen finished or settles after. False when there is no
 * such job. From migration 17 on (see retryMigration), a job with another
 * parent failed or cancelled stays cancelled by it, and the "continue"
 * dependents of the jobs back to work wait for them again.
 */
function retryFunction(s: string, v: 6 | 17 | 19): string {
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
  return `${
    v >= 17 ? "CREATE OR REPLACE" : "CREATE"
  } FUNCTION ${s}.retry_flow_job(p_queue text, p_channel text,
      p_now float8, p_id text)
      RETURNS boolean
    LANGUAGE plpgsql VOLATILE ${FLOW_SETTINGS}
    AS $retry$
    DECLARE
      v_job ${s}.jobs;
      v_set text[];
      v_at tid[];
      v_n integer;
      v_notes integer;${
    v >= 17
      ? `
      v_all text[];
      v_drop text[];
      v_kids tid[];`
      : ""
  }${v >= 19 ? "\n      v_flow text;" : ""}
    BEGIN${v >= 19 ? flowTurn(s) : ""}
      SELECT * INTO v_job FROM ${s}.jobs j
      WHERE j.queue = p_queue AND j.id = p_id AND j.flow_id IS NOT NULL
        AND j.status IN ('failed', 'cancelled')
        AND (j.expires_at IS NULL OR j.expires_at > p_now)
      FOR UPDATE;
      IF NOT FOUND THEN
        RETURN false;
      END IF;${v >= 19 ? cancelFollows(s) : ""}
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
          FOR SHARE OF p) l;${v >= 17 ? keepBlocked(s) : ""}
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
      )${v >= 17 ? rewait(s, unfinished) : ""}, changed AS (
        SELECT * FROM up UNION ALL SELECT * FROM arm${
    v >= 17
      ? `
        UNION ALL SELECT * FROM blocked
        UNION ALL SELECT (r.job).* FROM rewaited r WHERE r.was <> 'waiting'`
      : ""
  }
      ), notes AS (
        ${notifyUpdates("changed", "p_channel")}
        UNION ALL
        SELECT pg_notify(p_channel, json_build_array('w', p_now)::text)
          FROM up WHERE status = 'pending'
      )
      SELECT (SELECT count(*) FROM ${
    v >= 17 ? "up) + (SELECT count(*) FROM arm" : "changed"
  }), (SELECT count(*) FROM notes)
      INTO v_n, v_notes;
      PERFORM ${s}.flow_account(p_queue, v_job.flow_id COLLATE "default",
        v_n, '{}');
      RETURN true;
    END
    $retry$;`;
}
