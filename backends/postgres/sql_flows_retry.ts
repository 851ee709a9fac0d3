/**
 * `retry_flow_job` of the PostgreSQL backend (SPEC §12), in each of its
 * versions: migration 6 makes it (sql_flows_schema.ts), 17 re-arms only
 * the dependents with no other parent failed and puts "continue"
 * dependents back to waiting, 19 takes the flow's turn (with cancel_flow)
 * and refuses a "cancel" dependent whose parent failed. Holds SQL text
 * only and runs nothing.
 *
 * @module
 */

import { notifyUpdates } from "./sql_final.ts";
import {
  cancelFlowFunction,
  FINISHED,
  FLOW_SETTINGS,
  probe,
} from "./sql_flows.ts";

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
export function retryFunction(s: string, v: 6 | 17 | 19): string {
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
