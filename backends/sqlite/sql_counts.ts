/**
 * The job counts of the SQLite backend (issue 14: stats at a million jobs),
 * as named constants beside sql.ts, whose migration 5 this is (migration 7
 * moves them to a row per queue and type: TALLIES_MIGRATION; migration 9
 * lets the busiest statements count their batches themselves:
 * TALLIED_MIGRATION). Runs nothing.
 *
 * `jobline_counts` (a view of `jobline_tallies` since migration 7) holds
 * how many rows of `jobline_jobs` each queue, type and status has. Triggers keep it, so it is right whatever statement
 * writes a job (a transition, retention, clean, housekeeping, an import,
 * a process still running an older release): a row inserted adds one, a
 * row deleted takes one away, a row whose status (or type, or queue)
 * changes moves one. Counts kept by the transitions themselves would cost
 * less, but drift the day one statement forgets them; so only the busiest
 * statements (schema 9: the enqueue, the claims, a turn's completions) opt
 * out, row by row, and count their batches themselves (tallies.ts).
 *
 * SQLite runs triggers per row: a job enqueued, claimed and completed
 * writes this table five times, about 5 µs of CPU (some 12% of what a
 * worker's drain spends per job); stats() at a million jobs went from a
 * GROUP BY over every row (~950 ms) to under a millisecond.
 *
 * The counts include jobs whose time to live has passed but that
 * housekeeping has not deleted yet: STATS takes those away again, read
 * through the expiry index (usually no row).
 *
 * @module
 */

/**
 * Migration 5: the counts table, filled from the jobs already stored, and
 * its triggers, in the migration's transaction (no write comes between).
 * A count left at 0 stays as a row; STATS skips it.
 */
export const COUNTS_MIGRATION = `
CREATE TABLE jobline_counts (
  queue TEXT NOT NULL,
  type TEXT NOT NULL,
  status TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (queue, type, status)
) WITHOUT ROWID;
INSERT INTO jobline_counts (queue, type, status, n)
  SELECT queue, type, status, count(*) FROM jobline_jobs
  GROUP BY queue, type, status;
CREATE TRIGGER jobline_jobs_counted AFTER INSERT ON jobline_jobs BEGIN
  INSERT INTO jobline_counts (queue, type, status, n)
    VALUES (new.queue, new.type, new.status, 1)
    ON CONFLICT (queue, type, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER jobline_jobs_uncounted AFTER DELETE ON jobline_jobs BEGIN
  UPDATE jobline_counts SET n = n - 1
    WHERE queue = old.queue AND type = old.type AND status = old.status;
END;
CREATE TRIGGER jobline_jobs_recounted
  AFTER UPDATE OF queue, type, status ON jobline_jobs
  WHEN old.status IS NOT new.status OR old.type IS NOT new.type
    OR old.queue IS NOT new.queue
BEGIN
  UPDATE jobline_counts SET n = n - 1
    WHERE queue = old.queue AND type = old.type AND status = old.status;
  INSERT INTO jobline_counts (queue, type, status, n)
    VALUES (new.queue, new.type, new.status, 1)
    ON CONFLICT (queue, type, status) DO UPDATE SET n = n + 1;
END;`;

/** The statuses a row of `jobline_tallies` counts, in column order. */
const STATUS_COLUMNS =
  "waiting, pending, processing, complete, failed, cancelled";

/** A row's count in each status column: 1 in its own, 0 elsewhere. */
const ONE = (row: string): string =>
  ["waiting", "pending", "processing", "complete", "failed", "cancelled"]
    .map((s) => `${row}.status = '${s}'`).join(", ");

/** A trigger's step that counts the row `new` in its status. */
const COUNT_NEW = `INSERT INTO jobline_tallies (queue, type, ${STATUS_COLUMNS})
    VALUES (new.queue, new.type, ${ONE("new")})
    ON CONFLICT (queue, type) DO UPDATE SET
    waiting = waiting + excluded.waiting, pending = pending + excluded.pending, processing = processing + excluded.processing, complete = complete + excluded.complete, failed = failed + excluded.failed, cancelled = cancelled + excluded.cancelled;`;

