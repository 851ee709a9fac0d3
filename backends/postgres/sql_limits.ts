/**
 * Limits and groups in the PostgreSQL backend (SPEC §7.3, §7.4), as SQL
 * text: migration 7's column, indexes, tables, trigger and functions, and
 * the limit statements. Holds SQL text only and runs nothing; the claim
 * function (sql_claim.ts) calls `claim_limited`, and every way out of
 * "processing" calls `limits_stopped` when the queue has limits.
 *
 * The plain path stays as it was: due jobs without a group are in
 * `jobs_claim` (now partial on `job_group IS NULL`), and the claim takes
 * them as before unless the queue has a lane, an arrival or limits (three
 * probes of small tables, in the claim function). Grouped due jobs are in
 * `jobs_group_due` by group; grouped processing jobs in
 * `jobs_group_running`, so a group's running jobs are counted from an
 * index, never from a counter that could drift.
 *
 * `lanes` has a row per group with pending jobs: `prio`, at least the
 * priority of its best due job (lowered by the claim when it finds less),
 * `turn`, the turn it was last served (never served: its first job's seq
 * less 2^52, ahead of every turn given), and `wake`: null while claimable,
 * else the time until which it is parked (a delay, a group rate window;
 * 'infinity' for a full group concurrency, until one of its jobs stops:
 * from migration 9 on, the claim that folds the stop serves the lane as it
 * stands, and unparks it only if it does not serve it; from migration 11
 * to 16, a lane filled by a round with more claimable lanes than it may
 * serve stays claimable, and the round that reads it still full parks it;
 * in migration 21, a round parks every lane it fills again; from 22 on,
 * unless four times as many claimable lanes as it may serve come after
 * those it read).
 * A lane's group is counted whenever a round reads it, so a claimable
 * lane never passes its group's limit.
 * Only claims (serialized per queue by its `turns` row) and setLimits
 * write lanes, so nothing else ever waits on them. Every other step that
 * makes a grouped job pending (enqueue, import, flows, release, retry,
 * lease expiry, reschedule) appends an `arrivals` row (the insert
 * statements, per group, unless the group's lane or an arrival not yet
 * folded already serves the new jobs: then they hold that row FOR KEY
 * SHARE instead, see arrivalsOf; a row trigger for updates), and every
 * way out of processing with a group limit appends one without priority:
 * no step waits for a claim but an enqueue whose row a claim is deleting.
 * The next claim folds them into the lanes. `rate_log` is the window of recent claims per scope
 * ('' the queue, 't:' a type, 'g:' a group): a row per claim, numbered
 * (`n`) with non-decreasing times, so the claims in a window are two index
 * probes apart whatever its `max`.
 *
 * Lock order: a claim takes its queue's `turns` row, then lanes, and jobs
 * only with SKIP LOCKED; setLimits the same rows in the same order. Flow
 * steps (jobs, dependents, flow rows) only append arrivals. The claim's
 * own functions (and the rate windows') are in sql_limits_claim.ts, its
 * rounds over the lanes in sql_limits_round.ts, lanes_refresh and the
 * later migrations that make them again in sql_limits_migrations.ts.
 *
 * @module
 */

import {
  claimLimitedFunctions,
  rateFunctions,
  SETTINGS,
} from "./sql_limits_claim.ts";
import { refreshFunction } from "./sql_limits_migrations.ts";
import { roundFunctions } from "./sql_limits_round.ts";

/** Migration 7 (`s` the quoted schema): limits and groups. */
export function limitsMigration(s: string): string {
  return [
    limitTables(s),
    rateFunctions(s),
    stoppedFunction(s),
    refreshFunction(s, 7),
    claimLimitedFunctions(s),
    roundFunctions(s),
    setLimitsFunction(s),
  ].join("\n");
}

