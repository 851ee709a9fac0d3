/**
 * The claim of a PostgreSQL queue with limits or groups (SPEC §7.3,
 * §7.4), part of migration 7 (sql_limits.ts, which holds the tables and
 * explains them): `claim_limited` and the lane and window steps it takes
 * a round of lanes at a time (sql_limits_round.ts), and the rate windows'
 * functions; migration 9 makes claim_limited again with the fragments of
 * sql_limits_fold.ts. Holds SQL text only and runs nothing.
 *
 * @module
 */

import {
  bestLane9,
  DECLARE_9,
  type LimitsVersion,
  nine,
  SERVED_9,
  stoppedLanes,
  unparkUnserved,
} from "./sql_limits_fold.ts";

/** 2^52: a never-served lane's turn is its first job's seq less this. */
export const NEVER = 4_503_599_627_370_496;

/** The settings of the limit functions: index scans, generic plans. */
export const SETTINGS =
  "SET enable_seqscan = off SET enable_bitmapscan = off SET jit = off" +
  " SET plan_cache_mode = force_generic_plan";

/** A live job `j` at `now`. */
const LIVE = "(j.expires_at IS NULL OR j.expires_at > p_now)";

/** The claim's functions of migration 7, in the order they are made. */
export function claimLimitedFunctions(s: string): string {
  return [laneFunctions(s), claimLimitedFunction(s, 7)].join("\n");
}

/**
 * `lane_empty(queue, grp, now)`: for a lane whose claim found no job it
 * may take, under the lane's lock (an enqueue that skipped its arrival
 * holds it until it commits: then true, skip the lane) and reading the
 * group's jobs after it: deletes it when its group has no pending job,
 * parks it until its first delayed job when all are delayed (never served
 * again), and returns true when it has due jobs this claim may not take.
 * `take_job(queue, id, now, lease_ms)`: claims a pending job unless
 * another transaction holds it (then no row).
 */
function laneFunctions(s: string): string {
  return `CREATE FUNCTION ${s}.lane_empty(p_queue text, p_grp text,
      p_now float8) RETURNS boolean
    LANGUAGE plpgsql VOLATILE ${SETTINGS}
    AS $empty$
    DECLARE
      r record;
    BEGIN
      PERFORM 1 FROM ${s}.lanes l WHERE l.queue = p_queue AND l.grp = p_grp
      FOR UPDATE SKIP LOCKED;
      IF NOT FOUND THEN
        RETURN true;
      END IF;
      SELECT min(j.run_at) AS due, max(j.priority) AS prio,
        min(j.seq) AS seq INTO r FROM ${s}.jobs j
      WHERE j.queue = p_queue AND j.job_group = p_grp
        AND j.status = 'pending' AND ${LIVE};
      IF r.due IS NULL THEN
        DELETE FROM ${s}.lanes l WHERE l.queue = p_queue AND l.grp = p_grp;
        RETURN false;
      ELSIF r.due > p_now THEN
        UPDATE ${s}.lanes l SET wake = r.due, prio = r.prio,
          turn = r.seq - ${NEVER}
        WHERE l.queue = p_queue AND l.grp = p_grp;
        RETURN false;
      END IF;
      RETURN true;
    END
    $empty$;
    CREATE FUNCTION ${s}.take_job(p_queue text, p_id text, p_now float8,
      p_lease_ms float8) RETURNS SETOF ${s}.jobs
    LANGUAGE sql VOLATILE ${SETTINGS}
    AS $take$
      UPDATE ${s}.jobs j SET status = 'processing',
        attempt = j.attempt + 1, started_at = p_now,
        lease_token = gen_random_uuid()::text,
        lease_until = p_now + p_lease_ms,
        version = j.version + 1, updated_at = p_now
      WHERE j.ctid = (SELECT o.ctid FROM ${s}.jobs o
        WHERE o.queue = p_queue AND o.id = p_id AND o.status = 'pending'
        FOR UPDATE SKIP LOCKED)
      RETURNING j.*;
    $take$;`;
}

/**
 * `claim_limited(queue, now, types, limit, lease_ms, channel)`: the claim
 * of a queue with limits or groups, under the queue's `turns` row
 * (claims of one queue wait for each other here, so counts and windows
 * cannot be passed by two at once). Types paused, at their concurrency or
 * out of their window are left out; each step compares the best due job
 * without a group (jobs_claim) with the best lane (by priority, then
 * turn): the job wins, and is taken alone, or the lane does, and a round
 * (claim_round) serves the lanes of its priority up to that job's turn,
 * one job each, in a few statements whatever their number. A claim cut
 * short by a rate window sends a wake for when the soonest window lets
 * the next claim through.
 */
