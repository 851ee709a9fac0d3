/**
 * The SQL of the SQLite backend's transitions: every statement, as named
 * constants (the schema and its migrations are in sql_migrations.ts, the
 * claims in sql_claim.ts). Statements use numbered parameters (`?1`); the
 * comment above each names them.
 *
 * Internal `state` of a job (the public `status` is kept beside it):
 * 0 pending and due, 1 pending and delayed, 2 processing, 3 finished, -1
 * waiting for the parents of its flow (sql_flows_schema.ts).
 * The partial indexes on `state` let a claim read only the rows it returns:
 * delayed jobs become due in one indexed step first, so due and delayed
 * jobs never share an index. Every statement that makes a job due (state
 * 0) sets `run_at` (the same value if need be): a job with a group then
 * gets its lane (sql_limits_schema.ts). A statement that takes a job out of
 * "processing" returns LIMITS_TAIL, for the limits step (limits.ts);
 * complete and fail only for a job claimed under limits or from a lane.
 *
 * A finished job (state 3) carries its finish time in `completed_at` (its
 * removal time is that plus its keep age; the `remove_at` column of
 * migration 3 is no longer used); one partial index by
 * status, keep age and finish time lets retention find the oldest jobs of
 * a status and the jobs due for removal without scanning (migration 8:
 * sql_retention_schema.ts; the retention statements: sql_retention.ts).
 *
 * @module
 */

import { HOLD_FULL } from "./sql_limits_schema.ts";

/** A job's flow link as JSON, read last (null for a plain job). */
export const FLOW = "flow_link";

/** The names of FLOW's columns, in order. */
export const FLOW_COLUMNS = ["flow_link"] as const;

/**
 * What a statement that takes a job out of "processing" returns last, for
 * the limits step (limits.ts): its type and group, the queue's limits as
 * JSON (null when none: the step then costs this one test), and whether a
 * lane of its group is parked as full (1 or 0: the step writes nothing
 * when none is).
 */
const LIMITS_TAIL = `type, job_group,
  (SELECT limits FROM jobline_limits WHERE queue = ?1),
  EXISTS (SELECT 1 FROM jobline_lanes AS p WHERE p.queue = ?1
    AND p.hold = ${HOLD_FULL} AND p.job_group = jobline_jobs.job_group)`;

/**
 * What a statement that may finish a job returns last, for the flow step
 * (transitions_flows.ts): the flow id, null for a plain job, which the
 * step skips without a statement.
 */
export const FLOW_TAIL = "flow_id";

/** A job's keep rules, read after the other columns (see keepOf). */
export const KEEP = `keep_complete_age, keep_complete_count, keep_failed_age,
  keep_failed_count`;

/** The names of KEEP's columns, in order. */
export const KEEP_COLUMNS = [
  "keep_complete_age",
  "keep_complete_count",
  "keep_failed_age",
  "keep_failed_count",
] as const;

/**
 * Every column a JobRecord needs, read as an array (see RECORD_COLUMNS).
 */
const RECORD = `id, type, data, priority, max_attempts, run_at, created_at,
  ttl, expires_at, key, metadata, status, progress, message, result, error,
  attempt, updated_at, started_at, completed_at, lease_token, lease_until,
  version, seq, ${KEEP}, ${FLOW}, job_group`;

/** The positions of RECORD's columns. */
export const RECORD_COLUMNS = [
  "id",
  "type",
  "data",
  "priority",
  "max_attempts",
  "run_at",
  "created_at",
  "ttl",
  "expires_at",
  "key",
  "metadata",
  "status",
  "progress",
  "message",
  "result",
  "error",
  "attempt",
  "updated_at",
  "started_at",
  "completed_at",
  "lease_token",
  "lease_until",
  "version",
  "seq",
  ...KEEP_COLUMNS,
  ...FLOW_COLUMNS,
  "job_group",
] as const;

/**
 * The payload of an update event, built by SQLite from the row after the
 * change: the log row stores it as it is, and listeners parse it only when
 * someone listens. Numbers keep 17 digits, so they read back exactly.
 */
export const PAYLOAD =
  `json_array(type, status, progress, message, attempt, result,
  json(error), updated_at, version)`;

export const LIVE = "(expires_at IS NULL OR expires_at > ?2)";

/**
 * What a statement deleting expired jobs returns of each: whether it was
 * processing (1 or 0), its type and group, for the limits it counted in.
 */
export const EXPIRED = "state = 2, type, job_group";

