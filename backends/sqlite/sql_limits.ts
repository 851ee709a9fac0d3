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
import { grouped, HOLD_FULL, laneUpsert } from "./sql_limits_schema.ts";

export { HOLD_FULL } from "./sql_limits_schema.ts";

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
export const RUNNING = `SELECT coalesce(sum(processing), 0)
  FROM jobline_tallies WHERE queue = ?1`;

/** ?1 queue, ?2 type: jobs of a type processing. */
export const RUNNING_TYPE = `SELECT processing FROM jobline_tallies
  WHERE queue = ?1 AND type = ?2`;

/** ?1 queue, ?2 group: jobs of a group processing, from the index. */
export const RUNNING_GROUP = `SELECT count(*) FROM jobline_jobs
  WHERE queue = ?1 AND job_group = ?2 AND state = 2 AND ${grouped()}`;

/** ?1 queue: the types with pending jobs. */
export const PENDING_TYPES = `SELECT type FROM jobline_tallies
  WHERE queue = ?1 AND pending > 0`;

/** ?1 queue: 1 when a job with a group is due. */
export const GROUPED_DUE = `SELECT EXISTS (SELECT 1 FROM jobline_jobs
  WHERE queue = ?1 AND state = 0 AND ${grouped()})`;

/**
 * ?1 queue, ?2 now, ?3 type, ?4 limit, ?5 the group concurrency limit or
 * null: the claimable lanes of a type to serve first (by priority, then
 * turn), each with its first live due job (seq and priority, nulls when the
 * lane is empty) and, under a group concurrency limit, its group's running
 * jobs (else 0): one statement for a batch of lanes, each read through an
 * index.
 */
export const LANES_NEXT = `SELECT l.job_group, l.prio, l.turn, h.seq,
  h.priority, CASE WHEN ?5 IS NULL THEN 0 ELSE (
    SELECT count(*) FROM jobline_jobs AS r WHERE r.queue = ?1
      AND r.state = 2 AND r.job_group = l.job_group
      AND ${grouped("r.")}) END
FROM jobline_lanes AS l
LEFT JOIN jobline_jobs AS h ON h.seq = (SELECT f.seq FROM jobline_jobs AS f
  WHERE f.queue = ?1 AND f.state = 0 AND f.job_group = l.job_group
    AND f.type = l.type AND ${grouped("f.")}
    AND (f.expires_at IS NULL OR f.expires_at > ?2)
  ORDER BY f.priority DESC, f.seq LIMIT 1)
WHERE l.queue = ?1 AND l.type = ?3 AND l.hold IS NULL
ORDER BY l.prio DESC, l.turn LIMIT CAST(?4 AS INTEGER)`;

/**
 * ?1 queue, ?2 now, ?3 type, ?4 limit: the first live due jobs of a type
 * without a group, as seq and priority.
 */
export const UNGROUPED_NEXT = `SELECT seq, priority FROM jobline_jobs
  WHERE queue = ?1 AND type = ?3 AND state = 0 AND job_group IS NULL
    AND ${LIVE}
  ORDER BY priority DESC, seq LIMIT CAST(?4 AS INTEGER)`;

/**
 * ?1 queue, ?2 now, ?3 group, ?4 type, ?5 seqs chosen and not written yet
 * as JSON: the group's first live due job of that type but those, as seq
 * and priority.
 */
export const GROUP_FIRST = `SELECT seq, priority FROM jobline_jobs
  WHERE queue = ?1 AND state = 0 AND job_group = ?3 AND ${grouped()}
    AND type = ?4 AND ${LIVE}
    AND seq NOT IN (SELECT value FROM json_each(?5))
  ORDER BY priority DESC, seq LIMIT 1`;

/**
 * ?1 queue, ?2 lanes found empty as JSON (`[[group, type], ...]`): drops
 * them.
 */
export const LANES_DROP = `DELETE FROM jobline_lanes WHERE queue = ?1
  AND (job_group, type) IN (SELECT value ->> 0, value ->> 1
    FROM json_each(?2))`;

/** ?1 queue, ?2 group, ?3 type, ?4 prio: a lane's first job is lower. */
export const LANE_PRIO = `UPDATE jobline_lanes SET prio = ?4
  WHERE queue = ?1 AND job_group = ?2 AND type = ?3`;

/**
 * ?1 queue, ?2 groups served as JSON (`[[group, turn, hold?], ...]`, each
 * group once): the new turn of each group's lanes, of every type (a turn
 * is the group's), and their hold when the group was parked as full in the
 * same claim (else null: a group served was claimable), found by the
 * lanes' key.
 */
