/**
 * One round of a limited claim (SPEC §7.3, §7.4), part of migration 7:
 * `claim_round` serves the lanes of one priority level in turn order,
 * set-based (a statement per step, not per job), for `claim_limited`
 * (sql_limits_claim.ts); `lane_lower` lowers a lane's priority. Holds SQL
 * text only and runs nothing.
 *
 * A round serves each lane it reads once, in turn order, which is what a
 * claim taking one job at a time does: a served lane's turn moves past
 * every other lane of its level, so no lane is served twice before all
 * the others were. The round stops short of the first lane whose job
 * would pass its type's limit, so the next round (with that type left
 * out) serves it exactly as a claim of one job at a time would.
 *
 * A lane is deleted, parked for a delay or lowered only under its row
 * lock (FOR UPDATE SKIP LOCKED), and after the lock by a statement of its
 * own, whose snapshot sees every job an enqueue that skipped its arrival
 * (it holds the lane FOR KEY SHARE until it commits) made pending.
 *
 * @module
 */

import { SETTINGS } from "./sql_limits_claim.ts";
import { type LimitsVersion, nine } from "./sql_limits_fold.ts";

/** A live job `j` at `now`. */
const LIVE = "(j.expires_at IS NULL OR j.expires_at > p_now)";

/** The round's type and functions, in the order they are made. */
export function roundFunctions(s: string): string {
  return [headType(s), lowerFunction(s, 7), roundFunction(s, 7)].join("\n");
}

/**
 * A lane read by a round: its k-th lane, first job, slots left; from
 * migration 23 on (addressMigration) also the first job's row address
 * (`tid`), by which the round takes it.
 */
function headType(s: string): string {
  return `CREATE TYPE ${s}.lane_head AS (grp text, k integer,
      id text COLLATE "C",
      priority integer, type text, lft integer, at float8);`;
}

/**
 * `lane_lower(queue, grp, now, prio, types, out)`: for a lane whose first
 * job has a lower priority than the lane: under the lane's lock, its
 * priority lowered to its first job's (read again), or lane_empty when it
 * has none. True when this claim must skip the lane. From migration 15 on,
 * a lowered lane notes when the first of its jobs of a higher priority that
 * are not due yet becomes due, and the highest of their priorities
 * (`raise_at`, `raise_prio`): lanes_refresh raises it then, and a claim
 * that finds the job of that priority not due yet lowers it again, noting
 * the next.
 */
export function lowerFunction(s: string, v: LimitsVersion): string {
  const raise = v >= 15
    ? `,
          (raise_at, raise_prio) = (SELECT min(j.run_at), max(j.priority)
            FROM ${s}.jobs j WHERE j.queue = p_queue
              AND j.job_group = p_grp AND j.status = 'pending'
              AND j.priority > v_p AND j.run_at > p_now AND ${LIVE})`
    : "";
  return `${
    v >= 15 ? "CREATE OR REPLACE" : "CREATE"
  } FUNCTION ${s}.lane_lower(p_queue text, p_grp text,
      p_now float8, p_prio integer, p_types text[], p_out text[])
      RETURNS boolean
    LANGUAGE plpgsql VOLATILE ${SETTINGS}
    AS $lower$
    DECLARE
      v_p integer;
    BEGIN
      PERFORM 1 FROM ${s}.lanes l WHERE l.queue = p_queue AND l.grp = p_grp
      FOR UPDATE SKIP LOCKED;
      IF NOT FOUND THEN
        RETURN true;
      END IF;
      SELECT j.priority INTO v_p FROM ${s}.jobs j
      WHERE j.queue = p_queue AND j.job_group = p_grp
        AND j.status = 'pending' AND j.run_at <= p_now AND ${LIVE}
        AND (p_types IS NULL OR j.type = ANY(p_types))
        AND j.type <> ALL(p_out)
      ORDER BY j.priority DESC, j.seq LIMIT 1;
      IF v_p IS NULL THEN
        RETURN ${s}.lane_empty(p_queue, p_grp, p_now);
      END IF;
      IF v_p < p_prio THEN
        UPDATE ${s}.lanes l SET prio = v_p${raise}
        WHERE l.queue = p_queue AND l.grp = p_grp;
      END IF;
      RETURN false;
    END
    $lower$;`;
}

