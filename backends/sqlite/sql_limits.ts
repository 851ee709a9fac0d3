/**
 * The limits and groups SQL of the SQLite backend (SPEC §7.3, §7.4), as
 * named constants beside sql.ts, which holds the plain claim and the
 * finishing statements (they return LIMITS_TAIL); the tables are described
 * in sql_limits_schema.ts. Every statement here reads through an index and
 * touches one group, one type, one lane or one scope of the claim log,
 * except the few run by setLimits and housekeeping. Runs nothing.
 *
 * @module
 */

import { LIVE } from "./sql.ts";
import { laneUpsert } from "./sql_limits_schema.ts";

/** The hold of a lane parked until one of its group's jobs stops. */
export const HOLD_FULL = 9_000_000_000_000_000;

/** ?1 queue: its limits as JSON (no row: none). */
export const LIMITS_GET = "SELECT limits FROM jobline_limits WHERE queue = ?1";

/** ?1 queue, ?2 limits (JSON) */
export const LIMITS_SET = `INSERT INTO jobline_limits (queue, limits)
  VALUES (?1, ?2) ON CONFLICT (queue) DO UPDATE SET limits = excluded.limits`;

/** ?1 queue */
export const LIMITS_CLEAR = "DELETE FROM jobline_limits WHERE queue = ?1";

/** ?1 queue: forgets the claim log (after a change of limits). */
export const CLAIMS_FORGET = "DELETE FROM jobline_claims WHERE queue = ?1";

/** ?1 queue, ?2 now: drops the log rows that left their window. */
export const CLAIMS_TRIM =
  "DELETE FROM jobline_claims WHERE queue = ?1 AND until <= ?2";

/**
 * ?1 queue, ?2 scope, ?3 now: the count after the last row, the time the
 * last row leaves its window, the count before the first row still in the
 * window and the time it leaves it (nulls when none).
 */
export const CLAIMS_WINDOW = `SELECT
  (SELECT n FROM jobline_claims WHERE queue = ?1 AND scope = ?2
    ORDER BY until DESC, n DESC LIMIT 1),
  (SELECT until FROM jobline_claims WHERE queue = ?1 AND scope = ?2
    ORDER BY until DESC, n DESC LIMIT 1),
  (SELECT n0 FROM jobline_claims WHERE queue = ?1 AND scope = ?2
    AND until > ?3 ORDER BY until, n LIMIT 1),
  (SELECT until FROM jobline_claims WHERE queue = ?1 AND scope = ?2
    AND until > ?3 ORDER BY until, n LIMIT 1)`;

/**
 * ?1 queue, ?2 group, ?3 type, ?4 priority, ?5 seq: the lane of a job
 * inserted due (see sql_limits_schema.ts).
 */
export const LANE_ADD = laneUpsert({
  queue: "?1",
  group: "?2",
  type: "?3",
  priority: "?4",
  seq: "?5",
});

/** ?1 queue, ?2 scope, ?3 until, ?4 n0, ?5 n: logs a claim step. */
export const CLAIMS_ADD =
  `INSERT INTO jobline_claims (queue, scope, until, n0, n)
  VALUES (?1, ?2, ?3, ?4, ?5)`;

/** ?1 queue: jobs processing (counts kept by sql_counts.ts's triggers). */
export const RUNNING = `SELECT coalesce(sum(n), 0) FROM jobline_counts
  WHERE queue = ?1 AND status = 'processing'`;

/** ?1 queue, ?2 type: jobs of a type processing. */
export const RUNNING_TYPE = `SELECT n FROM jobline_counts
  WHERE queue = ?1 AND type = ?2 AND status = 'processing'`;

/** ?1 queue, ?2 group: jobs of a group processing, from the index. */
export const RUNNING_GROUP = `SELECT count(*) FROM jobline_jobs
  WHERE queue = ?1 AND job_group = ?2 AND state = 2 AND job_group IS NOT NULL`;

/** ?1 queue: the types with pending jobs. */
export const PENDING_TYPES = `SELECT type FROM jobline_counts
  WHERE queue = ?1 AND status = 'pending' AND n > 0`;

/** ?1 queue: 1 when a job with a group is due. */
export const GROUPED_DUE = `SELECT EXISTS (SELECT 1 FROM jobline_jobs
  WHERE queue = ?1 AND state = 0 AND job_group IS NOT NULL)`;

/** ?1 queue, ?2 type: the claimable lane of a type to serve first. */
export const LANE_NEXT = `SELECT job_group, prio, turn FROM jobline_lanes
  WHERE queue = ?1 AND type = ?2 AND hold IS NULL
  ORDER BY prio DESC, turn LIMIT 1`;

