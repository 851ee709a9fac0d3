/**
 * The limits and groups schema of the SQLite backend (SPEC §7.3, §7.4),
 * migration 7 of sql.ts, as a named constant beside it; the statements are
 * in sql_limits.ts. Runs nothing.
 *
 * A job's group is the `job_group` column (null: no group). Due jobs
 * without a group stay in the two due indexes (now partial on `job_group IS
 * NULL`, so the plain claim reads exactly what it read before); due and
 * processing jobs with a group are in `jobline_jobs_grouped`, by state,
 * group and type (a statement names those rows with `grouped()`, so that
 * SQLite reads the index), so that whether one is due, the first due job
 * of one group and type, and a group's running jobs (counted from the
 * index, never from a counter that could drift) are each one seek. One
 * index rather than one per state: a plain claim or complete changes
 * `state`, and SQLite tests the condition of every partial index on a
 * changed column (two cost a plain drain 2%). A finished job leaves it: a
 * complete deletes its entry rather than moving it among the finished jobs
 * of every group (a page written per job).
 *
 * `jobline_lanes` has a row per group and type that has (or lately had) due
 * jobs: `prio`, at least the priority of its first due job (raised by the
 * triggers below, lowered by the claim when it finds less), `turn`, the
 * turn it was last served (a lane never served gets its first job's seq
 * less 2^52, so that it comes before every lane served, in enqueue order),
 * and `hold`: null while claimable, else the time until which a group
 * limit parks it (HOLD_FULL: until one of the group's jobs stops; a claim
 * parks a full group's lanes when it meets them, or when it ends short of
 * what it asked for, or, while claims meet full groups, when it fills
 * them: lanes.ts). `jobline_lanes_held` has only the lanes
 * held until a time: a lane parked as full is found by its group (the
 * stops that free it know it), so parking and freeing one moves it in and
 * out of `jobline_lanes_next` alone, and housekeeping's check of the
 * lanes parked as full reads the queue's lanes by key. A claim reads the
 * claimable lanes of a type by (prio, turn)
 * through `jobline_lanes_next`, so it never looks at a parked or a served
 * lane before the lanes ahead of it. The claim deletes a lane it finds
 * empty; a lane is made again (taking the hold of the group's other lanes)
 * when a job of its group and type becomes due: by the transition that
 * inserts it due (LANE_ADD, sql_limits.ts: enqueue, import, a flow's
 * first jobs), or by the trigger below, for an update with `run_at` or
 * `priority` in its SET list that leaves it due (every statement that
 * makes a job due sets `run_at`, PROMOTE_DELAYED included). The trigger
 * does nothing for a job without a group, and the claim and complete
 * statements set neither column, so the plain path fires it never; an
 * insert trigger would cost every enqueue some 5%.
 *
 * `jobline_turns` keeps the last turn given per queue (type '') and the
 * turn of the lane of jobs without a group per type. `jobline_limits`
 * holds a queue's limits as JSON (no row: none). `jobline_claims` is the
 * log of recent claims that rate limits read: per queue and scope ('' the
 * queue, 't:' a type, 'g:' a group) a row per claim step, `until` the time
 * it leaves the window (claim time + per, never less than the row before,
 * so that it grows with the count `n`, `n0` the count before it): the
 * claims in the window are `n` of the last row less `n0` of the first row
 * still in it, two seeks whatever the rate.
 *
 * @module
 */

/**
 * The rows of `jobline_jobs_grouped` (due or processing jobs with a group),
 * as a statement must spell them for SQLite to read that index; `j.` is
 * the table's alias, if any.
 */
export const grouped = (j = ""): string =>
  `${j}job_group IS NOT NULL AND ${j}state IN (0, 2)`;

/** The hold of a lane parked until one of its group's jobs stops. */
export const HOLD_FULL = 9_000_000_000_000_000;

/**
 * The `type` under which jobline_turns keeps the last turn of the jobs
 * without a group, of every type: one turn, as one group's (a space: no
 * type has one). Before, each type kept its own, under its name; those
 * rows are no longer read.
 */
export const UNGROUPED = " ";

/** 2^52: never-served lanes get `seq - NEVER`, before any served turn. */
export const NEVER = 4_503_599_627_370_496;

/**
 * The lane of a due job with a group: made with the turn and the hold of
 * its group's other lanes (a turn is the group's; never served when it
 * has none), or its priority raised to the job's. The values are the job's
 * queue, group, type, priority and seq, as `p.` names (`new.` in the
 * trigger, parameters in LANE_ADD).
 */