/**
 * `claim_round(queue, now, lease_ms, prio, before, max, turn, types, out,
 * skip, tnames, tleft, gmax, grate, channel)`: serves up to `max` lanes
 * of priority `prio` (turn at most `before`, when given), one job each:
 * the jobs claimed (`o_jobs`, in turn order; the n-th lane served gets
 * turn `turn` + n) and the groups this claim must skip (`o_skip`). A lane
 * at its group's limit is parked; a served lane parked when full, or
 * dropped when its group has no pending job left. From migration 23 on a
 * round takes each job by the row address its heads read, checked against
 * the job's queue, id and status (a row that moved since is skipped, as
 * one locked is), sparing a primary-key probe a job.
 */
export function roundFunction(s: string, v: LimitsVersion): string {
  return `${
    v >= 11 ? "CREATE OR REPLACE" : "CREATE"
  } FUNCTION ${s}.claim_round(p_queue text, p_now float8,
      p_lease_ms float8, p_prio integer, p_before bigint, p_max integer,
      p_turn bigint, p_types text[], p_out text[], p_skip text[],
      p_tnames text[], p_tleft integer[], p_gmax integer, p_grate jsonb,
      p_channel text, ${
    nine(
      v,
      `p_sg text[], p_sp integer[], p_st bigint[],
      OUT o_jobs ${s}.jobs[], OUT o_skip text[], OUT o_served text[],
      OUT o_seen text[]`,
      `OUT o_jobs ${s}.jobs[], OUT o_skip text[]`,
    )
  })
    LANGUAGE plpgsql VOLATILE ${SETTINGS}
    AS $round$
    DECLARE
      v_heads ${s}.lane_head[];
      v_cut integer;
      v_grps text[];
      v_lfts integer[];
      v_gone text[];
      v_n integer;
      v_h ${s}.lane_head;${
    lazy(v) ? "\n      v_last bigint;\n      v_plenty boolean := false;" : ""
  }
    BEGIN
      o_skip := '{}';
      SELECT array_agg(ROW(c.grp, c.k, x.id, x.priority, x.type,
          coalesce(g.o_left, p_gmax - n.n, 2147483647),
          coalesce(g.o_at, 'infinity')${
    v >= 23 ? ", x.ctid" : ""
  })::${s}.lane_head ORDER BY c.k)${
    lazy(v)
      ? ", max(c.turn)\n      INTO v_heads, v_last"
      : "\n      INTO v_heads"
  }
      FROM (SELECT l.grp, (row_number() OVER (ORDER BY l.turn))::integer AS k${
    lazy(v) ? ", l.turn" : ""
  }
        FROM ${nine(v, stoppedToo(unparked(s)), unparked(s))} l) c
      LEFT JOIN LATERAL (SELECT j.id, j.priority, j.type${
    v >= 23 ? ", j.ctid" : ""
  } FROM ${s}.jobs j
        WHERE j.queue = p_queue AND j.job_group = c.grp
          AND j.status = 'pending' AND j.run_at <= p_now AND ${LIVE}
          AND (p_types IS NULL OR j.type = ANY(p_types))
          AND j.type <> ALL(p_out)
        ORDER BY j.priority DESC, j.seq LIMIT 1) x ON true
      LEFT JOIN LATERAL (SELECT * FROM ${s}.group_left(p_queue, c.grp,
          p_now, p_gmax, p_grate) q WHERE p_grate IS NOT NULL) g ON true
      LEFT JOIN LATERAL (SELECT count(*)::integer AS n FROM (SELECT 1
          FROM ${s}.jobs j WHERE j.queue = p_queue AND j.job_group = c.grp
            AND j.status = 'processing' AND p_grate IS NULL
            AND p_gmax IS NOT NULL LIMIT p_gmax) y) n ON true;
      IF v_heads IS NULL THEN
        RETURN;
      END IF;${lazy(v) ? plenty(s, v) : ""}
      -- Stop short of the first lane whose job would pass its type's limit.
      IF cardinality(p_tnames) > 0 THEN
        SELECT min(t.k) INTO v_cut FROM (SELECT h.k, h.type,
          row_number() OVER (PARTITION BY h.type ORDER BY h.k) AS nth
        FROM unnest(v_heads) h
        WHERE h.id IS NOT NULL AND h.priority >= p_prio AND h.lft > 0) t
      WHERE t.nth > p_tleft[array_position(p_tnames, t.type)];
      END IF;
      v_cut := coalesce(v_cut, 2147483647);${
    nine(
      v,
      `
      o_seen := ARRAY(SELECT h.grp FROM unnest(v_heads) h WHERE h.k < v_cut);`,
      "",
    )
  }
      ${v >= 13 ? parkFull13(s) : parkFull(s)}
      WITH t AS (SELECT * FROM unnest(v_heads) h WHERE h.k < v_cut
        AND h.id IS NOT NULL AND h.priority >= p_prio AND h.lft > 0
      ), up AS (
        UPDATE ${s}.jobs j SET status = 'processing',
          attempt = j.attempt + 1, started_at = p_now,
          lease_token = gen_random_uuid()::text,
          lease_until = p_now + p_lease_ms,
          version = j.version + 1, updated_at = p_now
        WHERE j.ctid = ANY(ARRAY(SELECT o.ctid FROM t CROSS JOIN LATERAL (
          SELECT o.ctid FROM ${s}.jobs o WHERE ${
    v >= 23 ? "o.ctid = t.tid AND " : ""
  }o.queue = p_queue
            AND o.id = t.id AND o.status = 'pending'
          FOR UPDATE SKIP LOCKED) o))
        RETURNING j AS job, j.id
      )
      SELECT array_agg(up.job ORDER BY t.k), array_agg(t.grp ORDER BY t.k),
        array_agg(t.lft ORDER BY t.k),
        ARRAY(SELECT t.grp FROM t WHERE t.id NOT IN (SELECT id FROM up))
      INTO o_jobs, v_grps, v_lfts, o_skip
      FROM t JOIN up ON up.id = t.id;
      ${
    nine(v, "o_served := coalesce(v_grps, '{}');\n      ", "")
  }IF v_grps IS NOT NULL THEN
        ${servedSteps(s, v)}
      END IF;
      FOREACH v_h IN ARRAY v_heads LOOP
        CONTINUE WHEN v_h.k >= v_cut OR v_h.priority >= p_prio;
        IF (CASE WHEN v_h.id IS NULL THEN ${s}.lane_empty(p_queue, v_h.grp, p_now)
          ELSE ${s}.lane_lower(p_queue, v_h.grp, p_now, p_prio, p_types, p_out)
          END) THEN
          o_skip := o_skip || v_h.grp;${
    v >= 12
      ? `
        ELSIF v_h.id IS NOT NULL AND v_h.grp = ANY(p_sg) THEN
          -- a stopped lane (parked, read as if not) that was lowered: the
          -- claim leaves it out of what it reads next (o_seen), so it is
          -- unparked here for the claim to find it at its new priority
          UPDATE ${s}.lanes l SET wake = NULL
          WHERE l.queue = p_queue AND l.grp = v_h.grp
            AND l.wake = 'infinity';`
      : ""
  }
        END IF;
      END LOOP;
    END
    $round$;`;
}

