/**
 * The import SQL of the SQLite backend (moving a queue between backends,
 * SPEC §10), as a named constant beside sql.ts, which holds the schema and
 * the statements of the transitions. Runs nothing.
 *
 * @module
 */

/**
 * ?1 queue, ?2 id, ?3 type, ?4 data, ?5 priority, ?6 max_attempts,
 * ?7 run_at, ?8 created_at, ?9 ttl, ?10 expires_at, ?11 key, ?12 key_held
 * (the key of a pending job, else null), ?13 metadata, ?14 state (0, 1 or
 * 3), ?15 status, ?16 progress, ?17 message, ?18 result, ?19 error,
 * ?20 attempt, ?21 updated_at, ?22 started_at, ?23 completed_at,
 * ?24 version, ?25..?28 the keep rules (complete age, count, failed age,
 * count), ?29 group or null.
 *
 * Stores a job as it is, with the next seq (its place in claim order among
 * equals). No row when its id is stored already or its key is held (both
 * are unique indexes). A pending job gets the blank `lease_until` that
 * insertJobs (sql_enqueue.ts) gives a new one, for the same reason.
 */
export const IMPORT_JOB = `INSERT INTO jobline_jobs (queue, id, type, data,
  priority, max_attempts, run_at, created_at, ttl, expires_at, key, key_held,
  metadata, state, status, progress, message, result, error, attempt,
  updated_at, started_at, completed_at, version, keep_complete_age,
  keep_complete_count, keep_failed_age, keep_failed_count, lease_until,
  job_group)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
  ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28,
  CASE WHEN ?14 < 3 THEN zeroblob(36) END, ?29)
ON CONFLICT DO NOTHING
RETURNING seq`;

/** ?1 queue, ?2 id: a row when a job of that id is stored. */
export const ID_TAKEN =
  "SELECT 1 FROM jobline_jobs WHERE queue = ?1 AND id = ?2";