/** A trigger's step that moves a row's count from `old`'s status to `new`'s. */
const RECOUNT = `UPDATE jobline_tallies SET
    waiting = waiting + (new.status = 'waiting') - (old.status = 'waiting'),
    pending = pending + (new.status = 'pending') - (old.status = 'pending'),
    processing = processing + (new.status = 'processing') - (old.status = 'processing'),
    complete = complete + (new.status = 'complete') - (old.status = 'complete'),
    failed = failed + (new.status = 'failed') - (old.status = 'failed'),
    cancelled = cancelled + (new.status = 'cancelled') - (old.status = 'cancelled')
    WHERE queue = new.queue AND type = new.type;`;

/**
 * Part of migration 7: the counts move to `jobline_tallies`, one row per
 * queue and type with a column per status, so that a job changing status
 * (the claim, the complete: every job twice) costs its trigger one UPDATE
 * of one row instead of an UPDATE and an upsert of two (some 5% of a
 * drain). `jobline_counts` stays, as a view with its old rows (queue,
 * type, status, n). Filled from the jobs stored, in the migration's
 * transaction.
 */
export const TALLIES_MIGRATION = `
DROP TRIGGER jobline_jobs_counted;
DROP TRIGGER jobline_jobs_uncounted;
DROP TRIGGER jobline_jobs_recounted;
DROP TABLE jobline_counts;
CREATE TABLE jobline_tallies (
  queue TEXT NOT NULL,
  type TEXT NOT NULL,
  waiting INTEGER NOT NULL DEFAULT 0,
  pending INTEGER NOT NULL DEFAULT 0,
  processing INTEGER NOT NULL DEFAULT 0,
  complete INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  cancelled INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (queue, type)
) WITHOUT ROWID;
INSERT INTO jobline_tallies (queue, type, ${STATUS_COLUMNS})
  SELECT queue, type, sum(status = 'waiting'), sum(status = 'pending'), sum(status = 'processing'), sum(status = 'complete'), sum(status = 'failed'), sum(status = 'cancelled')
  FROM jobline_jobs GROUP BY queue, type;
CREATE VIEW jobline_counts (queue, type, status, n) AS
  SELECT queue, type, 'waiting', waiting FROM jobline_tallies UNION ALL
  SELECT queue, type, 'pending', pending FROM jobline_tallies UNION ALL
  SELECT queue, type, 'processing', processing FROM jobline_tallies UNION ALL
  SELECT queue, type, 'complete', complete FROM jobline_tallies UNION ALL
  SELECT queue, type, 'failed', failed FROM jobline_tallies UNION ALL
  SELECT queue, type, 'cancelled', cancelled FROM jobline_tallies;
CREATE TRIGGER jobline_jobs_counted AFTER INSERT ON jobline_jobs BEGIN
  ${COUNT_NEW}
END;
CREATE TRIGGER jobline_jobs_uncounted AFTER DELETE ON jobline_jobs BEGIN
  UPDATE jobline_tallies SET
    waiting = waiting - (old.status = 'waiting'),
    pending = pending - (old.status = 'pending'),
    processing = processing - (old.status = 'processing'),
    complete = complete - (old.status = 'complete'),
    failed = failed - (old.status = 'failed'),
    cancelled = cancelled - (old.status = 'cancelled')
    WHERE queue = old.queue AND type = old.type;
END;
CREATE TRIGGER jobline_jobs_recounted
  AFTER UPDATE OF queue, type, status ON jobline_jobs
  WHEN old.status IS NOT new.status AND old.type IS new.type
    AND old.queue IS new.queue
BEGIN
  ${RECOUNT}
END;
CREATE TRIGGER jobline_jobs_moved
  AFTER UPDATE OF queue, type ON jobline_jobs
  WHEN old.type IS NOT new.type OR old.queue IS NOT new.queue
BEGIN
  UPDATE jobline_tallies SET
    waiting = waiting - (old.status = 'waiting'),
    pending = pending - (old.status = 'pending'),
    processing = processing - (old.status = 'processing'),
    complete = complete - (old.status = 'complete'),
    failed = failed - (old.status = 'failed'),
    cancelled = cancelled - (old.status = 'cancelled')
    WHERE queue = old.queue AND type = old.type;
  ${COUNT_NEW}
END;`;