/**
 * ?1 queue, ?2 now, ?3 group, ?4 type: the first live due job of a lane,
 * as seq and priority.
 */
export const LANE_HEAD = `SELECT seq, priority FROM jobline_jobs
  WHERE queue = ?1 AND job_group = ?3 AND type = ?4 AND state = 0
    AND job_group IS NOT NULL AND ${LIVE}
  ORDER BY priority DESC, seq LIMIT 1`;

/**
 * ?1 queue, ?2 now, ?3 type: the first live due job of a type without a
 * group, as seq and priority.
 */
export const UNGROUPED_HEAD = `SELECT seq, priority FROM jobline_jobs
  WHERE queue = ?1 AND type = ?3 AND state = 0 AND job_group IS NULL
    AND ${LIVE}
  ORDER BY priority DESC, seq LIMIT 1`;

/** ?1 queue, ?2 group, ?3 type: drops a lane found empty. */
export const LANE_DROP = `DELETE FROM jobline_lanes
  WHERE queue = ?1 AND job_group = ?2 AND type = ?3`;

/** ?1 queue, ?2 group, ?3 type, ?4 prio: a lane's first job is lower. */
export const LANE_PRIO = `UPDATE jobline_lanes SET prio = ?4
  WHERE queue = ?1 AND job_group = ?2 AND type = ?3`;

/** ?1 queue, ?2 group, ?3 type, ?4 turn: a lane was served. */
export const LANE_SERVED = `UPDATE jobline_lanes SET turn = ?4
  WHERE queue = ?1 AND job_group = ?2 AND type = ?3`;

/** ?1 queue, ?2 group, ?3 hold (null: claimable): parks a group's lanes. */
export const GROUP_HOLD = `UPDATE jobline_lanes SET hold = ?3
  WHERE queue = ?1 AND job_group = ?2`;

/** ?1 queue, ?2 group: a group parked while full is claimable again. */
export const GROUP_FREED = `UPDATE jobline_lanes SET hold = NULL
  WHERE queue = ?1 AND job_group = ?2 AND hold = ${HOLD_FULL}`;

/**
 * ?1 queue, ?2 now, ?3 the group concurrency limit or null: lanes whose
 * hold has passed are claimable again, unless their group is full.
 */
export const HOLDS_DUE = `UPDATE jobline_lanes SET hold = CASE
    WHEN ?3 IS NOT NULL AND (SELECT count(*) FROM jobline_jobs AS j
      WHERE j.queue = ?1 AND j.job_group = jobline_lanes.job_group
        AND j.state = 2 AND j.job_group IS NOT NULL) >= ?3
    THEN ${HOLD_FULL} END
  WHERE queue = ?1 AND hold IS NOT NULL AND hold <= ?2`;

/**
 * ?1 queue, ?2 the group concurrency limit: lanes parked as full whose
 * group is no longer full are claimable again (housekeeping's check).
 */
export const HOLDS_FREED = `UPDATE jobline_lanes
  INDEXED BY jobline_lanes_held SET hold = NULL
  WHERE queue = ?1 AND hold IS NOT NULL AND hold = ${HOLD_FULL}
    AND (SELECT count(*) FROM jobline_jobs AS j
      WHERE j.queue = ?1 AND j.job_group = jobline_lanes.job_group
        AND j.state = 2 AND j.job_group IS NOT NULL) < ?2`;

/** ?1 queue: every lane claimable (setLimits starts over). */
export const HOLDS_CLEAR = `UPDATE jobline_lanes SET hold = NULL
  WHERE queue = ?1 AND hold IS NOT NULL`;

/** ?1 queue, ?2 the group concurrency limit: parks the full groups. */
export const HOLDS_FULL = `UPDATE jobline_lanes SET hold = ${HOLD_FULL}
  WHERE queue = ?1 AND job_group IN (SELECT job_group FROM jobline_jobs
    WHERE queue = ?1 AND state = 2 AND job_group IS NOT NULL
    GROUP BY job_group HAVING count(*) >= ?2)`;

/** ?1 queue: the soonest time a group held by its rate goes on, if any. */
export const HOLD_NEXT = `SELECT hold FROM jobline_lanes
  WHERE queue = ?1 AND hold IS NOT NULL ORDER BY hold LIMIT 1`;

/** ?1 queue, ?2 type: the last turn of the lane without a group (or of the queue: ''). */
export const TURN_GET =
  "SELECT turn FROM jobline_turns WHERE queue = ?1 AND type = ?2";

/** ?1 queue, ?2 type, ?3 turn */
export const TURN_SET = `INSERT INTO jobline_turns (queue, type, turn)
  VALUES (?1, ?2, ?3) ON CONFLICT (queue, type) DO UPDATE SET turn = ?3`;
