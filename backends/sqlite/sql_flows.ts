/**
 * The flow SQL of the SQLite backend (SPEC §12: jobs that wait for other
 * jobs), as named constants beside sql.ts, whose finishing statements end
 * with FLOW_TAIL (the flow id). The columns and tables these statements use
 * are described in sql_flows_schema.ts. Runs nothing.
 *
 * Each statement that releases, cancels or re-arms dependents works on
 * the ids of one job's dependents (`id IN json_each(...)`, each looked up
 * by the id index), so one step touches at most the flow's jobs (10,000).
 *
 * @module
 */

import { LIVE, PAYLOAD } from "./sql.ts";

/**
 * ?1 queue, ?2 id, ?3 type, ?4 data, ?5 priority, ?6 max_attempts,
 * ?7 run_at, ?8 created_at, ?9 metadata, ?10 state (-1 waiting, 0 due,
 * 1 delayed), ?11 status, ?12..?15 the keep rules, ?16 flow id, ?17 the
 * link (JSON), ?18 dependents (JSON or null), ?19 waiting_on, ?20 group
 * or null. No key, no
 * ttl (the queue layer refuses both). A job of an id already stored fails
 * the statement, and so the whole flow. Returns its seq.
 */
export const INSERT_FLOW_JOB = `INSERT INTO jobline_jobs (queue, id, type,
  data, priority, max_attempts, run_at, created_at, metadata, state, status,
  updated_at, lease_until, keep_complete_age, keep_complete_count,
  keep_failed_age, keep_failed_count, flow_id, flow_link, flow_children,
  flow_delay, waiting_on, job_group)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?8, zeroblob(36),
  ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?7 - ?8, ?19, ?20)
RETURNING seq`;

/** ?1 seq: a flow job's ref and dependents (JSON, null when none). */
export const FLOW_OF = `SELECT json_extract(flow_link, '$.ref'), flow_children
  FROM jobline_jobs WHERE seq = ?1`;

/** The waiting ones among a job's dependents (?3: their ids, JSON). */
const DEPENDENTS =
  "queue = ?1 AND id IN (SELECT value FROM json_each(?3)) AND state = -1";

/**
 * ?1 queue, ?2 now, ?3 dependents (JSON), ?4 1 for the "continue" ones
 * only (a parent that failed), 0 for all (a parent that completed): each
 * waiting dependent counts one parent fewer; one at zero becomes pending,
 * due at now plus its own delay. Rows: id, state (-1: still waiting),
 * run_at, payload.
 */
export const RELEASE_DEPENDENTS = `UPDATE jobline_jobs SET
  waiting_on = waiting_on - 1,
  state = CASE WHEN waiting_on > 1 THEN -1 WHEN flow_delay > 0 THEN 1
    ELSE 0 END,
  status = CASE WHEN waiting_on > 1 THEN 'waiting' ELSE 'pending' END,
  run_at = CASE WHEN waiting_on > 1 THEN run_at ELSE ?2 + flow_delay END,
  updated_at = CASE WHEN waiting_on > 1 THEN updated_at ELSE ?2 END,
  version = CASE WHEN waiting_on > 1 THEN version ELSE version + 1 END
WHERE ${DEPENDENTS} AND (?4 = 0 OR json_extract(flow_link, '$.onParentFailure') = 'continue')
RETURNING id, state, run_at, ${PAYLOAD}`;

/**
 * ?1 queue, ?2 now, ?3 dependents (JSON), ?4 error, ?5 the parent's id:
 * cancels the waiting dependents that follow "cancel", remembering the
 * parent. Rows: id, payload, seq, failed rule age, count, ref, dependents.
 */
export const CANCEL_DEPENDENTS = `UPDATE jobline_jobs SET state = 3,
  status = 'cancelled', error = ?4, lease_until = NULL, completed_at = ?2,
  updated_at = ?2, blocked_by = ?5,
  version = version + 1
WHERE ${DEPENDENTS} AND json_extract(flow_link, '$.onParentFailure') = 'cancel'
RETURNING id, ${PAYLOAD}, seq, keep_failed_age, keep_failed_count,
  json_extract(flow_link, '$.ref'), flow_children`;

/**
 * The first parent but `except` of the row being written that failed or
 * was cancelled, as `column` of it (used inside an UPDATE of
 * jobline_jobs; null when none).
 */
