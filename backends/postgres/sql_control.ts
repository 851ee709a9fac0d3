/**
 * The flow-control SQL of the PostgreSQL backend (pause, resume,
 * reschedule), built for one schema beside sql.ts, which holds the pause
 * table (migration 2) and the claim that honours it. Runs nothing.
 *
 * @module
 */

import { ident, notifyUpdates } from "./sql.ts";

/** The flow-control statements of one schema. */
export interface ControlStatements {
  /**
   * $1 queue, $2 type ('' for the queue), $3 channel: a row if it was not
   * paused; then workers are told (`["h", type]`), to give back what they
   * claimed of it.
   */
  pause: string;
  /**
   * $1 queue, $2 type ('' for the queue), $3 channel, $4 now: a row if it
   * was paused; then a wake is notified.
   */
  resume: string;
  /** $1 queue: the paused types ('' for the queue). */
  paused: string;
  /**
   * $1 queue, $2 id, $3 now, $4 channel, $5 runAt or null, $6 priority or
   * null: moves a live pending job (seq kept); `changed` 1 or 0. Notifies
   * the update, and a wake when the job became due earlier.
   */
  reschedule: string;
}

/** Builds the flow-control statements of one schema. */
export function controlStatements(schema: string): ControlStatements {
  const t = `${ident(schema)}.jobs`;
  const p = `${ident(schema)}.paused`;
  return {
    pause: `WITH added AS (
      INSERT INTO ${p} (queue, type) VALUES ($1, $2)
      ON CONFLICT DO NOTHING RETURNING type
    ), notes AS (
      SELECT pg_notify($3, json_build_array('h', type)::text) FROM added
    )
    SELECT type, (SELECT count(*) FROM notes)::int AS notes FROM added`,
    resume: `WITH gone AS (
      DELETE FROM ${p} WHERE queue = $1 AND type = $2 RETURNING type
    ), notes AS (
      SELECT pg_notify($3, json_build_array('w', $4::float8)::text) FROM gone
    )
    SELECT type, (SELECT count(*) FROM notes)::int AS notes FROM gone`,
    paused: `SELECT type FROM ${p} WHERE queue = $1`,
    reschedule: `WITH old AS (
      SELECT queue, id, run_at FROM ${t} j
      WHERE j.queue = $1 AND j.id = $2 AND j.status = 'pending'
        AND (j.expires_at IS NULL OR j.expires_at > $3)
      FOR UPDATE
    ), changed AS (
      UPDATE ${t} j SET run_at = coalesce($5::float8, j.run_at),
        priority = coalesce($6::int, j.priority),
        version = j.version + 1, updated_at = $3
      FROM old o WHERE j.queue = o.queue AND j.id = o.id
        AND (j.run_at <> coalesce($5::float8, j.run_at)
          OR j.priority <> coalesce($6::int, j.priority))
      RETURNING j.*, o.run_at AS was
    ), notes AS (
      ${notifyUpdates("changed", "$4")}
      UNION ALL
      SELECT pg_notify($4, json_build_array('w', run_at)::text)
        FROM changed WHERE run_at < was
    )
    SELECT (SELECT count(*) FROM changed)::int AS changed,
      (SELECT count(*) FROM notes)::int AS notes`,
  };
}