export function claimLimitedFunction(
  s: string,
  v: LimitsVersion,
): string {
  const pick = (where: string) =>
    `FROM ${s}.jobs j WHERE j.queue = p_queue AND j.status = 'pending'
          AND ${where} AND j.run_at <= p_now AND ${LIVE}
          AND (v_types IS NULL OR j.type = ANY(v_types))
          AND j.type <> ALL(v_out) AND j.id <> ALL(v_busy)
        ORDER BY j.priority DESC, j.seq LIMIT 1`;
  return `${
    nine(v, "CREATE OR REPLACE", "CREATE")
  } FUNCTION ${s}.claim_limited(p_queue text, p_now float8,
      p_types text, p_limit integer, p_lease_ms float8, p_channel text)
      RETURNS SETOF ${s}.jobs
    LANGUAGE plpgsql VOLATILE ROWS 10 ${SETTINGS}
    AS $limited$
    DECLARE
      v_types text[];
      v_out text[];
      v_busy text[] := '{}';
      v_skip text[] := '{}';${nine(v, DECLARE_9, "")}
      v_l jsonb;
      v_turn bigint;
      v_none bigint;
      v_qleft integer;
      v_tnames text[] := '{}';
      v_tleft integer[] := '{}';
      v_gmax integer;
      v_grate jsonb;
      v_wake float8;
      v_n integer := 0;
      v_i integer;
      v_job ${s}.jobs;
      v_jobs ${s}.jobs[];
      c0 record;
      c1 record;
      h record;
      r record;
    BEGIN
      SELECT t.turn, t.none_turn INTO v_turn, v_none FROM ${s}.turns t
      WHERE t.queue = p_queue FOR UPDATE;
      IF NOT FOUND THEN
        INSERT INTO ${s}.turns (queue) VALUES (p_queue)
        ON CONFLICT DO NOTHING;
        SELECT t.turn, t.none_turn INTO v_turn, v_none FROM ${s}.turns t
        WHERE t.queue = p_queue FOR UPDATE;
      END IF;
      IF EXISTS (SELECT 1 FROM ${s}.paused p
        WHERE p.queue = p_queue AND p.type = '') THEN
        RETURN;
      END IF;
      v_out := ARRAY(SELECT p.type FROM ${s}.paused p
        WHERE p.queue = p_queue);
      IF p_types IS NOT NULL THEN
        v_types := ARRAY(SELECT json_array_elements_text(p_types::json));
      END IF;
      ${
    nine(v, stoppedLanes(s, v), `PERFORM ${s}.lanes_refresh(p_queue, p_now);`)
  }
      SELECT m.limits::jsonb INTO v_l FROM ${s}.limits m
      WHERE m.queue = p_queue;
      IF v_l IS NOT NULL THEN
        IF v_l ? 'concurrency' THEN
          v_qleft := (v_l->>'concurrency')::integer - (SELECT count(*)
            FROM (SELECT 1 FROM ${s}.jobs j WHERE j.queue = p_queue
              AND j.status = 'processing'
              LIMIT (v_l->>'concurrency')::integer) x);
        END IF;
        IF v_l ? 'rate' THEN
          SELECT * INTO r FROM ${s}.rate_left(p_queue, '', p_now,
            v_l->'rate');
          v_qleft := least(v_qleft, r.o_left);
        END IF;
        FOR r IN SELECT k.key AS type, k.value AS rule,
            CASE WHEN k.value ? 'concurrency' THEN
              (k.value->>'concurrency')::integer - (SELECT count(*)
              FROM (SELECT 1 FROM ${s}.jobs j WHERE j.queue = p_queue
                AND j.status = 'processing' AND j.type = k.key
                LIMIT (k.value->>'concurrency')::integer) x) END AS c
          FROM jsonb_each(coalesce(v_l->'types', '{}')) k LOOP
          v_i := r.c;
          IF r.rule ? 'rate' THEN
            v_i := least(v_i, (SELECT x.o_left FROM ${s}.rate_left(p_queue,
              't:' || r.type, p_now, r.rule->'rate') x));
          END IF;
          IF v_i <= 0 THEN
            v_out := v_out || r.type;
          ELSIF v_i IS NOT NULL THEN
            v_tnames := v_tnames || r.type;
            v_tleft := v_tleft || v_i;
          END IF;
        END LOOP;
        v_gmax := (v_l->'groups'->>'concurrency')::integer;
        v_grate := v_l->'groups'->'rate';
      END IF;
      LOOP
        EXIT WHEN v_n >= p_limit OR v_qleft <= 0;
        SELECT j.id, j.priority, j.seq INTO c0 ${pick("j.job_group IS NULL")};
        ${nine(v, bestLane9(s), bestLane7(s))}
        EXIT WHEN c0.id IS NULL AND c1.grp IS NULL;
        IF c0.id IS NOT NULL AND (c1.grp IS NULL OR c0.priority > c1.prio
          OR (c0.priority = c1.prio
            AND coalesce(v_none, c0.seq - ${NEVER}) < c1.turn)) THEN
          SELECT * INTO v_job FROM ${s}.take_job(p_queue,
            c0.id COLLATE "default", p_now, p_lease_ms);
          IF NOT FOUND THEN
            v_busy := v_busy || c0.id;
            CONTINUE;
          END IF;
          v_turn := v_turn + 1;
          v_none := v_turn;
          v_jobs := ARRAY[v_job];
        ELSE
          SELECT * INTO h FROM ${s}.claim_round(p_queue, p_now, p_lease_ms,
            c1.prio, CASE WHEN c0.priority = c1.prio
              THEN coalesce(v_none, c0.seq - ${NEVER}) END,
            least(p_limit - v_n, v_qleft), v_turn, v_types, v_out, v_skip,
            v_tnames, v_tleft, v_gmax, v_grate, p_channel${
    nine(v, ", v_sg, v_sp, v_st", "")
  });
          v_skip := v_skip || h.o_skip;${nine(v, SERVED_9, "")}
          v_jobs := coalesce(h.o_jobs, '{}');
          v_turn := v_turn + cardinality(v_jobs);
        END IF;
${v >= 23 ? eachJob23(s) : eachJob(s)}      END LOOP;
      ${
    nine(v, unparkUnserved(s, v), "")
  }UPDATE ${s}.turns t SET turn = v_turn, none_turn = v_none
      WHERE t.queue = p_queue;
      IF v_n < p_limit AND v_l IS NOT NULL THEN
        v_wake := ${s}.rate_wake(p_queue, p_now, v_l, v_types);
        IF v_wake IS NOT NULL THEN
          PERFORM pg_notify(p_channel, json_build_array('w', v_wake)::text);
        END IF;
      END IF;
    END
    $limited$;${nine(v, "", `\n    ${rateWakeFunction(s)}`)}`;
}

