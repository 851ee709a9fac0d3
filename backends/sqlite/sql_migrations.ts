/**
 * The schema of the SQLite backend: the version this release writes, the
 * pragmas every connection runs, the table that records the version, and
 * the migrations that bring an older file up to date (db.ts runs them in
 * one transaction). The statements of the transitions are in sql.ts.
 * Holds SQL text only and runs nothing.
 *
 * @module
 */

import {
  COUNTS_MIGRATION,
  TALLIED_MIGRATION,
  TALLIES_MIGRATION,
} from "./sql_counts.ts";
import { FLOW_RESULTS_MIGRATION, FLOWS_MIGRATION } from "./sql_flows_schema.ts";
import { LANE_TURN_MIGRATION, LIMITS_MIGRATION } from "./sql_limits_schema.ts";
import { RETENTION_MIGRATION } from "./sql_retention_schema.ts";
import { WATCHERS_MIGRATION } from "./sql_watchers.ts";

/** The schema version this release writes; older files are migrated up. */
export const SCHEMA_VERSION = 12;

/**
 * Run once, outside a transaction, on every connection. A checkpoint under
 * `synchronous = NORMAL` syncs the file, which costs more than hundreds of
 * commits, so the WAL may grow to 10,000 pages between checkpoints (and is
 * cut back to 64 MiB after one). Recursive triggers make a row that a
 * REPLACE deletes fire its delete trigger, so the job counts
 * (sql_counts.ts) hold whatever statement writes. Temporary storage in
 * memory keeps each statement's rollback journal there: a complete inside
 * a grouped transaction otherwise wrote several pages of it to a temporary
 * file (a write call each: 2 to 9 per job drained). It holds nothing the
 * commit needs, so durability is unchanged. The page cache is 16 MiB
 * (SQLite's default is 2 MiB, some 500 pages): a worker's claim under a
 * group limit takes the first job of as many groups as it asks for, mostly
 * a page of the group index each, and beyond the cache a transaction
 * reads pages from the file again (and may spill changed ones to the log
 * before its commit); a grouped drain of 1,000 groups ran some 8% faster
 * with it, a plain one the same. The cache fills only with
 * pages read, so a small database never holds that much.
 */
export const PRAGMAS = (
  busyTimeout: number,
  synchronous: "normal" | "full",
): string =>
  `PRAGMA busy_timeout = ${busyTimeout};
PRAGMA journal_mode = WAL;
PRAGMA synchronous = ${synchronous.toUpperCase()};
PRAGMA wal_autocheckpoint = 10000;
PRAGMA journal_size_limit = 67108864;
PRAGMA foreign_keys = OFF;
PRAGMA recursive_triggers = ON;
PRAGMA temp_store = MEMORY;
PRAGMA cache_size = -16384;`;

/** The table that records the schema version. */
export const META_TABLE = `CREATE TABLE IF NOT EXISTS jobline_meta (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID`;

/** ?1 = name */
export const META_GET = "SELECT value FROM jobline_meta WHERE name = ?1";

/** ?1 = name, ?2 = value */
export const META_SET =
  "INSERT INTO jobline_meta (name, value) VALUES (?1, ?2) " +
  "ON CONFLICT (name) DO UPDATE SET value = excluded.value";

/**
 * Migrations by the version they lead to; [1] creates the schema, [2] adds
 * the pause table (a row per paused type, type '' for the whole queue), [3]
 * adds retention: each job's keep rules (null in rows stored before: kept),
 * its removal time, and the indexes of finished jobs by status and finish
 * time and by removal time (built over the finished jobs already stored),
 * [4] adds the schedules table (one row per queue and name; the
 * definition is text only the queue layer reads) and its index by next
 * occurrence (its statements: sql_schedule.ts), [5] adds the job counts
 * kept by triggers, filled from the jobs stored (sql_counts.ts), [6] adds
 * flows (SPEC §12: sql_flows_schema.ts, its statements in sql_flows.ts),
 * [7] adds groups and limits (SPEC §7.3, §7.4: sql_limits_schema.ts, its
 * statements in sql_limits.ts) and moves the counts to a row per queue and
 * type (sql_counts.ts), [8] replaces the two retention indexes of [3] with
 * one by status, keep age and finish time, and adds the removal gate
 * (sql_retention_schema.ts), [9] lets the enqueue, the claims and a turn's
 * completions keep the counts of their batches themselves (sql_counts.ts),
 * [10] adds who watches a queue's updates, so that they are logged for other
 * processes only then (sql_watchers.ts), [11] keeps a flow's results until
 * its last stored job goes, by a trigger, and drops the count of its
 * unfinished jobs that decided it before (sql_flows_schema.ts), [12] gives
 * a new lane of a group its group's turn in the trigger too
 * (sql_limits_schema.ts).
 */