/** The lanes the round read at their group's limit, parked (migration 7). */
function parkFull(s: string): string {
  return `UPDATE ${s}.lanes l SET wake = h.at FROM unnest(v_heads) h
      WHERE l.queue = p_queue AND l.grp = h.grp AND h.k < v_cut
        AND h.id IS NOT NULL AND h.priority >= p_prio AND h.lft <= 0;`;
}

/**
 * The lanes the round read at their group's limit, parked (migration 13):
 * each found by a primary-key probe of its own. The join of migration 7
 * could be planned (generic plan, both sides estimated at a row) as every
 * lane of the queue read once per head: 23 ms with 1,000 lanes and 150
 * heads, seen in a session whose plans were made on a small table.
 */
function parkFull13(s: string): string {
  return `UPDATE ${s}.lanes l SET wake = x.at FROM (SELECT o.tid, h.at
        FROM unnest(v_heads) h ${byLane(s, "h.grp")}
        WHERE h.k < v_cut AND h.id IS NOT NULL AND h.priority >= p_prio
          AND h.lft <= 0) x
      WHERE l.ctid = x.tid;`;
}

/**
 * The LATERAL probe that finds the lane of group `grp` (a column of the
 * row before it) by its primary key, as `o.tid` (its ctid): kept apart by
 * OFFSET 0, so that a statement over an array of groups reads their lanes
 * only, whatever the planner estimates (migration 13).
 */