export const LANES_SERVED = `INSERT INTO jobline_lanes
  (queue, job_group, type, prio, turn, hold)
  SELECT ?1, l.job_group, l.type, 0, json_each.value ->> 1,
    json_each.value ->> 2
    FROM json_each(?2) CROSS JOIN jobline_lanes AS l
    WHERE l.queue = ?1 AND l.job_group = json_each.value ->> 0
  ON CONFLICT (queue, job_group, type) DO UPDATE SET turn = excluded.turn,
    hold = excluded.hold`;

/** ?1 queue, ?2 group, ?3 hold (null: claimable): parks a group's lanes. */
export const GROUP_HOLD = `UPDATE jobline_lanes SET hold = ?3
  WHERE queue = ?1 AND job_group = ?2`;

/**
 * ?1 queue, ?2 groups as JSON (`[group, ...]`): parks them as full (a lane
 * parked already is not written again).
 */
export const GROUPS_FULL = `UPDATE jobline_lanes SET hold = ${HOLD_FULL}
  WHERE queue = ?1 AND job_group IN (SELECT value FROM json_each(?2))
    AND hold IS NOT ${HOLD_FULL}`;

/**
 * ?1 queue, ?2 groups as JSON (`[group, ...]`), ?3 the group concurrency
 * limit: after jobs of theirs stopped, the lanes of those groups parked as
 * full are claimable again when the group is below its limit (`changes`:
 * the lanes freed).
 */
export const GROUPS_STOPPED = `UPDATE jobline_lanes SET hold = NULL
  WHERE queue = ?1 AND job_group IN (SELECT value FROM json_each(?2))
    AND hold = ${HOLD_FULL}
    AND (SELECT count(*) FROM jobline_jobs AS j WHERE j.queue = ?1
      AND j.job_group = jobline_lanes.job_group AND j.state = 2
      AND ${grouped("j.")}) < ?3`;

/**
 * ?1 queue, ?2 now, ?3 the group concurrency limit or null: lanes whose
 * hold has passed are claimable again, unless their group is full.
 */
export const HOLDS_DUE = `UPDATE jobline_lanes SET hold = CASE
    WHEN ?3 IS NOT NULL AND (SELECT count(*) FROM jobline_jobs AS j
      WHERE j.queue = ?1 AND j.job_group = jobline_lanes.job_group
        AND j.state = 2 AND ${grouped("j.")}) >= ?3
    THEN ${HOLD_FULL} END
  WHERE queue = ?1 AND hold <> ${HOLD_FULL} AND hold <= ?2`;

/**
 * ?1 queue, ?2 the group concurrency limit: lanes parked as full whose
 * group is no longer full are claimable again (housekeeping's check).
 */
export const HOLDS_FREED = `UPDATE jobline_lanes SET hold = NULL
  WHERE queue = ?1 AND hold = ${HOLD_FULL}
    AND (SELECT count(*) FROM jobline_jobs AS j
      WHERE j.queue = ?1 AND j.job_group = jobline_lanes.job_group
        AND j.state = 2 AND ${grouped("j.")}) < ?2`;

/** ?1 queue: every lane claimable (setLimits starts over). */
export const HOLDS_CLEAR = `UPDATE jobline_lanes SET hold = NULL
  WHERE queue = ?1 AND hold IS NOT NULL`;

/** ?1 queue, ?2 the group concurrency limit: parks the full groups. */
export const HOLDS_FULL = `UPDATE jobline_lanes SET hold = ${HOLD_FULL}
  WHERE queue = ?1 AND job_group IN (SELECT job_group FROM jobline_jobs
    WHERE queue = ?1 AND state = 2 AND ${grouped()}
    GROUP BY job_group HAVING count(*) >= ?2)`;

/** ?1 queue: the soonest time a group held by its rate goes on, if any. */
export const HOLD_NEXT = `SELECT hold FROM jobline_lanes
  WHERE queue = ?1 AND hold <> ${HOLD_FULL} ORDER BY hold LIMIT 1`;

/** ?1 queue, ?2 type: the last turn of the jobs without a group (UNGROUPED) or of the queue (''). */
export const TURN_GET =
  "SELECT turn FROM jobline_turns WHERE queue = ?1 AND type = ?2";

/** ?1 queue, ?2 type, ?3 turn */
export const TURN_SET = `INSERT INTO jobline_turns (queue, type, turn)
  VALUES (?1, ?2, ?3) ON CONFLICT (queue, type) DO UPDATE SET turn = ?3`;