/** The column, indexes, tables and the arrival trigger. */
function limitTables(s: string): string {
  return `ALTER TABLE ${s}.jobs ADD COLUMN job_group text;
    DROP INDEX ${s}.jobs_claim;
    CREATE INDEX jobs_claim ON ${s}.jobs (queue, priority DESC, seq)
      WHERE status = 'pending' AND job_group IS NULL;
    CREATE INDEX jobs_group_due
      ON ${s}.jobs (queue, job_group, priority DESC, seq)
      WHERE status = 'pending' AND job_group IS NOT NULL;
    CREATE INDEX jobs_group_running ON ${s}.jobs (queue, job_group)
      WHERE status = 'processing' AND job_group IS NOT NULL;
    CREATE TABLE ${s}.limits (
      queue text PRIMARY KEY,
      limits text NOT NULL
    );
    CREATE TABLE ${s}.turns (
      queue text PRIMARY KEY,
      turn bigint NOT NULL DEFAULT 0,
      none_turn bigint
    );
    CREATE TABLE ${s}.lanes (
      queue text NOT NULL,
      grp text NOT NULL,
      prio integer NOT NULL,
      turn bigint NOT NULL,
      wake float8,
      PRIMARY KEY (queue, grp)
    );
    CREATE INDEX lanes_next ON ${s}.lanes (queue, prio DESC, turn)
      WHERE wake IS NULL;
    CREATE INDEX lanes_wake ON ${s}.lanes (queue, wake)
      WHERE wake IS NOT NULL;
    CREATE TABLE ${s}.arrivals (
      queue text NOT NULL,
      grp text NOT NULL,
      prio integer,
      run_at float8,
      seq bigint
    );
    CREATE INDEX arrivals_queue ON ${s}.arrivals (queue, grp);
    CREATE TABLE ${s}.rate_log (
      queue text NOT NULL,
      scope text NOT NULL,
      n bigint NOT NULL,
      at float8 NOT NULL,
      PRIMARY KEY (queue, scope, n)
    );
    CREATE INDEX rate_log_at ON ${s}.rate_log (queue, scope, at);
    CREATE FUNCTION ${s}.job_arrived() RETURNS trigger
    LANGUAGE plpgsql AS $arrived$
    BEGIN
      INSERT INTO ${s}.arrivals (queue, grp, prio, run_at, seq)
      VALUES (NEW.queue, NEW.job_group, NEW.priority, NEW.run_at, NEW.seq);
      RETURN NULL;
    END
    $arrived$;
    CREATE TRIGGER jobs_arrived
      AFTER UPDATE OF status, run_at, priority ON ${s}.jobs
      FOR EACH ROW WHEN (NEW.job_group IS NOT NULL
        AND NEW.status = 'pending' AND (OLD.status <> 'pending'
          OR NEW.run_at < OLD.run_at OR NEW.priority > OLD.priority))
      EXECUTE FUNCTION ${s}.job_arrived();`;
}

/**
 * `arrivals_of(rows)`: the CTE body that appends an arrival per group of
 * the pending grouped jobs among `rows` (a CTE with queue, job_group,
 * priority, run_at, seq and status), for the insert statements. A group
 * whose lane already serves them (its priority at least theirs, not
 * parked past their due time), or whose arrival not yet folded does, gets
 * none: that lane or arrival is held FOR KEY SHARE until the insert
 * commits, so no claim drops, lowers or parks the lane for a delay
 * meanwhile (claim_round and lane_empty do so only under the lane's own
 * lock, then read the group's jobs again), and no claim deletes the
 * arrival (lanes_refresh folds it again at every claim until it can).
 */
export function arrivalsOf(s: string, rows: string): string {
  return `INSERT INTO ${s}.arrivals (queue, grp, prio, run_at, seq)
      SELECT g.queue, g.job_group, g.prio, g.due, g.seq
      FROM (SELECT r.queue, r.job_group, max(r.priority) AS prio,
          min(r.run_at) AS due, min(r.seq) AS seq
        FROM ${rows} r
        WHERE r.job_group IS NOT NULL AND r.status = 'pending'
        GROUP BY r.queue, r.job_group) g
      WHERE NOT EXISTS (SELECT 1 FROM ${s}.lanes l
        WHERE l.queue = g.queue AND l.grp = g.job_group AND l.prio >= g.prio
          AND (l.wake IS NULL OR l.wake = 'infinity' OR l.wake <= g.due)
        FOR KEY SHARE OF l)
      AND NOT EXISTS (SELECT 1 FROM ${s}.arrivals a
        WHERE a.queue = g.queue AND a.grp = g.job_group AND a.prio >= g.prio
          AND a.run_at <= g.due
        LIMIT 1 FOR KEY SHARE OF a)`;
}

/**
 * `limits_stopped(queue, channel, now, types, groups)`: jobs of `types`
 * (and `groups`, null for none) just left "processing". When the queue
 * has limits: a wake at `now` if a concurrency limit they counted in was
 * full, and an arrival per group (without priority) when groups have a
 * concurrency limit, so the next claim unparks their lanes.
 */
