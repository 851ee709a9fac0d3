/**
 * Who watches a queue's updates, in the PostgreSQL backend, as SQL text:
 * migration 10's table and functions, the gate the claim and complete
 * statements put on their update notifications, and the statements that
 * keep a watcher's rows (watchers.ts runs them). Holds SQL text only.
 *
 * Claims and completions are most of a drain's updates, and their
 * notifications cost the server about a tenth of a drain when no one
 * listens. So they notify only while some process watches the queue's
 * updates (a `subscribe`, `waitFor` or dashboard: any listener of a job or
 * of the queue; a worker's own listener hears wake-ups and cancels, which
 * every statement still sends). A watching backend has a row in
 * `watchers` per queue (kept ten seconds after its last listener stopped:
 * watchers.ts). The gate, `watched(queue)`, takes the queue's
 * advisory lock shared, then reads the rows with a fresh snapshot (it is
 * VOLATILE; by the primary key, whatever the statistics say);
 * `watch(queue, watcher)` takes the same lock exclusively to
 * add a row. So a statement that read no row committed before the watcher
 * was added, and one that commits after it was added (the lock being held
 * until commit either way) read the row, and notifies: a listener whose
 * LISTEN is active before its row is added hears every claim and
 * completion that commits after its `listen()` resolved. (That needs a
 * snapshot per statement: under another isolation level, such as a role's
 * `default_transaction_isolation`, `watched` says true.) The gate runs
 * after the statement's own work (it reads the statement's result first),
 * so a statement never holds the lock shared while it waits for a row.
 *
 * A watcher refreshes its rows' `beat` every minute; a row not refreshed
 * for ten minutes (its process died) is deleted by the next `watch` or
 * refresh of any process, and notifications stop being sent for it. A
 * watcher that finds its own row gone adds it again and tells its
 * listeners to re-read (`resync`).
 *
 * @module
 */

/** The advisory lock class of a queue's watchers (the queue's hash is the key). */
const LOCK_CLASS = 27244;

/** How long a watcher's row lives without a refresh. */
export const WATCH_EXPIRY = "10 minutes";

/**
 * Migration 10 of schema `s` (quoted): the watchers table, `watched` and
 * `watch`.
 */
export function watchersMigration(s: string): string {
  return `CREATE TABLE ${s}.watchers (
      queue text NOT NULL,
      watcher text NOT NULL,
      beat timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (queue, watcher)
    );
    CREATE FUNCTION ${s}.watched(p_queue text) RETURNS boolean
      LANGUAGE plpgsql VOLATILE SET enable_seqscan = off
    AS $watched$
    DECLARE
      v_watched boolean;
    BEGIN
      -- Only READ COMMITTED reads with a snapshot newer than the lock.
      IF current_setting('transaction_isolation') <> 'read committed' THEN
        RETURN true;
      END IF;
      PERFORM pg_advisory_xact_lock_shared(${LOCK_CLASS}, hashtext(p_queue));
      SELECT EXISTS (SELECT 1 FROM ${s}.watchers w WHERE w.queue = p_queue)
        INTO v_watched;
      RETURN v_watched;
    END
    $watched$;
    CREATE FUNCTION ${s}.watch(p_queue text, p_watcher text) RETURNS void
      LANGUAGE plpgsql VOLATILE
    AS $watch$
    BEGIN
      PERFORM pg_advisory_xact_lock(${LOCK_CLASS}, hashtext(p_queue));
      INSERT INTO ${s}.watchers (queue, watcher) VALUES (p_queue, p_watcher)
        ON CONFLICT (queue, watcher) DO UPDATE SET beat = now();
      DELETE FROM ${s}.watchers w
        WHERE w.beat < now() - interval '${WATCH_EXPIRY}';
    END
    $watch$;`;
}

/**
 * The gate of the update notifications of `rows` (a CTE of the statement's
 * own result) of queue `$queue`: whether someone watches, asked once and
 * only after `rows` has been read (so after the statement's writes), and
 * only when there is a row.
 */
export function watchedGate(s: string, rows: string, queue: string): string {
  return `(SELECT ${s}.watched(${queue}) FROM (SELECT 1 FROM ${rows} LIMIT 1) x)`;
}

/** The statements a watcher runs. */
export interface WatcherStatements {
  /** $1 queue, $2 watcher: adds (or refreshes) its row, under the lock. */
  watch: string;
  /** $1 queue, $2 watcher: deletes its row. */
  unwatch: string;
  /**
   * $1 watcher, $2 its queues (JSON): refreshes its rows, returns the
   * queues whose row it refreshed, and deletes rows that expired.
   */
  beat: string;
}

/** The watcher statements of schema `s` (quoted). */
export function watcherStatements(s: string): WatcherStatements {
  return {
    watch: `SELECT ${s}.watch($1, $2)`,
    unwatch: `DELETE FROM ${s}.watchers WHERE queue = $1 AND watcher = $2`,
    beat: `WITH kept AS (
      UPDATE ${s}.watchers SET beat = now()
      WHERE watcher = $1
        AND queue IN (SELECT json_array_elements_text($2::text::json))
      RETURNING queue
    ), expired AS (
      DELETE FROM ${s}.watchers w
      WHERE w.beat < now() - interval '${WATCH_EXPIRY}' AND w.watcher <> $1
    )
    SELECT queue FROM kept`,
  };
}
