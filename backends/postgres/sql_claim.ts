/**
 * The claim transition of the PostgreSQL backend as a function of the
 * schema: expire the leases that ran out, pick the best claimable jobs, and
 * claim them. Migration 3 made it (one statement); migration 4 replaces it
 * (`claimFunction`) so that a lease that runs out on the last attempt
 * applies the job's `keep_failed` rule (sql_retention.ts), and migration 5
 * again, so that such a job removed at once leaves a final update too large
 * to notify (sql_final.ts), and migration 6 with the queue's channel, so
 * that a flow job failed so settles its dependents (sql_flows.ts), and
 * migration 7 so that a queue with limits or groups claims through
 * `claim_limited` (sql_limits.ts; the plain path pays three probes of
 * small tables) and a lease that runs out is reported to its limits, and
 * migration 8 so that retention reads its one index (sql_retained.ts).
 * The claim and expire statements that call it (and notify and shape the
 * result) are here too, built for sql.ts; a claim may follow an insert in
 * one statement (the hand-off: sql_enqueue.ts, afterInsert).
 * This file holds SQL text only and runs nothing. To change the claim, add a
 * migration that replaces the function; never edit an old one.
 *
 * Why a function: its plan must not come from statistics. A queue table's
 * statistics are stale most of the time (its pending set changes faster
 * than autovacuum analyzes), and a crash restart resets the counters that
 * start autovacuum, so stale statistics then last minutes. When they said
 * a queue held a handful of pending jobs while it held 100,000, the planner
 * read the whole queue through the primary key and sorted it (30-300 ms a
 * claim instead of a fraction of a millisecond); a plan cached while the
 * table was new and small updated claimed rows with a sequential scan. A
 * function's own settings hold while its statement is planned, and only
 * there: with sorts and sequential scans disabled the pick can only walk the
 * claim index in (priority, seq) order and stop at its limit, expiry the
 * lease index, and the updates find their rows by id (a TID scan), whatever
 * the statistics say. Settings on a function cost no round trip, where
 * `SET LOCAL` in a transaction around the claim costs two (0.4 ms a claim
 * here). `jit = off`, as a disabled plan's cost must never start the JIT; a
 * generic plan, as the plan no longer depends on the values, and planning
 * on every call would cost more than the claim.
 *
 * @module
 */

import { notifyUpdates } from "./sql_final.ts";
import { stoppedStep } from "./sql_limits.ts";
import { watchedGate } from "./sql_watchers.ts";
import { type FinishVersion, retainAtNow } from "./sql_finish.ts";
import { settleAll } from "./sql_retention.ts";

/** The settings the claim is planned and run with. */
const PINNED = "SET enable_sort = off SET enable_seqscan = off SET jit = off" +
  " SET plan_cache_mode = force_generic_plan";

/**
 * Migration 3: `claim_jobs(queue, now, types, limit, lease_ms)` in the
 * schema `s` (quoted). It returns `(lapsed, job)` rows: the processing jobs
 * whose lease ran out (lapsed), back to pending or failed; then up to
 * `limit` jobs claimed, best first, from those pending, due, live, of one of
 * `types` (a JSON array, or null for any) and of a type not paused. Rows are
 * picked with `FOR UPDATE SKIP LOCKED`, so claimers never wait for each
 * other. The whole queue's pause row is an InitPlan read once, the paused
 * types a hashed subplan, so a claim with nothing paused pays two probes of
 * an empty index. Leases expired by a statement were not pending when it
 * picked: the next statement claims them.
 */
export function claimMigration(s: string): string {
  return `CREATE FUNCTION ${s}.claim_jobs(p_queue text, p_now float8,
      p_types text, p_limit integer, p_lease_ms float8)
      RETURNS TABLE (lapsed boolean, job ${s}.jobs)
    LANGUAGE plpgsql VOLATILE ROWS 10 ${PINNED}
    AS $claim$
    BEGIN
      RETURN QUERY
      WITH ran_out AS (
        SELECT j.ctid FROM ${s}.jobs j
        WHERE j.queue = p_queue AND j.status = 'processing'
          AND j.lease_until <= p_now
        ORDER BY j.lease_until
        FOR UPDATE OF j SKIP LOCKED
      ), picked AS (
        SELECT j.ctid FROM ${s}.jobs j
        WHERE j.queue = p_queue AND j.status = 'pending'
          AND j.run_at <= p_now
          AND (j.expires_at IS NULL OR j.expires_at > p_now)
          AND (p_types IS NULL OR j.type = ANY(ARRAY(
            SELECT json_array_elements_text(p_types::json))))
          AND NOT EXISTS (SELECT 1 FROM ${s}.paused p
            WHERE p.queue = p_queue AND p.type = '')
          AND j.type NOT IN (SELECT p.type FROM ${s}.paused p
            WHERE p.queue = p_queue)
        ORDER BY j.priority DESC, j.seq
        LIMIT p_limit
        FOR UPDATE OF j SKIP LOCKED
      ), expired AS (
        UPDATE ${s}.jobs j SET
          status = CASE WHEN j.attempt < j.max_attempts
            THEN 'pending' ELSE 'failed' END,
          held_key = CASE WHEN j.attempt < j.max_attempts
            THEN j.held_key END,
          run_at = CASE WHEN j.attempt < j.max_attempts
            THEN p_now ELSE j.run_at END,
          completed_at = CASE WHEN j.attempt < j.max_attempts
            THEN NULL ELSE p_now END,
          error = '{"name":"LeaseExpiredError","message":"lease expired"}',
          lease_token = NULL, lease_until = NULL,
          version = j.version + 1, updated_at = p_now
        WHERE j.ctid = ANY(ARRAY(SELECT ctid FROM ran_out))
        RETURNING true, j
      ), claimed AS (
        UPDATE ${s}.jobs j SET status = 'processing',
          attempt = j.attempt + 1, started_at = p_now,
          lease_token = gen_random_uuid()::text,
          lease_until = p_now + p_lease_ms,
          version = j.version + 1, updated_at = p_now
        WHERE j.ctid = ANY(ARRAY(SELECT ctid FROM picked))
        RETURNING false, j
      )
      SELECT * FROM expired UNION ALL SELECT * FROM claimed;
    END
    $claim$;`;
}