export const MIGRATIONS: Record<number, string> = {
  1: `
CREATE TABLE jobline_jobs (
  seq INTEGER PRIMARY KEY,
  queue TEXT NOT NULL,
  id TEXT NOT NULL,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  priority INTEGER NOT NULL,
  max_attempts INTEGER NOT NULL,
  run_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  ttl REAL,
  expires_at INTEGER,
  key TEXT,
  key_held TEXT,
  metadata TEXT NOT NULL,
  state INTEGER NOT NULL,
  status TEXT NOT NULL,
  progress REAL NOT NULL DEFAULT 0,
  message TEXT NOT NULL DEFAULT '',
  result TEXT,
  error TEXT,
  attempt INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL,
  started_at INTEGER,
  completed_at INTEGER,
  lease_token TEXT,
  lease_until INTEGER,
  version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX jobline_jobs_id ON jobline_jobs (queue, id);
CREATE INDEX jobline_jobs_due ON jobline_jobs (queue, priority DESC, seq)
  WHERE state = 0;
CREATE INDEX jobline_jobs_due_type
  ON jobline_jobs (queue, type, priority DESC, seq) WHERE state = 0;
CREATE INDEX jobline_jobs_delayed ON jobline_jobs (queue, run_at)
  WHERE state = 1;
CREATE INDEX jobline_jobs_leases ON jobline_jobs (queue, lease_until)
  WHERE state = 2;
CREATE INDEX jobline_jobs_expiry ON jobline_jobs (queue, expires_at)
  WHERE expires_at IS NOT NULL;
CREATE UNIQUE INDEX jobline_jobs_key ON jobline_jobs (queue, key_held)
  WHERE key_held IS NOT NULL;
CREATE TABLE jobline_events (
  id INTEGER PRIMARY KEY,
  origin INTEGER NOT NULL,
  events TEXT NOT NULL
);`,
  2: `
CREATE TABLE jobline_paused (
  queue TEXT NOT NULL,
  type TEXT NOT NULL,
  PRIMARY KEY (queue, type)
) WITHOUT ROWID;`,
  3: `
ALTER TABLE jobline_jobs ADD COLUMN keep_complete_age INTEGER;
ALTER TABLE jobline_jobs ADD COLUMN keep_complete_count INTEGER;
ALTER TABLE jobline_jobs ADD COLUMN keep_failed_age INTEGER;
ALTER TABLE jobline_jobs ADD COLUMN keep_failed_count INTEGER;
ALTER TABLE jobline_jobs ADD COLUMN remove_at INTEGER;
CREATE INDEX jobline_jobs_finished
  ON jobline_jobs (queue, status, completed_at)
  WHERE completed_at IS NOT NULL;
CREATE INDEX jobline_jobs_removals ON jobline_jobs (queue, remove_at)
  WHERE remove_at IS NOT NULL;`,
  4: `
CREATE TABLE jobline_schedules (
  queue TEXT NOT NULL,
  name TEXT NOT NULL,
  definition TEXT NOT NULL,
  next_run_at INTEGER NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (queue, name)
) WITHOUT ROWID;
CREATE INDEX jobline_schedules_due
  ON jobline_schedules (queue, next_run_at);`,
  5: COUNTS_MIGRATION,
  6: FLOWS_MIGRATION,
  7: LIMITS_MIGRATION + TALLIES_MIGRATION,
  8: RETENTION_MIGRATION,
  9: TALLIED_MIGRATION,
  10: WATCHERS_MIGRATION,
  11: FLOW_RESULTS_MIGRATION,
  12: LANE_TURN_MIGRATION,
};
