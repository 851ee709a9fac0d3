/**
 * Who watches a queue's updates in an SQLite file, as SQL text: schema 10's
 * table (a row per queue and backend object, `origin` as in the updates
 * log, with the time of its last refresh), and its statements.
 *
 * A transaction writes its update events ("u") to the updates log only for
 * queues that another backend object watches (events.ts): every other
 * event (wake-ups, cancels) is logged as before. SQLite runs one write
 * transaction at a time, each reading the file as the one before it left
 * it, so once a watcher's row has committed every later transaction logs
 * that queue's updates: no lock is needed, unlike PostgreSQL's
 * (backends/postgres/sql_watchers.ts). A row lives ten minutes unless
 * refreshed (watchers.ts refreshes it every minute): a process that died
 * stops costing log writes then. Holds SQL text only and runs nothing.
 *
 * @module
 */

/** How long a row lives unless refreshed (ms). */
export const WATCH_EXPIRY_MS = 600_000;

/** Schema 10: the watchers table. */
export const WATCHERS_MIGRATION = `
CREATE TABLE jobline_watchers (
  queue TEXT NOT NULL,
  origin INTEGER NOT NULL,
  beat INTEGER NOT NULL,
  PRIMARY KEY (queue, origin)
) WITHOUT ROWID;`;

/** ?1 queue, ?2 origin, ?3 now: adds (or refreshes) a row. */
export const WATCH = `INSERT INTO jobline_watchers (queue, origin, beat)
  VALUES (?1, ?2, ?3) ON CONFLICT (queue, origin) DO UPDATE SET beat = ?3`;

/** ?1 queue, ?2 origin: deletes a row. */
export const UNWATCH =
  "DELETE FROM jobline_watchers WHERE queue = ?1 AND origin = ?2";

/** ?1 queue, ?2 origin, ?3 now: refreshes a row (no change: it is gone). */
export const BEAT =
  "UPDATE jobline_watchers SET beat = ?3 WHERE queue = ?1 AND origin = ?2";

/** ?1 the oldest refresh kept: deletes the rows that expired. */
export const EXPIRE = "DELETE FROM jobline_watchers WHERE beat < ?1";

/** ?1 queue, ?2 origin: a row when another backend object watches it. */
export const WATCHED = `SELECT 1 FROM jobline_watchers
  WHERE queue = ?1 AND origin <> ?2 LIMIT 1`;