/**
 * What claim_limited does with the jobs a step took (`v_jobs`): returns
 * each, counts it against the queue's slots left, logs it in the queue's
 * and its type's rate windows, and counts it against its type's slots.
 */
function eachJob(s: string): string {
  return `        FOREACH v_job IN ARRAY v_jobs LOOP
          v_n := v_n + 1;
          RETURN NEXT v_job;
          v_qleft := v_qleft - 1;
          IF v_l ? 'rate' THEN
            PERFORM ${s}.rate_add(p_queue, '', p_now,
              (v_l->'rate'->>'per')::float8);
          END IF;
          IF v_l->'types'->v_job.type ? 'rate' THEN
            PERFORM ${s}.rate_add(p_queue, 't:' || v_job.type, p_now,
              (v_l->'types'->v_job.type->'rate'->>'per')::float8);
          END IF;
          v_i := array_position(v_tnames, v_job.type);
          IF v_i IS NOT NULL THEN
            v_tleft[v_i] := v_tleft[v_i] - 1;
            IF v_tleft[v_i] <= 0 THEN
              v_out := v_out || v_job.type;
            END IF;
          END IF;
        END LOOP;
`;
}

/**
 * eachJob from migration 23 on: when the queue has no rate and no type
 * limits (nothing to log or count a job against but the queue's slots),
 * the jobs are returned in one statement, not a loop of five steps a job.
 */
function eachJob23(s: string): string {
  return `        IF v_l IS NULL OR NOT (v_l ? 'rate' OR v_l ? 'types') THEN
          RETURN QUERY SELECT * FROM unnest(v_jobs);
          v_n := v_n + cardinality(v_jobs);
          v_qleft := v_qleft - cardinality(v_jobs);
        ELSE
${eachJob(s).replace(/^/gm, "  ")}        END IF;
`;
}

/** The best claimable lane of the queue (migration 7). */
function bestLane7(s: string): string {
  return `SELECT l.grp, l.prio, l.turn INTO c1 FROM ${s}.lanes l
        WHERE l.queue = p_queue AND l.wake IS NULL AND l.grp <> ALL(v_skip)
        ORDER BY l.prio DESC, l.turn LIMIT 1;`;
}

/**
 * `rate_wake(queue, now, limits, types)`: after a claim that took fewer
 * jobs than asked, the soonest time a window that holds claims back (the
 * queue's, a requested type's, a parked lane's) lets one through; null
 * when none does.
 */