export const laneUpsert = (p: Record<string, string>): string =>
  `INSERT INTO jobline_lanes (queue, job_group, type, prio, turn, hold)
  SELECT ${p.queue}, ${p.group}, ${p.type}, ${p.priority},
    coalesce(max(o.turn), ${p.seq} - ${NEVER}), max(o.hold)
  FROM jobline_lanes AS o
  WHERE o.queue = ${p.queue} AND o.job_group = ${p.group}
  ON CONFLICT (queue, job_group, type) DO UPDATE SET prio = excluded.prio
    WHERE excluded.prio > prio`;

/** The trigger's upsert as migration 7 made it (a new lane never served). */
const LANE_UPSERT_7 =
  `INSERT INTO jobline_lanes (queue, job_group, type, prio, turn, hold)
  VALUES (new.queue, new.job_group, new.type, new.priority,
    new.seq - ${NEVER}, (SELECT hold FROM jobline_lanes
      WHERE queue = new.queue AND job_group = new.job_group LIMIT 1))
  ON CONFLICT (queue, job_group, type) DO UPDATE SET prio = excluded.prio
    WHERE excluded.prio > prio`;

/**
 * Migration 12: the trigger that makes the lane of a job made due again
 * (its run time or priority changed) gives a new lane its group's turn
 * (laneUpsert), as the enqueue does (LANE_ADD): a group whose job of a
 * new type arrives keeps its place in the turns.
 */
export const LANE_TURN_MIGRATION = `
DROP TRIGGER jobline_jobs_relaned;
CREATE TRIGGER jobline_jobs_relaned
  AFTER UPDATE OF run_at, priority ON jobline_jobs
  WHEN new.state = 0 AND new.job_group IS NOT NULL
BEGIN
  ${
  laneUpsert({
    queue: "new.queue",
    group: "new.job_group",
    type: "new.type",
    priority: "new.priority",
    seq: "new.seq",
  })
};
END;`;

/** Migration 7: the group column, its indexes, lanes, turns, limits, log. */
export const LIMITS_MIGRATION = `
ALTER TABLE jobline_jobs ADD COLUMN job_group TEXT;
DROP INDEX jobline_jobs_due;
DROP INDEX jobline_jobs_due_type;
CREATE INDEX jobline_jobs_due ON jobline_jobs (queue, priority DESC, seq)
  WHERE state = 0 AND job_group IS NULL;
CREATE INDEX jobline_jobs_due_type
  ON jobline_jobs (queue, type, priority DESC, seq)
  WHERE state = 0 AND job_group IS NULL;
CREATE INDEX jobline_jobs_grouped
  ON jobline_jobs (queue, state, job_group, type, priority DESC, seq)
  WHERE ${grouped()};
CREATE TABLE jobline_lanes (
  queue TEXT NOT NULL,
  job_group TEXT NOT NULL,
  type TEXT NOT NULL,
  prio INTEGER NOT NULL,
  turn INTEGER NOT NULL,
  hold INTEGER,
  PRIMARY KEY (queue, job_group, type)
) WITHOUT ROWID;
CREATE INDEX jobline_lanes_next ON jobline_lanes (queue, type, prio DESC, turn)
  WHERE hold IS NULL;
CREATE INDEX jobline_lanes_held ON jobline_lanes (queue, hold)
  WHERE hold <> ${HOLD_FULL};
CREATE TABLE jobline_turns (
  queue TEXT NOT NULL,
  type TEXT NOT NULL,
  turn INTEGER NOT NULL,
  PRIMARY KEY (queue, type)
) WITHOUT ROWID;
CREATE TABLE jobline_limits (
  queue TEXT PRIMARY KEY,
  limits TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE jobline_claims (
  queue TEXT NOT NULL,
  scope TEXT NOT NULL,
  until INTEGER NOT NULL,
  n0 INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (queue, scope, until, n)
) WITHOUT ROWID;
CREATE INDEX jobline_claims_until ON jobline_claims (queue, until);
CREATE TRIGGER jobline_jobs_relaned
  AFTER UPDATE OF run_at, priority ON jobline_jobs
  WHEN new.state = 0 AND new.job_group IS NOT NULL
BEGIN
  ${LANE_UPSERT_7};
END;`;