/**
 * Migration 4's `claim_jobs`, with migration 3's signature and result, in
 * two statements. The first expires the leases that ran out (through the
 * lease index, updating by ctid) and, when some of those jobs failed for
 * good, applies their `keep_failed` rules (retainSteps: a job removed at
 * once is deleted after its row was returned, so its final update is still
 * published). The second picks and claims as migration 3's did; being a
 * statement of its own, it sees the jobs the first put back to pending, so
 * they may be claimed in the same call. Migration 5 makes it again (`v` 5),
 * its only change the final updates kept by retainSteps; migration 6 (`v`
 * 6, after dropping the old signature) adds the channel and settles the
 * flow jobs that failed for good.
 */
export function claimFunction(s: string, v: FinishVersion): string {
  const retain = retainAtNow(s, "'failed'", v);
  const six = (text: string) => v >= 6 ? text : "";
  const seven = (text: string) => v >= 7 ? text : "";
  return `CREATE OR REPLACE FUNCTION ${s}.claim_jobs(p_queue text,
      p_now float8, p_types text, p_limit integer, p_lease_ms float8${
    six(", p_channel text")
  })
      RETURNS TABLE (lapsed boolean, job ${s}.jobs)
    LANGUAGE plpgsql VOLATILE ROWS 10 ${PINNED}${
    seven(" SET enable_bitmapscan = off")
  }
    AS $claim$
    DECLARE
      v_expired ${s}.jobs[];
      v_failed boolean;
      v_drop tid[];
      v_keep integer;
    BEGIN
      WITH ran_out AS (
        SELECT j.ctid FROM ${s}.jobs j
        WHERE j.queue = p_queue AND j.status = 'processing'
          AND j.lease_until <= p_now
        ORDER BY j.lease_until
        FOR UPDATE OF j SKIP LOCKED
      ), expired AS (
        UPDATE ${s}.jobs j SET
          status = CASE WHEN j.attempt < j.max_attempts
            THEN 'pending' ELSE 'failed' END,
          held_key = CASE WHEN j.attempt < j.max_attempts
            THEN j.held_key END,
          run_at = CASE WHEN j.attempt < j.max_attempts
            THEN p_now ELSE j.run_at END,
          completed_at = CASE WHEN j.attempt < j.max_attempts
            THEN NULL ELSE p_now END,
          remove_at = CASE WHEN j.attempt < j.max_attempts
            THEN NULL ELSE p_now + j.keep_failed_age END,
          error = '{"name":"LeaseExpiredError","message":"lease expired"}',
          lease_token = NULL, lease_until = NULL,
          version = j.version + 1, updated_at = p_now
        WHERE j.ctid = ANY(ARRAY(SELECT ctid FROM ran_out))
        RETURNING j AS job, j.ctid AS at, j.status = 'failed' AS failed
      )
      SELECT array_agg(e.job), bool_or(e.failed),
        array_agg(e.at) FILTER (WHERE e.failed
          AND ((e.job).keep_failed_age = 0 OR (e.job).keep_failed_count = 0)),
        min((e.job).keep_failed_count) FILTER (WHERE e.failed
          AND (e.job).keep_failed_age IS DISTINCT FROM 0)
      INTO v_expired, v_failed, v_drop, v_keep FROM expired e;
      IF v_expired IS NOT NULL THEN
        RETURN QUERY SELECT true, e FROM unnest(v_expired) e;
      END IF;
      IF v_failed THEN${
    six(`
        ${settleAll(s, "unnest(v_expired) e", "p_now", "failed")}`)
  }
        ${retain}
      END IF;${
    seven(`
      IF v_expired IS NOT NULL THEN
        ${stoppedStep(s, "unnest(v_expired) e", "p_now")}
      END IF;`)
  }
      IF p_limit < 1 THEN
        RETURN;
      END IF;${
    seven(`
      IF EXISTS (SELECT 1 FROM ${s}.lanes l WHERE l.queue = p_queue
        UNION ALL SELECT 1 FROM ${s}.arrivals a WHERE a.queue = p_queue
        UNION ALL SELECT 1 FROM ${s}.limits m WHERE m.queue = p_queue) THEN
        RETURN QUERY SELECT NULL::boolean, c FROM ${s}.claim_limited(p_queue, p_now,
          p_types, p_limit, p_lease_ms, p_channel) c;
        RETURN;
      END IF;`)
  }
      RETURN QUERY
      WITH picked AS (
        SELECT j.ctid FROM ${s}.jobs j
        WHERE j.queue = p_queue AND j.status = 'pending'${
    seven(" AND j.job_group IS NULL")
  }
          AND j.run_at <= p_now
          AND (j.expires_at IS NULL OR j.expires_at > p_now)
          AND (p_types IS NULL OR j.type = ANY(ARRAY(
            SELECT json_array_elements_text(p_types::json))))
          AND NOT EXISTS (SELECT 1 FROM ${s}.paused p
            WHERE p.queue = p_queue AND p.type = '')
          AND j.type NOT IN (SELECT p.type FROM ${s}.paused p
            WHERE p.queue = p_queue)
        ORDER BY j.priority DESC, j.seq
        LIMIT p_limit
        FOR UPDATE OF j SKIP LOCKED
      ), claimed AS (
        UPDATE ${s}.jobs j SET status = 'processing',
          attempt = j.attempt + 1, started_at = p_now,
          lease_token = gen_random_uuid()::text,
          lease_until = p_now + p_lease_ms,
          version = j.version + 1, updated_at = p_now
        WHERE j.ctid = ANY(ARRAY(SELECT ctid FROM picked))
        RETURNING false, j
      )
      SELECT * FROM claimed;
    END
    $claim$;`;
}