/**
 * ?1 = queue, ?2 = now, ?3 = key: frees a key held by an expired job;
 * returns it as EXPIRED (see dropExpired, limits.ts).
 */
export const DROP_EXPIRED_HOLDER = `DELETE FROM jobline_jobs
  WHERE queue = ?1 AND key_held = ?3 AND expires_at <= ?2
  RETURNING ${EXPIRED}`;

/**
 * What a statement that may finish a job returns after its payload, for
 * retention (retention.ts): the job's seq and the age and count of the rule
 * of the status it finished with (`rule` is "complete" or "failed").
 */
const RETAIN = (rule: string): string =>
  `seq, keep_${rule}_age, keep_${rule}_count`;

/**
 * ?1 = queue, ?2 = now: returns expired leases to pending (or to failed with
 * no attempts left, kept by its failed rule). Rows: id,
 * payload, state (3: failed), then RETAIN, then FLOW_TAIL, then LIMITS_TAIL.
 */
export const EXPIRE_LEASES = `UPDATE jobline_jobs SET
  status = CASE WHEN attempt < max_attempts THEN 'pending' ELSE 'failed' END,
  state = CASE WHEN attempt < max_attempts THEN 0 ELSE 3 END,
  run_at = CASE WHEN attempt < max_attempts THEN ?2 ELSE run_at END,
  completed_at = CASE WHEN attempt < max_attempts THEN NULL ELSE ?2 END,
  key_held = CASE WHEN attempt < max_attempts THEN key_held ELSE NULL END,
  error = '{"name":"LeaseExpiredError","message":"lease expired"}',
  lease_token = NULL, lease_until = NULL, updated_at = ?2,
  version = version + 1
WHERE queue = ?1 AND state = 2 AND lease_until <= ?2 AND ${LIVE}
RETURNING id, ${PAYLOAD}, state, ${RETAIN("failed")}, ${FLOW_TAIL},
  ${LIMITS_TAIL}`;

/**
 * ?1 = queue, ?2 = now: delayed jobs that are due become claimable (`run_at`
 * is in the SET list for the lane trigger: sql_limits_schema.ts).
 */
export const PROMOTE_DELAYED = `UPDATE jobline_jobs SET state = 0,
  run_at = run_at
  WHERE queue = ?1 AND state = 1 AND run_at <= ?2`;

/** ?1 queue, ?2 id, ?3 token, ?4 until */
export const HEARTBEAT = `UPDATE jobline_jobs SET lease_until = ?4
  WHERE queue = ?1 AND id = ?2 AND state = 2 AND lease_token = ?3
RETURNING lease_until`;

/** ?1 queue, ?2 id, ?3 token, ?4 now, ?5 progress or null, ?6 message or null */
export const UPDATE_PROGRESS = `UPDATE jobline_jobs SET
  progress = coalesce(?5, progress), message = coalesce(?6, message),
  updated_at = ?4, version = version + 1
WHERE queue = ?1 AND id = ?2 AND state = 2 AND lease_token = ?3
RETURNING ${PAYLOAD}`;

/**
 * ?1 queue, ?2 id, ?3 token, ?4 now, ?5 result. Rows: payload, then RETAIN
 * (by the complete rule), then FLOW_TAIL.
 */
export const COMPLETE = `UPDATE jobline_jobs SET state = 3,
  status = 'complete', result = ?5, key_held = NULL, lease_token = NULL,
  lease_until = NULL, completed_at = ?4, updated_at = ?4,
  version = version + 1
WHERE queue = ?1 AND id = ?2 AND state = 2 AND lease_token = ?3
RETURNING ${PAYLOAD}, ${RETAIN("complete")}, ${FLOW_TAIL}`;

/**
 * What COMPLETE_LIMITED and FAIL_LIMITED return last: LIMITS_TAIL up to
 * the group. The limits step reads the limits once per transaction
 * (limitsText, limits.ts) and frees the group's parked lanes, if any, in
 * one statement per transaction: two subqueries per row cost a grouped
 * drain some 10%.
 */
const STOPPED_TAIL = "type, job_group";

/**
 * COMPLETE for a job claimed under limits or from a group's lane (its
 * token says so: transitions.ts), its rows ending with STOPPED_TAIL. A
 * plain claim's job completes without it: more columns cost a plain drain
 * some 2%.
 */
export const COMPLETE_LIMITED = `${COMPLETE}, ${STOPPED_TAIL}`;

