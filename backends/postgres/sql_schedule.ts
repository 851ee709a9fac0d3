/**
 * The schedule SQL of the PostgreSQL backend (SPEC §8), built for one
 * schema beside sql.ts: the schedules table of migration 5 (unique by
 * queue and name, indexed by queue and next occurrence) and its
 * statements. Each statement reads one queue's rows through the primary key
 * or the due index, never the whole table. A schedule row comes back as
 * `name, definition, nextrunat, version` (single lowercase words, as in
 * sql.ts, for clients with a column-name transform). The enqueue of a fire
 * is sql.ts's own. Besides its schedules, a queue has one row named
 * `#version` (never a schedule's name: names have no `#`), never due and
 * never listed, whose version is the highest a removed schedule of the
 * queue had: a new schedule starts above it, so a (queue, name) never has
 * the same version twice and a fire that read a removed schedule cannot
 * pass on its successor. Put and remove lock that row first (`lock`), so
 * they take turns on a queue's schedules and always in the same order. No
 * migration adds it: it is a row like the others. Runs nothing.
 *
 * @module
 */

/** The columns of a schedule row, as records.ts reads them. */
const SCHEDULE = "name, definition, next_run_at AS nextrunat, version";

/** The name of a queue's row of removed versions. */
const REMOVED = "'#version'";

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
   * $1 queue: locks the queue's row of removed versions (made, at 0, if
   * missing) and returns its `version`. Put and remove run it first, in
   * their transaction, so a put never reads it while a remove is raising
   * it.
   */
  lock: string;
  /**
   * $1 queue, $2 name, $3 definition, $4 next_run_at, $5 the version of
   * `lock`: creates a schedule at $5 + 1, or replaces one of another
   * definition at version + 1. No row when the stored definition is the
   * same (left as it is).
   */
  put: string;
  /** $1 queue, $2 name: one schedule. */
  get: string;
  /**
   * $1 queue, $2 name: deletes the schedule and raises the queue's row of
   * removed versions (locked by `lock`) to its version. A row if it
   * existed.
   */
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
    lock: `INSERT INTO ${t} AS o (queue, name, definition, next_run_at, version)
      VALUES ($1, ${REMOVED}, '', 'Infinity', 0)
      ON CONFLICT (queue, name) DO UPDATE SET version = o.version
      RETURNING version`,
    put: `INSERT INTO ${t} AS o (queue, name, definition, next_run_at, version)
      VALUES ($1, $2, $3, $4, $5::integer + 1)
      ON CONFLICT (queue, name) DO UPDATE SET
        definition = excluded.definition,
        next_run_at = excluded.next_run_at, version = o.version + 1
        WHERE o.definition <> excluded.definition
      RETURNING ${SCHEDULE}`,
    get: `SELECT ${SCHEDULE} FROM ${t} WHERE queue = $1 AND name = $2`,
    remove: `WITH gone AS (
        DELETE FROM ${t} WHERE queue = $1 AND name = $2 AND name <> ${REMOVED}
        RETURNING version
      )
      UPDATE ${t} AS o SET version = greatest(o.version, gone.version)
      FROM gone WHERE o.queue = $1 AND o.name = ${REMOVED}
      RETURNING 1 AS gone`,
    all: `SELECT ${SCHEDULE} FROM ${t}
      WHERE queue = $1 AND name <> ${REMOVED} ORDER BY name`,
    due: `SELECT ${SCHEDULE} FROM ${t}
      WHERE queue = $1 AND next_run_at <= $2 AND name <> ${REMOVED}
      ORDER BY next_run_at, name`,
    fire: `UPDATE ${t} SET next_run_at = $4, version = version + 1
      WHERE queue = $1 AND name = $2 AND version = $3
      RETURNING version`,
  };
}