/**
 * CTEs over `claim_jobs` in schema `s` (quoted): `changed` (its rows),
 * `expired` and `claimed` (the jobs it changed, as rows of the table;
 * `ord`, the claim order, when claim_limited chose it: it returns them
 * with `lapsed` null, else they go best first). $1 queue, `now`, `channel`;
 * `request` the types, limit and lease ms of a claim, or null to expire
 * leases only.
 */
export function claimCtes(
  s: string,
  now: string,
  channel: string,
  request: string | null,
): string {
  const rest = request ?? "NULL, 0, 0";
  return `changed AS (SELECT lapsed, job, ord
      FROM ${s}.claim_jobs($1, ${now}::float8, ${rest}, ${channel}::text)
        WITH ORDINALITY AS c(lapsed, job, ord)),
    expired AS (SELECT (job).* FROM changed WHERE lapsed),
    claimed AS (SELECT (job).*, CASE WHEN lapsed IS NULL THEN ord END AS ord
      FROM changed WHERE lapsed IS NOT TRUE)`;
}

/**
 * Where a claim statement takes its arguments: `now`, `channel` and the
 * `request` (types, limit, lease ms), after the CTEs `before` (an
 * insert's, whose `enqueued` notifications then count in `notes`).
 */
export interface ClaimAfter {
  before?: string;
  now: string;
  channel: string;
  request: string;
}

/** The notifications of the leases that `claim_jobs` expired. */
function expiredNotes(channel: string): string {
  return `expired_notes AS (
      ${notifyUpdates("expired", channel)}
      UNION ALL
      SELECT pg_notify(${channel}, json_build_array('c', id)::text)
        FROM expired
    )`;
}

/**
 * The claim statement of schema `s` (quoted), returning `cols` of each
 * claimed job (prefix `j.`) with the `expired` and `notes` counts; one
 * placeholder row with a null id when nothing was claimed. $1 is the queue.
 */
export function claimStatement(
  s: string,
  cols: string,
  { before, now, channel, request }: ClaimAfter,
): string {
  return `WITH ${before === undefined ? "" : `${before},`}
    ${claimCtes(s, now, channel, request)},
    ${expiredNotes(channel)},
    notes AS (${
    notifyUpdates("claimed", channel, watchedGate(s, "claimed", "$1"))
  })
    SELECT ${cols}, e.expired, e.notes FROM
      (SELECT (SELECT count(*) FROM expired)::int AS expired,
        (SELECT count(*) FROM expired_notes)::int
          + (SELECT count(*) FROM notes)::int${
    before === undefined ? "" : `
          + (SELECT count(*) FROM enqueued)::int`
  } AS notes) e
      LEFT JOIN claimed j ON true
    ORDER BY j.ord, j.priority DESC, j.seq`;
}

/**
 * The statement of schema `s` (quoted) that only expires the leases that
 * ran out: $1 queue, $2 now, $3 channel; returns the `expired` and
 * `notes` counts.
 */
export function expireStatement(s: string): string {
  return `WITH ${claimCtes(s, "$2", "$3", null)},
    ${expiredNotes("$3")}
      SELECT (SELECT count(*) FROM expired)::int AS expired,
        (SELECT count(*) FROM expired_notes)::int AS notes`;
}