function byLane(s: string, grp: string): string {
  return `CROSS JOIN LATERAL (SELECT o.ctid AS tid FROM ${s}.lanes o
          WHERE o.queue = p_queue AND o.grp = ${grp} OFFSET 0) o`;
}

/**
 * Whether a round of migration `v` may leave the lanes it fills claimable
 * when plenty of claimable lanes come after those it read (`plenty`):
 * migrations 11 to 16, and 22 on; migration 21 parks them always, in the
 * write that serves them (servedSteps).
 */
function lazy(v: LimitsVersion): boolean {
  return v >= 11 && v !== 21;
}

/**
 * Whether the round read as many lanes as it may serve and plenty of
 * claimable lanes of its priority come after them (one probe of
 * lanes_next): then the lanes it fills stay claimable (servedSteps).
 * Plenty is one lane in migrations 11 to 16, and from migration 22 on
 * four times as many lanes as the round may serve (the probe steps over
 * as many index entries, in turn order).
 */
function plenty(s: string, v: LimitsVersion): string {
  return `
      v_plenty := cardinality(v_heads) >= p_max AND EXISTS (SELECT 1
        FROM ${s}.lanes l WHERE l.queue = p_queue AND l.wake IS NULL
          AND l.prio = p_prio AND l.turn > v_last AND l.grp <> ALL(p_skip)${
    v >= 22 ? "\n        ORDER BY l.turn OFFSET 4 * p_max - 1" : ""
  });`;
}

/** The first `p_max` unparked lanes of priority `p_prio`, in turn order. */
function unparked(s: string): string {
  return `(SELECT l.grp, l.turn FROM ${s}.lanes l
          WHERE l.queue = p_queue AND l.wake IS NULL AND l.prio = p_prio
            AND (p_before IS NULL OR l.turn <= p_before)
            AND l.grp <> ALL(p_skip)
          ORDER BY l.turn LIMIT p_max)`;
}

/**
 * Migration 9: the lanes of `lanes` merged with the stopped lanes the
 * claim passes (p_sg, p_sp, p_st: parked, served as if unparked), the
 * first `p_max` in turn order.
 */
function stoppedToo(lanes: string): string {
  return `(SELECT u.grp, u.turn FROM (${lanes}
          UNION ALL
          (SELECT x.grp, x.turn FROM unnest(p_sg, p_sp, p_st) x(grp, prio, turn)
          WHERE x.prio = p_prio AND (p_before IS NULL OR x.turn <= p_before)
            AND x.grp <> ALL(p_skip)
          ORDER BY x.turn LIMIT p_max)) u
          ORDER BY u.turn LIMIT p_max)`;
}

/**
 * The steps after a round took jobs from the lanes `v_grps` (slots left
 * before, `v_lfts`): their claims in the groups' windows, their turns,
 * parked when full or out of their window (a wake for when it moves on),
 * dropped (under their locks, read again) when no job of theirs is left.
 *
 * A lane its job filled is parked by the write that serves it, except
 * where `lazy` rounds find plenty of claimable lanes after those they
 * read (`plenty`): then it stays claimable, its job most likely stopped by
 * the time its turn comes round, and a round that reads it still full
 * finds no slot left (`lft`), takes nothing from it and parks it then.
 * Why each migration chose as it did: lazyParkMigration (11),
 * eagerParkMigration (21) and plentyMigration (22) in
 * sql_limits_migrations.ts.
 */
