/**
 * The migrations of the PostgreSQL backend that make the limited claim's
 * functions again (SPEC §7.4): 9 (foldMigration), 11, 12, 13, 15, 16, 21,
 * 22 and 23, and `lanes_refresh` in each of its versions (migration 7 makes the
 * first, sql_limits.ts). Holds SQL text only and runs nothing;
 * sql_migrations.ts lists the migrations.
 *
 * @module
 */

import { claimLimitedFunction, NEVER, SETTINGS } from "./sql_limits_claim.ts";
import { type LimitsVersion, nine, unparkFull } from "./sql_limits_fold.ts";
import { lowerFunction, roundFunction } from "./sql_limits_round.ts";

/**
 * Migration 9 (`s` the quoted schema): a claim serves the lanes that a
 * stop of their group's job unparks without writing them unparked first
 * (then parked again, when full, by the round that serves them: one write
 * of the lane a job instead of two), and unparks at its end only those it
 * did not serve; `lanes_wake` leaves out the lanes parked for a full
 * group (read by their group, never by time), so parking one writes one
 * index entry less.
 */
export function foldMigration(s: string): string {
  return [
    `DROP INDEX ${s}.lanes_wake;
    CREATE INDEX lanes_wake ON ${s}.lanes (queue, wake)
      WHERE wake < 'infinity';
    DROP FUNCTION ${s}.lanes_refresh(text, float8);
    DROP FUNCTION ${s}.claim_round(text, float8, float8, integer, bigint,
      integer, bigint, text[], text[], text[], text[], integer[], integer,
      jsonb, text);`,
    refreshFunction(s, 9),
    roundFunction(s, 9),
    claimLimitedFunction(s, 9),
  ].join("\n");
}

/**
 * Migration 11 (`s` the quoted schema): claim_round made again so that a
 * round with more claimable lanes than it may serve leaves the lanes whose
 * group it filled claimable instead of parking them (servedSteps in
 * sql_limits_round.ts): in a drain over many groups a stop then finds
 * its lane unparked and nothing is written to unpark it.
 */
export function lazyParkMigration(s: string): string {
  return roundFunction(s, 11);
}

/**
 * Migration 12 (`s` the quoted schema): claim_round made again so that a
 * lane of a group whose job just stopped, read as if unparked, and lowered
 * to its next job's priority (a group's first jobs of a higher priority
 * were all served), is unparked at once. Before, the claim left it out of
 * the rest of its rounds and unparked it only at its end, so a claim with
 * that job due could return nothing.
 */
export function lowerMigration(s: string): string {
  return roundFunction(s, 12);
}

/**
 * Migration 13 (`s` the quoted schema): the claim reads the lanes of the
 * groups it names by key, never every lane of the queue, whatever its
 * generic plans make of the statistics. claim_round's steps over the lanes
 * a round read (parking those found full, the turns of those served, the
 * lock and delete of those left empty) probe each lane by its primary key,
 * where a join on `grp` could be planned as a read of every lane of the
 * queue (per round; seen once per lane read: 23 ms of a 52 ms claim with
 * 150 of 1,000 lanes). The lanes parked for a full group get an index of
 * their own (`lanes_full`; one more index entry a park), through which
 * lanes_refresh and claim_limited read them, and only when the queue has
 * one. lanes_refresh counts the claimable lanes in turn order
 * (`lanes_next`), where statistics that say every lane is claimable could
 * make that count a read of every lane.
 */
export function fullLanesMigration(s: string): string {
  return [
    `CREATE INDEX lanes_full ON ${s}.lanes (queue, grp)
      WHERE wake = 'infinity';`,
    refreshFunction(s, 13),
    roundFunction(s, 13),
    claimLimitedFunction(s, 13),
  ].join("\n");
}