/**
 * ?1 queue, ?2 the completions as a JSON array of `[id, token, result,
 * now]` (each id once): COMPLETE for many held jobs in one statement, as
 * a worker's completions of one turn go (completions.ts). A statement per
 * job cost some 4 µs more per job (binding, stepping and setting up each
 * one) than its share of one statement for them all. The list is read
 * first (CROSS JOIN keeps that order, MATERIALIZED keeps it a list), each
 * job found by its id, then updated by rowid. A job under a count rule is
 * left to COMPLETE: each such rule trims as its job finishes, before the
 * next job of the batch is complete. Rows, for the jobs completed: id,
 * payload, then RETAIN, then FLOW_TAIL, then STOPPED_TAIL (read for a job
 * claimed under limits only). The caller counts the jobs it completes
 * (`tallied` flipped: tallies.ts).
 */
export const COMPLETE_MANY = `WITH c AS MATERIALIZED (
  SELECT j.seq AS s, e.value ->> 2 AS res, e.value ->> 3 AS at
  FROM json_each(?2) AS e CROSS JOIN jobline_jobs AS j
  WHERE j.queue = ?1 AND j.id = e.value ->> 0 AND j.state = 2
    AND j.lease_token = e.value ->> 1 AND j.keep_complete_count IS NULL)
UPDATE jobline_jobs SET state = 3, status = 'complete', result = c.res,
  key_held = NULL, lease_token = NULL, lease_until = NULL,
  completed_at = c.at, updated_at = c.at, version = version + 1,
  tallied = 1 - tallied
FROM c WHERE jobline_jobs.seq = c.s
RETURNING id, ${PAYLOAD}, ${RETAIN("complete")}, ${FLOW_TAIL},
  ${STOPPED_TAIL}`;

/**
 * ?1 queue, ?2 id, ?3 token, ?4 now, ?5 error, ?6 retryAt or null: back to
 * pending (due or delayed) when ?6 is a time, else failed for good (kept
 * by its failed rule). Rows: payload, then RETAIN, then
 * FLOW_TAIL.
 */
export const FAIL = `UPDATE jobline_jobs SET
  error = ?5, lease_token = NULL, lease_until = NULL, updated_at = ?4,
  version = version + 1,
  status = CASE WHEN ?6 IS NULL THEN 'failed' ELSE 'pending' END,
  state = CASE WHEN ?6 IS NULL THEN 3 WHEN ?6 > ?4 THEN 1 ELSE 0 END,
  run_at = coalesce(?6, run_at),
  key_held = CASE WHEN ?6 IS NULL THEN NULL ELSE key_held END,
  completed_at = CASE WHEN ?6 IS NULL THEN ?4 ELSE NULL END
WHERE queue = ?1 AND id = ?2 AND state = 2 AND lease_token = ?3
RETURNING ${PAYLOAD}, ${RETAIN("failed")}, ${FLOW_TAIL}`;

/** FAIL as COMPLETE_LIMITED is COMPLETE. */
export const FAIL_LIMITED = `${FAIL}, ${STOPPED_TAIL}`;

/**
 * ?1 queue, ?2 now, ?3 id, ?4 token, ?5 runAt or null: a held, live job back
 * to pending as before its claim (attempt not counted; priority, seq and key
 * kept; run_at too unless ?5 snoozes it to a new time). Rows: payload, then
 * LIMITS_TAIL.
 */
export const RELEASE = `UPDATE jobline_jobs SET run_at = coalesce(?5, run_at),
  state = CASE WHEN coalesce(?5, run_at) > ?2 THEN 1 ELSE 0 END,
  status = 'pending',
  attempt = attempt - 1, lease_token = NULL, lease_until = NULL,
  updated_at = ?2, version = version + 1
WHERE queue = ?1 AND id = ?3 AND state = 2 AND lease_token = ?4 AND ${LIVE}
RETURNING ${PAYLOAD}, ${LIMITS_TAIL}`;

/** ?1 queue, ?2 now, ?3 id: the state of a live job. */
export const STATE_OF =
  `SELECT state FROM jobline_jobs WHERE queue = ?1 AND id = ?3 AND ${LIVE}`;

/**
 * ?1 queue, ?2 now, ?3 id, ?4 error: a waiting, pending or processing
 * job. Rows: payload, then RETAIN (a cancelled job goes by its failed
 * rule), then FLOW_TAIL, then LIMITS_TAIL.
 */