function servedSteps(s: string, v: LimitsVersion): string {
  // A scalar subquery, probed per group: NOT EXISTS would become an
  // anti-join reading every pending grouped job.
  const noneLeft = (g: string) =>
    `(SELECT 1 FROM ${s}.jobs j WHERE j.queue = p_queue
          AND j.job_group = ${g} AND j.status = 'pending' LIMIT 1) IS NULL`;
  return `IF p_grate IS NOT NULL THEN
          PERFORM ${s}.rate_add(p_queue, 'g:' || g, p_now,
            (p_grate->>'per')::float8) FROM unnest(v_grps) g;
        END IF;
        WITH parked AS (
          UPDATE ${s}.lanes l SET turn = p_turn + x.n,
            wake = CASE WHEN p_grate IS NOT NULL THEN (SELECT CASE
                WHEN q.o_left <= 0 THEN q.o_at END
              FROM ${s}.group_left(p_queue, x.grp, p_now, p_gmax, p_grate) q)
              WHEN x.lft <= 1${
    lazy(v) ? " AND NOT v_plenty" : ""
  } THEN 'infinity' END
          FROM ${
    v >= 13
      ? `(SELECT o.tid, y.grp, y.lft, y.n
            FROM unnest(v_grps, v_lfts) WITH ORDINALITY y(grp, lft, n)
            ${byLane(s, "y.grp")}) x
          WHERE l.ctid = x.tid`
      : `unnest(v_grps, v_lfts) WITH ORDINALITY x(grp, lft, n)
          WHERE l.queue = p_queue AND l.grp = x.grp`
  }
          RETURNING l.wake
        )
        SELECT count(*) INTO v_n FROM (SELECT pg_notify(p_channel,
            json_build_array('w', w.wake)::text)
          FROM (SELECT DISTINCT p.wake FROM parked p
            WHERE p.wake < 'infinity') w) z;${
    v >= 16 ? "" : dropEmptied(s, v, noneLeft)
  }`;
}

/**
 * Before migration 16: the lanes the round served that have no pending job
 * left, dropped under their locks if still so. From migration 16 on a lane
 * served stays, empty, with its new turn, until a round reads it (and
 * lane_empty drops it): a group whose next job comes before then keeps
 * its place in the turns instead of coming first as a group never served
 * would, and a round spares a probe per lane it serves.
 */
function dropEmptied(
  s: string,
  v: LimitsVersion,
  noneLeft: (g: string) => string,
): string {
  return `
        v_gone := ARRAY(SELECT g FROM unnest(v_grps) g WHERE ${noneLeft("g")});
        IF cardinality(v_gone) > 0 THEN
          ${
    v >= 13
      ? dropGone13(s, noneLeft("l.grp"))
      : `v_gone := ARRAY(SELECT l.grp FROM ${s}.lanes l
            WHERE l.queue = p_queue AND l.grp = ANY(v_gone)
            FOR UPDATE SKIP LOCKED);
          DELETE FROM ${s}.lanes l WHERE l.queue = p_queue
            AND l.grp = ANY(v_gone) AND ${noneLeft("l.grp")};`
  }
        END IF;`;
}

/**
 * The lanes of the groups `v_gone` (no pending job left when read)
 * dropped under their locks if still so (migration 13): each lane locked,
 * then deleted, by a primary-key probe of its own, where migration 7's
 * `grp = ANY(v_gone)` could be planned as a read of every lane of the
 * queue.
 */
function dropGone13(s: string, noneLeft: string): string {
  return `v_gone := ARRAY(SELECT o.grp FROM unnest(v_gone) g(grp)
            CROSS JOIN LATERAL (SELECT o.grp FROM ${s}.lanes o
              WHERE o.queue = p_queue AND o.grp = g.grp
              FOR UPDATE SKIP LOCKED) o);
          DELETE FROM ${s}.lanes l WHERE l.ctid = ANY(ARRAY(SELECT o.tid
            FROM unnest(v_gone) g(grp) ${byLane(s, "g.grp")}))
            AND ${noneLeft};`;
}