function rateWakeFunction(s: string): string {
  return `CREATE FUNCTION ${s}.rate_wake(p_queue text, p_now float8,
      p_l jsonb, p_types text[]) RETURNS float8
    LANGUAGE plpgsql STABLE ${SETTINGS}
    AS $wake$
    DECLARE
      v_at float8;
      r record;
    BEGIN
      IF p_l ? 'rate' THEN
        SELECT x.o_at INTO v_at FROM ${s}.rate_left(p_queue, '', p_now,
          p_l->'rate') x;
      END IF;
      FOR r IN SELECT k.key AS type, k.value->'rate' AS rate
        FROM jsonb_each(coalesce(p_l->'types', '{}')) k
        WHERE k.value ? 'rate'
          AND (p_types IS NULL OR k.key = ANY(p_types)) LOOP
        v_at := least(v_at, (SELECT x.o_at FROM ${s}.rate_left(p_queue,
          't:' || r.type, p_now, r.rate) x));
      END LOOP;
      IF p_l->'groups' ? 'rate' THEN
        v_at := least(v_at, (SELECT min(l.wake) FROM ${s}.lanes l
          WHERE l.queue = p_queue AND l.wake > p_now
            AND l.wake < 'infinity'));
      END IF;
      RETURN v_at;
    END
    $wake$;`;
}

/**
 * `rate_left(queue, scope, now, rate)`: how many more claims the window
 * of `rate` ({ max, per }) allows at `now`, and, when none, the time it
 * lets the next through. `rate_add(queue, scope, now, per)` logs a claim
 * and forgets those out of the window.
 */
export function rateFunctions(s: string): string {
  const log = `${s}.rate_log r WHERE r.queue = p_queue AND r.scope = p_scope`;
  return `CREATE FUNCTION ${s}.rate_left(p_queue text, p_scope text,
      p_now float8, p_rate jsonb, OUT o_left integer, OUT o_at float8)
    LANGUAGE plpgsql STABLE ${SETTINGS}
    AS $left$
    DECLARE
      v_max integer := (p_rate->>'max')::integer;
      v_last bigint;
      v_first bigint;
    BEGIN
      SELECT r.n INTO v_last FROM ${log} ORDER BY r.n DESC LIMIT 1;
      SELECT r.n INTO v_first FROM ${log}
        AND r.at > p_now - (p_rate->>'per')::float8
      ORDER BY r.at, r.n LIMIT 1;
      o_left := v_max - coalesce(v_last - v_first + 1, 0);
      IF o_left <= 0 THEN
        o_left := 0;
        SELECT r.at + (p_rate->>'per')::float8 INTO o_at FROM ${log}
          AND r.n = v_last - v_max + 1;
      END IF;
    END
    $left$;
    CREATE FUNCTION ${s}.rate_add(p_queue text, p_scope text,
      p_now float8, p_per float8) RETURNS void
    LANGUAGE plpgsql VOLATILE ${SETTINGS}
    AS $add$
    DECLARE
      v_n bigint;
      v_at float8;
    BEGIN
      SELECT r.n, r.at INTO v_n, v_at FROM ${log} ORDER BY r.n DESC LIMIT 1;
      INSERT INTO ${s}.rate_log (queue, scope, n, at)
      VALUES (p_queue, p_scope, coalesce(v_n, 0) + 1,
        greatest(p_now, coalesce(v_at, p_now)));
      DELETE FROM ${log} AND r.at <= p_now - p_per;
    END
    $add$;
    CREATE FUNCTION ${s}.group_left(p_queue text, p_grp text, p_now float8,
      p_max integer, p_rate jsonb, OUT o_left integer, OUT o_at float8)
    LANGUAGE plpgsql STABLE ${SETTINGS}
    AS $group$
    DECLARE
      r record;
    BEGIN
      o_left := 2147483647;
      IF p_max IS NOT NULL THEN
        o_left := p_max - (SELECT count(*) FROM (SELECT 1 FROM ${s}.jobs j
          WHERE j.queue = p_queue AND j.job_group = p_grp
            AND j.status = 'processing' LIMIT p_max) x);
        IF o_left <= 0 THEN
          o_at := 'infinity';
        END IF;
      END IF;
      IF p_rate IS NOT NULL THEN
        SELECT * INTO r FROM ${s}.rate_left(p_queue, 'g:' || p_grp, p_now,
          p_rate);
        o_left := least(o_left, r.o_left);
        IF r.o_left <= 0 THEN
          o_at := r.o_at;
        END IF;
      END IF;
    END
    $group$;`;
}