/**
 * Migration 15 (`s` the quoted schema): a lane that lane_lower lowered to
 * its first due job's priority, while a job of a higher priority waits in
 * it for its run time, is raised back when that job is due. Before, that
 * job, once due, waited behind the lower-priority jobs of other groups
 * until its lane emptied. lane_lower notes the soonest such job's run time
 * and priority in the lane (`raise_at`, `raise_prio`), and lanes_refresh,
 * which each limited claim runs first, raises the lanes whose time came,
 * found through `lanes_raise` (one probe when none is due).
 */
export function raiseMigration(s: string): string {
  return [
    `ALTER TABLE ${s}.lanes ADD COLUMN raise_at float8,
      ADD COLUMN raise_prio integer;
    CREATE INDEX lanes_raise ON ${s}.lanes (queue, raise_at)
      WHERE raise_at IS NOT NULL;`,
    lowerFunction(s, 15),
    refreshFunction(s, 15),
  ].join("\n");
}

/**
 * Migration 16 (`s` the quoted schema): claim_round made again so that a
 * lane whose last job a round takes is no longer dropped at once (a probe
 * per lane served, to find most have jobs left): it stays, empty, with
 * its new turn, until a round reads it and lane_empty drops it. A group
 * whose next job arrives before then (a chain, each job enqueued as the
 * last one ends) keeps its place in the turns; before, its lane was made
 * again as never served and came before every other group.
 */
export function keptLaneMigration(s: string): string {
  return roundFunction(s, 16);
}

/**
 * Migration 21 (`s` the quoted schema): claim_round made again so that a
 * round parks every lane it fills, in the write that serves it, as
 * migration 9 did, undoing migration 11's choice to leave them claimable
 * while more claimable lanes came after those it read. Workers claim
 * ahead of their free slots, so such a lane mostly came round again while
 * its job was still held or running: read, found full, parked, then
 * unparked by its stop (in a 30,000-job drain over 1,000 groups, 10,711
 * lanes so, a read and two writes each). Parked when served, a lane is
 * read again only once its job stops, served as it stands by the claim
 * that folds the stop, or unparked by it when enough lanes are claimable.
 * That drain ran 1–8% faster (medians of three runs of alternating rounds,
 * in one process on one server); but a claim small beside the lanes
 * claimable writes a lane more a job (its stop unparks it), which
 * migration 22 undoes.
 */
export function eagerParkMigration(s: string): string {
  return roundFunction(s, 21);
}

/**
 * Migration 22 (`s` the quoted schema): claim_round made again so that a
 * round leaves the lanes it fills claimable, as migration 11 did, when at
 * least four times as many claimable lanes as it may serve come after
 * those it read (migration 11: any), and parks them otherwise, as
 * migration 21 does. Where claims are small beside the lanes claimable (a
 * worker with `prefetch: 0`: claims of ten jobs over 1,000 groups) a
 * lane's turn comes round long after its job stopped, and migration 21's
 * park made every stop unpark its lane: 59,990 lane writes for 30,000
 * jobs, against 30,000 with migrations 16 and 22.
 */
export function plentyMigration(s: string): string {
  return roundFunction(s, 22);
}

/**
 * Migration 23 (`s` the quoted schema): a grouped claim writes and reads
 * less a job. `lanes_full` (migration 13) is dropped, so parking a lane for
 * a full group writes one index entry less; the claim finds the lanes of
 * groups whose job stopped by their key, as it did before migration 13,
 * and no longer asks first whether any lane is parked full (in a drain
 * with a group limit some always is). A round takes each job by the row
 * address its heads read (`lane_head.tid`), not by a primary-key probe,
 * and claim_limited returns a step's jobs in one statement when the queue
 * has no rate and no type limits. In one process on one server, ten
 * alternating rounds of a 30,000-job drain over 1,000 groups under
 * `groups: { concurrency: 1 }` against migration 22: the claim's server
 * process spent 6% less CPU a job (50.2 to 47.2 µs, medians), and the
 * drain ran 1.04 times as fast (median; 8 rounds of 10 won).
 */