/**
 * Migration 9: the statements that move the most jobs (the enqueue's
 * insert, the claims, a turn's completions) keep the counts themselves,
 * one write per queue and type for a whole batch (tallies.ts), instead of
 * one trigger run per row: some 13% of a SQLite drain. A statement says so
 * by flipping the row's `tallied` (an insert stores it as 1), and the
 * triggers then leave that row alone. Every other statement, including
 * those of an older release still running, leaves `tallied` as it is and
 * is counted by the triggers as before, so a statement that forgets the
 * counts cannot make them drift.
 */
export const TALLIED_MIGRATION = `
ALTER TABLE jobline_jobs ADD COLUMN tallied INTEGER NOT NULL DEFAULT 0;
DROP TRIGGER jobline_jobs_counted;
CREATE TRIGGER jobline_jobs_counted AFTER INSERT ON jobline_jobs
  WHEN new.tallied = 0
BEGIN
  ${COUNT_NEW}
END;
DROP TRIGGER jobline_jobs_recounted;
CREATE TRIGGER jobline_jobs_recounted
  AFTER UPDATE OF queue, type, status ON jobline_jobs
  WHEN old.status IS NOT new.status AND old.type IS new.type
    AND old.queue IS new.queue AND new.tallied IS old.tallied
BEGIN
  ${RECOUNT}
END;`;

/** The statuses a statement that keeps its own counts moves jobs between. */
type Tallied = "pending" | "processing" | "complete";

/**
 * ?1 queue, ?2 type, ?3 n: moves n jobs of one queue and type from the
 * count of `from` (none: new jobs) to that of `to`, making the row if need
 * be (tallies.ts runs it).
 */
function tallyMove(from: Tallied | null, to: Tallied): string {
  return from === null
    ? `INSERT INTO jobline_tallies (queue, type, ${to}) VALUES (?1, ?2, ?3)
  ON CONFLICT (queue, type) DO UPDATE SET ${to} = ${to} + excluded.${to}`
    : `INSERT INTO jobline_tallies (queue, type, ${from}, ${to})
  VALUES (?1, ?2, -?3, ?3)
  ON CONFLICT (queue, type) DO UPDATE SET
  ${from} = ${from} + excluded.${from}, ${to} = ${to} + excluded.${to}`;
}

/** New pending jobs, stored by insertJobs (sql_enqueue.ts). */
export const TALLY_ENQUEUED: string = tallyMove(null, "pending");
/** Jobs claimed by CLAIM_SET's statements (sql.ts). */
export const TALLY_CLAIMED: string = tallyMove("pending", "processing");
/** Jobs completed by COMPLETE_MANY (sql.ts). */
export const TALLY_COMPLETED: string = tallyMove("processing", "complete");

/**
 * ?1 queue, ?2 now: live jobs by status and type, as `[status, type, n]`
 * (the rows a GROUP BY over the live jobs would give): the counts, less the
 * expired jobs still stored. One statement, so one snapshot of the file
 * even while another process writes.
 */
export const STATS = `SELECT status, type, sum(n) FROM (
  SELECT status, type, n FROM jobline_counts WHERE queue = ?1 AND n <> 0
  UNION ALL
  SELECT status, type, -count(*) FROM jobline_jobs
    WHERE queue = ?1 AND expires_at IS NOT NULL AND expires_at <= ?2
    GROUP BY status, type)
GROUP BY status, type HAVING sum(n) > 0`;
