/**
 * The schedule SQL of the PostgreSQL backend (SPEC §8), built for one
 * schema beside sql.ts: the schedules table of migration 5 (unique by
 * queue and name, indexed by queue and next occurrence) and its
 * statements. Each statement reads one queue's rows through the primary key
 * or the due index, never the whole table. A schedule row comes back as
 * `name, definition, nextrunat, version` (single lowercase words, as in
 * sql.ts, for clients with a column-name transform). The enqueue of a fire
 * is sql.ts's own. Runs nothing.
 *
 * @module
 */

/** The columns of a schedule row, as records.ts reads them. */
const SCHEDULE = "name, definition, next_run_at AS nextrunat, version";

/**
 * Migration 5, its schedules part (`s` quoted). Names sort by code point
 * (collation "C"), whatever the database's collation.
 */
export function schedulesTable(s: string): string {
  return `CREATE TABLE ${s}.schedules (
      queue text NOT NULL,
      name text COLLATE "C" NOT NULL,
      definition text NOT NULL,
      next_run_at float8 NOT NULL,
      version integer NOT NULL,
      PRIMARY KEY (queue, name)
    );
    CREATE INDEX schedules_due ON ${s}.schedules (queue, next_run_at, name);`;
}

/** The schedule statements of one schema. */
export interface ScheduleStatements {
  /**
   * $1 queue, $2 name, $3 definition, $4 next_run_at: creates a schedule at
   * version 1, or replaces one of another definition at version + 1. No
   * row when the stored definition is the same (left as it is).
   */
  put: string;
  /** $1 queue, $2 name: one schedule. */
  get: string;
  /** $1 queue, $2 name: a row if the schedule existed. */
  remove: string;
  /** $1 queue: every schedule of the queue, by name. */
  all: string;
  /** $1 queue, $2 due by: those due by then, soonest first. */
  due: string;
  /**
   * $1 queue, $2 name, $3 version read, $4 next_run_at: moves a schedule
   * that still has version $3 on to its next occurrence (a fire's
   * compare-and-set; a concurrent fire waits for the row, then finds
   * another version). A row if it did.
   */
  fire: string;
}

/** Builds the schedule statements of a schema (`s` quoted). */
export function scheduleStatements(s: string): ScheduleStatements {
  const t = `${s}.schedules`;
  return {
    put: `INSERT INTO ${t} AS o (queue, name, definition, next_run_at, version)
      VALUES ($1, $2, $3, $4, 1)
      ON CONFLICT (queue, name) DO UPDATE SET
        definition = excluded.definition,
        next_run_at = excluded.next_run_at, version = o.version + 1
        WHERE o.definition <> excluded.definition
      RETURNING ${SCHEDULE}`,
    get: `SELECT ${SCHEDULE} FROM ${t} WHERE queue = $1 AND name = $2`,
    remove: `DELETE FROM ${t} WHERE queue = $1 AND name = $2 RETURNING name`,
    all: `SELECT ${SCHEDULE} FROM ${t} WHERE queue = $1 ORDER BY name`,
    due: `SELECT ${SCHEDULE} FROM ${t}
      WHERE queue = $1 AND next_run_at <= $2 ORDER BY next_run_at, name`,
    fire: `UPDATE ${t} SET next_run_at = $4, version = version + 1
      WHERE queue = $1 AND name = $2 AND version = $3
      RETURNING version`,
  };
}