export function addressMigration(s: string): string {
  return [
    `DROP INDEX ${s}.lanes_full;
    ALTER TYPE ${s}.lane_head ADD ATTRIBUTE tid tid;`,
    refreshFunction(s, 23),
    roundFunction(s, 23),
    claimLimitedFunction(s, 23),
  ].join("\n");
}

/**
 * `lanes_refresh(queue, now)`: folds the queue's arrivals into its lanes
 * (a new lane never served; a lane parked by a full group, or for later
 * than a job that arrived due, unparked) and unparks the lanes whose
 * time has come. It deletes the arrivals folded but those an enqueue
 * holds (arrivalsOf): folding one again is harmless. From migration 9 on
 * (`lanes_refresh(queue, now, limit)`), while fewer than `limit` lanes are
 * claimable the lanes of groups that just had a job stop stay as they
 * are: it returns those groups, for the claim to serve or unpark.
 */
export function refreshFunction(s: string, v: LimitsVersion): string {
  return `${
    v >= 13 ? "CREATE OR REPLACE" : "CREATE"
  } FUNCTION ${s}.lanes_refresh(p_queue text, p_now float8${
    nine(v, ",\n      p_limit integer", "")
  })
      RETURNS ${nine(v, "text[]", "void")}
    LANGUAGE plpgsql VOLATILE ${SETTINGS}
    AS $refresh$
    ${nine(v, "DECLARE\n      v_stopped text[];\n    ", "")}BEGIN
      WITH a AS (
        SELECT x.grp, x.prio, x.run_at, x.seq FROM ${s}.arrivals x
        WHERE x.queue = p_queue
      ), gone AS (
        DELETE FROM ${s}.arrivals x WHERE x.ctid = ANY(ARRAY(
          SELECT y.ctid FROM ${s}.arrivals y WHERE y.queue = p_queue
          FOR UPDATE SKIP LOCKED))
      ), g AS MATERIALIZED (
        SELECT a.grp, max(a.prio) AS prio, min(a.run_at) AS due,
          min(a.seq) AS seq
        FROM a GROUP BY a.grp
      ), laned AS (
        INSERT INTO ${s}.lanes AS l (queue, grp, prio, turn, wake)
        SELECT p_queue, g.grp, g.prio, g.seq - ${NEVER},
          CASE WHEN g.due > p_now THEN g.due END
        FROM g WHERE g.prio IS NOT NULL
        ON CONFLICT (queue, grp) DO UPDATE SET
          prio = greatest(l.prio, excluded.prio),
          wake = CASE WHEN l.wake IS NULL OR excluded.wake IS NULL
            OR l.wake = 'infinity' THEN NULL
            ELSE least(l.wake, excluded.wake) END
      )
      ${
    nine(
      v,
      `SELECT array_agg(g.grp) INTO v_stopped FROM g WHERE g.prio IS NULL;
      IF v_stopped IS NOT NULL AND (SELECT count(*) FROM (SELECT 1
          FROM ${s}.lanes l WHERE l.queue = p_queue AND l.wake IS NULL${
        v >= 13 ? "\n          ORDER BY l.prio DESC, l.turn" : ""
      }
          LIMIT p_limit) x) >= p_limit THEN
        ${unparkFull(s, "unnest(v_stopped) g(grp)", "", v)}
        v_stopped := NULL;
      END IF;`,
      unparkFull(s, "g", "g.prio IS NULL AND "),
    )
  }
      ${
    v >= 15
      ? `UPDATE ${s}.lanes l SET prio = greatest(l.prio, l.raise_prio),
        raise_at = NULL, raise_prio = NULL
      WHERE l.queue = p_queue AND l.raise_at <= p_now;
      `
      : ""
  }UPDATE ${s}.lanes l SET wake = NULL
      WHERE l.queue = p_queue AND l.wake <= p_now${
    nine(
      v,
      " AND l.wake < 'infinity';\n      RETURN coalesce(v_stopped, '{}');",
      ";",
    )
  }
    END
    $refresh$;`;
}
