/**
 * The job counts of the SQLite backend (issue 14: stats at a million jobs),
 * as named constants beside sql.ts, whose migration 5 this is. Runs
 * nothing.
 *
 * `jobline_counts` holds how many rows of `jobline_jobs` each queue, type
 * and status has. Triggers keep it, so it is right whatever statement
 * writes a job (a transition, retention, clean, housekeeping, an import,
 * a process still running an older release): a row inserted adds one, a
 * row deleted takes one away, a row whose status (or type, or queue)
 * changes moves one. Counts kept by the transitions themselves would cost
 * less, but drift the day one statement forgets them.
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

/**
 * ?1 queue, ?2 now: live jobs by status and type, as `[status, type, n]`
 * (the rows a GROUP BY over the live jobs would give): the counts, less the
 * expired jobs still stored. One statement, so one snapshot of the file
 * even while another process writes.
 */
export const STATS = `SELECT status, type, sum(n) FROM (
  SELECT status, type, n FROM jobline_counts WHERE queue = ?1
  UNION ALL
  SELECT status, type, -count(*) FROM jobline_jobs
    WHERE queue = ?1 AND expires_at IS NOT NULL AND expires_at <= ?2
    GROUP BY status, type)
GROUP BY status, type HAVING sum(n) > 0`;