export const CANCEL = `UPDATE jobline_jobs SET state = 3,
  status = 'cancelled', error = ?4, key_held = NULL, lease_token = NULL,
  lease_until = NULL, completed_at = ?2, updated_at = ?2,
  version = version + 1
WHERE queue = ?1 AND id = ?3 AND state < 3 AND ${LIVE}
RETURNING ${PAYLOAD}, ${RETAIN("failed")}, ${FLOW_TAIL}, ${LIMITS_TAIL}`;

/** ?1 queue, ?2 now, ?3 id: frees the job's key if an expired job holds it. */
export const DROP_EXPIRED_HOLDER_OF = `DELETE FROM jobline_jobs
  WHERE queue = ?1 AND expires_at <= ?2 AND key_held = (
    SELECT key FROM jobline_jobs WHERE queue = ?1 AND id = ?3)
  RETURNING ${EXPIRED}`;

/**
 * ?1 queue, ?2 now, ?3 id: failed or cancelled back to pending (out of
 * the retention index: no finish time). A flow job is
 * left to RETRY_FLOW_JOB (sql_flows.ts).
 */
export const RETRY = `UPDATE jobline_jobs SET state = 0, status = 'pending',
  attempt = 0, run_at = ?2, error = NULL, result = NULL, progress = 0,
  message = '', completed_at = NULL, updated_at = ?2,
  version = version + 1,
  key_held = CASE WHEN key IS NULL THEN NULL
    WHEN EXISTS (SELECT 1 FROM jobline_jobs AS o
      WHERE o.queue = ?1 AND o.key_held = jobline_jobs.key) THEN NULL
    ELSE key END
WHERE queue = ?1 AND id = ?3 AND status IN ('failed', 'cancelled')
  AND flow_id IS NULL AND ${LIVE}
RETURNING ${PAYLOAD}`;

/**
 * ?1 queue, ?2 now, ?3 id: deletes a job, but not an unfinished flow job
 * (cancelled first, with its dependents: transitions_flows.ts). Rows:
 * state, then LIMITS_TAIL.
 */
export const REMOVE = `DELETE FROM jobline_jobs
  WHERE queue = ?1 AND id = ?3 AND ${LIVE} AND (flow_id IS NULL OR state = 3)
RETURNING state, ${LIMITS_TAIL}`;

/** ?1 queue, ?2 now, ?3 id */
export const GET = `SELECT ${RECORD} FROM jobline_jobs
  WHERE queue = ?1 AND id = ?3 AND ${LIVE}`;

/**
 * ?1 queue, ?2 now, ?3 after ('' for the start), ?4 limit, ?5 status or
 * null, ?6 type or null.
 */
export const LIST = `SELECT ${RECORD} FROM jobline_jobs
  WHERE queue = ?1 AND id > ?3 AND ${LIVE}
    AND (?5 IS NULL OR status = ?5) AND (?6 IS NULL OR type = ?6)
  ORDER BY id LIMIT ?4`;

/**
 * ?1 queue, ?2 now, ?3 limit: deletes a bounded batch of expired jobs;
 * returns them as EXPIRED.
 */
export const DELETE_EXPIRED = `DELETE FROM jobline_jobs WHERE seq IN (
  SELECT seq FROM jobline_jobs
  WHERE queue = ?1 AND expires_at IS NOT NULL AND expires_at <= ?2
  LIMIT ?3)
  RETURNING ${EXPIRED}`;

/** The newest event id (0 when none). */
export const EVENTS_MAX =
  "SELECT coalesce(max(id), 0) AS id FROM jobline_events";

/** The oldest event id still kept (null when none). */
export const EVENTS_MIN = "SELECT min(id) AS id FROM jobline_events";

/** ?1 after, ?2 limit */
export const EVENTS_READ = `SELECT id, origin, events
  FROM jobline_events WHERE id > ?1 ORDER BY id LIMIT ?2`;

/**
 * ?1 up to (inclusive): trims the log, always keeping the newest row so that
 * ids (max + 1, no AUTOINCREMENT) never go back.
 */
export const EVENTS_TRIM = `DELETE FROM jobline_events
  WHERE id <= min(?1, (SELECT max(id) FROM jobline_events) - 1)`;

/** ?1 origin, ?2 the events of one transaction (see events.ts). */
export const EVENTS_INSERT =
  "INSERT INTO jobline_events (origin, events) VALUES (?1, ?2)";

/** The change counter of the file: moves when another connection commits. */
export const DATA_VERSION = "PRAGMA data_version";
