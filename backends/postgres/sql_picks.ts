/**
 * The two picks of the PostgreSQL claim, as functions of the schema
 * (migration 3): which pending jobs a claim takes, and which processing
 * jobs' leases it expires. sql.ts calls them from the claim and expire
 * statements. This file holds SQL text only and runs nothing.
 *
 * Why functions: the planner must not choose these plans from statistics.
 * Statistics of a queue table are stale most of the time (its pending set
 * changes faster than autovacuum analyzes), and a crash restart resets the
 * counters that trigger autovacuum, so stale statistics then last for
 * minutes. When they say a queue holds a handful of pending jobs while it
 * holds 100,000, the planner read the whole queue through the primary key
 * and sorted it, 30-300 ms a claim instead of a fraction of a millisecond.
 * A function's own settings (`SET enable_sort = off`, ...) apply while its
 * query is planned, and only there: the pick can then only walk the claim
 * index in (priority, seq) order and stop at its limit, and expiry the lease
 * index, whatever the statistics say. Settings on a function cost no round
 * trip, where `SET LOCAL` in a transaction around the claim would cost two.
 * `jit = off` because a disabled plan's cost must never start the JIT.
 *
 * A pick runs under a snapshot taken when it starts, a moment after its
 * claim statement's: a job it locks that the statement cannot see yet (one
 * committed in between) is left pending and unlocked at commit, as if it had
 * come a moment later.
 *
 * @module
 */

/** The settings every pick is planned and run with. */
const PINNED = "SET enable_sort = off SET enable_seqscan = off SET jit = off";

/**
 * Migration 3: the pick functions of the schema `s` (quoted).
 *
 * `pick_claims(queue, now, types, limit)` returns the row ids of up to
 * `limit` claimable jobs, best first, locked: pending, due, live, of one of
 * `types` (a JSON array, or null for any), and of a type not paused. The
 * whole queue's pause row is an InitPlan read once, the paused types a
 * hashed subplan, so a claim with nothing paused pays two probes of an
 * empty index.
 *
 * `pick_expired(queue, now)` returns the row ids of the processing jobs
 * whose lease ran out, locked.
 */
export function picksMigration(s: string): string {
  return `CREATE FUNCTION ${s}.pick_claims(p_queue text, p_now float8,
      p_types text, p_limit integer) RETURNS SETOF tid
    LANGUAGE plpgsql VOLATILE ROWS 10 ${PINNED}
    AS $pick$
    BEGIN
      RETURN QUERY SELECT j.ctid FROM ${s}.jobs j
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
        FOR UPDATE OF j SKIP LOCKED;
    END
    $pick$;
    CREATE FUNCTION ${s}.pick_expired(p_queue text, p_now float8)
      RETURNS SETOF tid
    LANGUAGE plpgsql VOLATILE ROWS 10 ${PINNED}
    AS $pick$
    BEGIN
      RETURN QUERY SELECT j.ctid FROM ${s}.jobs j
        WHERE j.queue = p_queue AND j.status = 'processing'
          AND j.lease_until <= p_now
        ORDER BY j.lease_until
        FOR UPDATE OF j SKIP LOCKED;
    END
    $pick$;`;
}

/**
 * The row ids `pick_claims` returns, as a subquery of the claim statement
 * in schema `s` (quoted): $1 queue, $2 now, $4 types, $5 limit.
 */
export function pickClaims(s: string): string {
  return `SELECT c AS ctid FROM ${s}.pick_claims($1, $2::float8, $4::text,
        $5::int) c`;
}

/** The row ids `pick_expired` returns for $1 queue at `now`. */
export function pickExpired(s: string, now: string): string {
  return `SELECT e FROM ${s}.pick_expired($1, ${now}::float8) e`;
}
