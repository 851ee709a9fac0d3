/**
 * The flow-control SQL of the SQLite backend (pause, resume, reschedule),
 * as named constants beside sql.ts, which holds the schema (the pause table
 * is its migration 2) and the claims that honour the pause. Runs nothing.
 *
 * @module
 */

import { LIVE, PAYLOAD } from "./sql.ts";

/** ?1 queue, ?2 type ('' for the whole queue): a row if it was not paused. */
export const PAUSE = `INSERT INTO jobline_paused (queue, type) VALUES (?1, ?2)
  ON CONFLICT DO NOTHING RETURNING type`;

/** ?1 queue, ?2 type ('' for the whole queue): a row if it was paused. */
export const RESUME = `DELETE FROM jobline_paused
  WHERE queue = ?1 AND type = ?2 RETURNING type`;

/** ?1 queue: the paused types ('' for the whole queue). */
export const PAUSED = "SELECT type FROM jobline_paused WHERE queue = ?1";

/** ?1 queue, ?2 now, ?3 id: a live pending job's run_at. */
export const PENDING_RUN_AT = `SELECT run_at FROM jobline_jobs
  WHERE queue = ?1 AND id = ?3 AND state IN (0, 1) AND ${LIVE}`;

/**
 * ?1 queue, ?2 now, ?3 id, ?4 runAt or null, ?5 priority or null: a live
 * pending job moves (due or delayed by its new run_at); seq stays, so its
 * place among equals does. No row when nothing would change.
 */
export const RESCHEDULE = `UPDATE jobline_jobs SET
  run_at = coalesce(?4, run_at), priority = coalesce(?5, priority),
  state = CASE WHEN coalesce(?4, run_at) > ?2 THEN 1 ELSE 0 END,
  updated_at = ?2, version = version + 1
WHERE queue = ?1 AND id = ?3 AND state IN (0, 1) AND ${LIVE}
  AND (run_at <> coalesce(?4, run_at) OR priority <> coalesce(?5, priority))
RETURNING ${PAYLOAD}`;