function stoppedFunction(s: string): string {
  const running = (where: string) =>
    `(SELECT count(*) FROM (SELECT 1 FROM ${s}.jobs j
          WHERE j.queue = p_queue AND j.status = 'processing' ${where}
          LIMIT v_max) x)`;
  return `CREATE FUNCTION ${s}.limits_stopped(p_queue text, p_channel text,
      p_now float8, p_types text[], p_groups text[]) RETURNS void
    LANGUAGE plpgsql VOLATILE ${SETTINGS}
    AS $stopped$
    DECLARE
      v_l jsonb;
      v_max integer;
      v_full boolean := false;
      r record;
    BEGIN
      SELECT m.limits::jsonb INTO v_l FROM ${s}.limits m
      WHERE m.queue = p_queue;
      IF v_l IS NULL OR cardinality(p_types) = 0 THEN
        RETURN;
      END IF;
      v_max := (v_l->>'concurrency')::integer;
      IF v_max IS NOT NULL THEN
        v_full := ${running("")} + cardinality(p_types) >= v_max;
      END IF;
      IF NOT v_full AND v_l ? 'types' THEN
        FOR r IN SELECT t.type, count(*)::integer AS n
          FROM unnest(p_types) t(type) GROUP BY t.type LOOP
          v_max := (v_l->'types'->r.type->>'concurrency')::integer;
          IF v_max IS NOT NULL
            AND ${running("AND j.type = r.type")} + r.n >= v_max THEN
            v_full := true;
          END IF;
        END LOOP;
      END IF;
      v_max := (v_l->'groups'->>'concurrency')::integer;
      IF v_max IS NOT NULL THEN
        INSERT INTO ${s}.arrivals (queue, grp)
        SELECT DISTINCT p_queue, g.grp FROM unnest(p_groups) g(grp)
        WHERE g.grp IS NOT NULL;
        v_full := v_full OR EXISTS (SELECT 1 FROM (SELECT g.grp,
            count(*)::integer AS n FROM unnest(p_groups) g(grp)
            WHERE g.grp IS NOT NULL GROUP BY g.grp) q
          WHERE ${running("AND j.job_group = q.grp")} + q.n >= v_max);
      END IF;
      IF v_full THEN
        PERFORM pg_notify(p_channel, json_build_array('w', p_now)::text);
      END IF;
    END
    $stopped$;`;
}

/**
 * `set_limits(queue, limits, channel, now)`: stores a queue's limits (or
 * none for '{}'), forgets its rate windows, unparks its lanes (the next
 * claim parks them again as the new limits say) and wakes its workers.
 */
function setLimitsFunction(s: string): string {
  return `CREATE FUNCTION ${s}.set_limits(p_queue text, p_limits text,
      p_channel text, p_now float8) RETURNS void
    LANGUAGE plpgsql VOLATILE ${SETTINGS}
    AS $set$
    BEGIN
      INSERT INTO ${s}.turns (queue) VALUES (p_queue) ON CONFLICT DO NOTHING;
      PERFORM 1 FROM ${s}.turns t WHERE t.queue = p_queue FOR UPDATE;
      IF p_limits = '{}' THEN
        DELETE FROM ${s}.limits m WHERE m.queue = p_queue;
      ELSE
        INSERT INTO ${s}.limits (queue, limits) VALUES (p_queue, p_limits)
        ON CONFLICT (queue) DO UPDATE SET limits = excluded.limits;
      END IF;
      DELETE FROM ${s}.rate_log r WHERE r.queue = p_queue;
      UPDATE ${s}.lanes l SET wake = NULL
      WHERE l.queue = p_queue AND l.wake IS NOT NULL;
      PERFORM pg_notify(p_channel, json_build_array('w', p_now)::text);
    END
    $set$;`;
}

/** The limit statements of one schema. */
export interface LimitStatements {
  /** $1 queue, $2 limits (JSON text, '{}' for none), $3 channel, $4 now. */
  set: string;
  /** $1 queue: `limits` (JSON text), or no row. */
  get: string;
}

/** Builds the limit statements of a schema (`s` quoted). */
export function limitStatements(s: string): LimitStatements {
  return {
    set: `SELECT ${s}.set_limits($1, $2::text, $3::text, $4::float8)`,
    get: `SELECT limits FROM ${s}.limits WHERE queue = $1`,
  };
}

/**
 * The plpgsql statement that reports the jobs of `rows` (a row source `e`
 * with `type` and `job_group`) as stopped, when the queue has limits.
 */
export function stoppedStep(s: string, rows: string, now: string): string {
  return `IF EXISTS (SELECT 1 FROM ${s}.limits m WHERE m.queue = p_queue) THEN
        PERFORM ${s}.limits_stopped(p_queue, p_channel, ${now},
          ARRAY(SELECT e.type FROM ${rows}),
          ARRAY(SELECT e.job_group FROM ${rows}));
      END IF;`;
}
