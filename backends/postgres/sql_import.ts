/**
 * The import SQL of the PostgreSQL backend (moving a queue between
 * backends, SPEC §10), built for one schema beside sql.ts, which holds the
 * jobs table and the statements of the transitions. Runs nothing.
 *
 * @module
 */

import { arrivalsOf } from "./sql_limits.ts";

/** The import statements of one schema. */
export interface ImportStatements {
  /**
   * $1 queue, $2 the jobs as a JSON array of objects (records.ts,
   * importJson): stores each as it is, in the order given, so each takes
   * the next seq (its place in claim order among equals). A pending job
   * holds its key; a finished one holds none and gets its removal time
   * from its keep rule and completed_at. A job whose id is stored or whose
   * key is held is skipped (both are unique indexes). Returns the stored
   * jobs: `id`, `pending`, `runat`.
   */
  insert: string;
  /** $1 queue, $2 ids (JSON): those stored. */
  stored: string;
  /**
   * $1 queue, $2 now, $3 channel, $4 wake time or null: deletes up to
   * SWEEP_BATCH jobs whose removal time has passed (retain_sweep, as a
   * finishing step does) and notifies one wake when $4 is given.
   */
  finish: string;
}

/** Builds the import statements of a schema (`s` quoted). */
export function importStatements(s: string): ImportStatements {
  const t = `${s}.jobs`;
  return {
    insert: `WITH ins AS (
      INSERT INTO ${t} (queue, id, type, data, priority, max_attempts, run_at,
        created_at, ttl, expires_at, key, held_key, metadata, status,
        progress, message, result, error, attempt, updated_at, started_at,
        completed_at, version, keep_complete_age, keep_complete_count,
        keep_failed_age, keep_failed_count, remove_at, job_group)
      SELECT $1, i.id, i.type, i.data, i.priority, i.max_attempts, i.run_at,
        i.created_at, i.ttl, i.expires_at, i.key,
        CASE WHEN i.status = 'pending' THEN i.key END, i.metadata, i.status,
        i.progress, i.message, i.result, i.error, i.attempt, i.updated_at,
        i.started_at, i.completed_at, i.version, i.kca, i.kcc, i.kfa, i.kfc,
        CASE i.status WHEN 'pending' THEN NULL
          WHEN 'complete' THEN i.completed_at + i.kca
          ELSE i.completed_at + i.kfa END, i.grp
      FROM ROWS FROM (json_to_recordset($2::text::json) AS (id text,
        type text, data text, priority int, max_attempts int, run_at float8,
        created_at float8, ttl float8, expires_at float8, key text,
        metadata text, status text, progress float8, message text,
        result text, error text, attempt int, updated_at float8,
        started_at float8, completed_at float8, version int, kca float8,
        kcc int, kfa float8, kfc int, grp text))
        WITH ORDINALITY AS i(id, type, data, priority, max_attempts, run_at,
          created_at, ttl, expires_at, key, metadata, status, progress,
          message, result, error, attempt, updated_at, started_at,
          completed_at, version, kca, kcc, kfa, kfc, grp, ord)
      ORDER BY i.ord
      ON CONFLICT DO NOTHING
      RETURNING id, status, run_at, queue, job_group, priority, seq
    ), arrived AS (${arrivalsOf(s, "ins")})
    SELECT id, status = 'pending' AS pending, run_at AS runat FROM ins`,
    stored: `SELECT id FROM ${t} WHERE queue = $1
      AND id IN (SELECT json_array_elements_text($2::text::json))`,
    finish: `WITH swept AS (
      SELECT ${s}.retain_sweep($1, $2::float8) AS n
    ), wake AS (
      SELECT pg_notify($3, json_build_array('w', $4::float8)::text)
      WHERE $4::float8 IS NOT NULL
    )
    SELECT (SELECT count(*) FROM wake)::int AS n,
      (SELECT swept.n FROM swept) AS swept`,
  };
}