const failedParent = (except: string, column: string) =>
  `(SELECT ${column}
  FROM json_each(jobline_jobs.flow_link, '$.parents') AS p
  CROSS JOIN jobline_jobs AS pj ON pj.queue = jobline_jobs.queue
    AND pj.id = p.value
  WHERE pj.id <> ${except} AND pj.status IN ('failed', 'cancelled')
  LIMIT 1)`;

/**
 * ?1 queue, ?2 now, ?3 dependents (JSON), ?4 the retried job's id (or a
 * re-armed one's): the dependents it cancelled that have another parent
 * failed or cancelled stay cancelled, now by that parent, named in their
 * error (its retry re-arms them). Rows: id, payload.
 */
export const REBLOCK_DEPENDENTS = `UPDATE jobline_jobs SET
  blocked_by = ${failedParent("?4", "pj.id")},
  error = json_object('name', 'CancelledError', 'message',
    'parent ' || json_quote(${
  failedParent("?4", "json_extract(pj.flow_link, '$.ref')")
}) || ' ' ||
    ${
  failedParent(
    "?4",
    "CASE pj.status WHEN 'failed' THEN 'failed' ELSE 'was cancelled' END",
  )
}),
  updated_at = ?2, version = version + 1
WHERE queue = ?1 AND id IN (SELECT value FROM json_each(?3))
  AND status = 'cancelled' AND blocked_by = ?4
  AND ${failedParent("?4", "1")} IS NOT NULL
RETURNING id, ${PAYLOAD}`;

/**
 * ?1 queue, ?2 now, ?3 dependents (JSON), ?4 the retried job's id (or a
 * re-armed one's): the dependents it cancelled go back to waiting, out of
 * the retention index (REBLOCK_DEPENDENTS ran first: none has another
 * parent failed); WAITING_ON_RECOUNT sets their counts after.
 * Rows: id, payload, dependents.
 */
export const REARM_DEPENDENTS = `UPDATE jobline_jobs SET state = -1,
  status = 'waiting', waiting_on = 1, blocked_by = NULL, error = NULL,
  result = NULL, completed_at = NULL,
  lease_until = zeroblob(36), updated_at = ?2, version = version + 1
WHERE queue = ?1 AND id IN (SELECT value FROM json_each(?3))
  AND status = 'cancelled' AND blocked_by = ?4
RETURNING id, ${PAYLOAD}, flow_children`;

/**
 * ?1 queue, ?2 now, ?3 dependents (JSON) of jobs back to work: those that
 * follow "continue" and were released, not started yet, wait again
 * (WAITING_ON_RECOUNT sets their counts after). Rows: id, payload.
 */
export const UNRELEASE_DEPENDENTS = `UPDATE jobline_jobs SET state = -1,
  status = 'waiting', updated_at = ?2, version = version + 1
WHERE queue = ?1 AND id IN (SELECT value FROM json_each(?3))
  AND state IN (0, 1)
  AND json_extract(flow_link, '$.onParentFailure') = 'continue'
RETURNING id, ${PAYLOAD}`;

/**
 * ?1 queue, ?2 dependents (JSON) of jobs back to work: the ids of those
 * that wait and follow "continue" (their counts to set again).
 */
export const WAITING_CONTINUE = `SELECT id FROM jobline_jobs
WHERE queue = ?1 AND id IN (SELECT value FROM json_each(?2)) AND state = -1
  AND json_extract(flow_link, '$.onParentFailure') = 'continue'`;

/**
 * How many parents of the row being written are stored and unfinished
 * (used inside an UPDATE of jobline_jobs). CROSS JOIN keeps the parents
 * the outer loop, each looked up by id (else SQLite may scan the queue).
 */
const UNFINISHED_PARENTS = `(SELECT count(*)
  FROM json_each(jobline_jobs.flow_link, '$.parents') AS p
  CROSS JOIN jobline_jobs AS pj ON pj.queue = jobline_jobs.queue
    AND pj.id = p.value
  WHERE pj.state < 3)`;

/**
 * ?1 queue, ?2 ids (JSON): re-armed jobs count their unfinished parents,
 * once all of them are back (a parent re-armed in the same step counts).
 */
export const WAITING_ON_RECOUNT = `UPDATE jobline_jobs
  SET waiting_on = ${UNFINISHED_PARENTS}
WHERE queue = ?1 AND id IN (SELECT value FROM json_each(?2))`;

/**
 * ?1 queue, ?2 now, ?3 id: a failed or cancelled flow job back to waiting
 * when a parent is unfinished (its run_at kept; its delay is flow_delay),
 * else to pending at now (as RETRY in sql.ts, which leaves flow jobs to
 * this); not one that follows "cancel" with a parent failed or cancelled
 * (it would run without it: no row). Rows: payload, state, flow id,
 * dependents.
 */
export const RETRY_FLOW_JOB = `UPDATE jobline_jobs SET
  waiting_on = ${UNFINISHED_PARENTS},
  state = CASE WHEN ${UNFINISHED_PARENTS} > 0 THEN -1 ELSE 0 END,
  status = CASE WHEN ${UNFINISHED_PARENTS} > 0 THEN 'waiting'
    ELSE 'pending' END,
  run_at = CASE WHEN ${UNFINISHED_PARENTS} > 0 THEN run_at ELSE ?2 END,
  attempt = 0, error = NULL, result = NULL, progress = 0,
  message = '', completed_at = NULL, blocked_by = NULL,
  updated_at = ?2, version = version + 1
WHERE queue = ?1 AND id = ?3 AND status IN ('failed', 'cancelled')
  AND flow_id IS NOT NULL AND ${LIVE}
  AND NOT (json_extract(flow_link, '$.onParentFailure') = 'cancel'
    AND ${failedParent("''", "1")} IS NOT NULL)
RETURNING ${PAYLOAD}, state, flow_id, flow_children`;

/** ?1 seq: keeps what a finished job with dependents left. */
export const KEEP_RESULT = `INSERT OR REPLACE INTO jobline_flow_results
  (queue, job_id, flow_id, status, result, error)
SELECT queue, id, flow_id, status, result, error FROM jobline_jobs
  WHERE seq = ?1`;

/**
 * ?1 queue, ?2 flow id, ?3 ids (JSON): forgets the kept results of jobs
 * back to work.
 */
export const FORGET_RESULTS = `DELETE FROM jobline_flow_results
  WHERE queue = ?1 AND flow_id = ?2
    AND job_id IN (SELECT value FROM json_each(?3))`;

/** ?1 queue, ?2 flow id: its processing jobs' ids, types and groups. */
export const FLOW_PROCESSING = `SELECT id, type, job_group FROM jobline_jobs
  WHERE queue = ?1 AND flow_id = ?2 AND state = 2`;

/**
 * ?1 queue, ?2 now, ?3 flow id, ?4 error: cancels every unfinished job of
 * the flow. Rows: id, payload, seq, failed rule age, count.
 */
export const CANCEL_FLOW = `UPDATE jobline_jobs SET state = 3,
  status = 'cancelled', error = ?4, key_held = NULL, lease_token = NULL,
  lease_until = NULL, completed_at = ?2, updated_at = ?2,
  version = version + 1
WHERE queue = ?1 AND flow_id = ?3 AND state < 3
RETURNING id, ${PAYLOAD}, seq, keep_failed_age, keep_failed_count`;

/**
 * ?1 queue, ?2 now, ?3 flow id: its stored jobs in enqueue order (the
 * index holds them by seq), as id, status, link.
 */
export const GET_FLOW = `SELECT id, status, flow_link
  FROM jobline_jobs WHERE queue = ?1 AND flow_id = ?3 AND ${LIVE}
  ORDER BY seq`;

/**
 * ?1 queue, ?2 now, ?3 job id: each parent of a live job, as ref, then the
 * parent job's status, result and error (nulls when it is gone), then the
 * kept copy's (nulls when none).
 */
export const PARENT_RESULTS = `SELECT p.key, pj.status, pj.result, pj.error,
  r.status, r.result, r.error
FROM jobline_jobs AS c, json_each(c.flow_link, '$.parents') AS p
  LEFT JOIN jobline_jobs AS pj ON pj.queue = ?1 AND pj.id = p.value
    AND (pj.expires_at IS NULL OR pj.expires_at > ?2)
  LEFT JOIN jobline_flow_results AS r ON r.queue = ?1 AND r.job_id = p.value
WHERE c.queue = ?1 AND c.id = ?3 AND (c.expires_at IS NULL OR c.expires_at > ?2)`;
