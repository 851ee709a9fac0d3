/**
 * The watcher of one SQLite backend object: its rows in `jobline_watchers`
 * (sql_watchers.ts says why a queue's updates are logged for other
 * processes only while one watches it), kept by the shared watcher
 * (src/backend/watchers.ts: added before a listener's `listen()`
 * resolves, deleted ten seconds after the queue's last such listener
 * stopped, refreshed every minute, added back when found gone). Each row
 * is written in a write transaction of its own queue, with no `now`: the
 * queue's clock is not the watcher's business, and the real clock only
 * dates the rows' refreshes.
 *
 * @module
 */

import {
  createWatcher as watcherOf,
  type Watcher,
} from "../../src/backend/watchers.ts";
import type { Db, Tx } from "./db.ts";
import * as SQL from "./sql_watchers.ts";

export type { Watcher };

/**
 * Makes the watcher of a backend.
 *
 * @param db The backend's database.
 * @param origin The backend's origin in the updates log.
 * @param lost Called for a watched queue whose row was found gone and put
 * back.
 * @param timing How often the rows are refreshed, and how long a row
 * stays after its last listener stopped (src/backend/watchers.ts).
 */
export function createWatcher(
  db: Db,
  origin: number,
  lost: (queue: string) => void,
  timing: { beatMs?: number; lingerMs?: number } = {},
): Watcher {
  const remove = (queue: string) =>
    db.write(queue, -Infinity, (tx) => {
      tx.stmt(SQL.UNWATCH).run(queue, origin);
    });
  return watcherOf(
    {
      add: (queue) =>
        db.write(queue, -Infinity, (tx) => {
          tx.stmt(SQL.WATCH).run(queue, origin, Date.now());
        }),
      remove,
      beat: (queues) =>
        db.write(queues[0]!, -Infinity, (tx) => {
          const now = Date.now();
          const kept = new Set<string>();
          for (const queue of queues) {
            const done = tx.stmt(SQL.BEAT).run(queue, origin, now) as {
              changes: number | bigint;
            };
            if (Number(done.changes) > 0) kept.add(queue);
          }
          return kept;
        }),
      removeAll: async (queues) => {
        await Promise.allSettled(queues.map(remove));
      },
    },
    lost,
    timing,
  );
}

/** Deletes the rows of watchers that stopped refreshing (housekeeping). */
export function expireWatchers(tx: Tx): void {
  tx.stmt(SQL.EXPIRE).run(Date.now() - SQL.WATCH_EXPIRY_MS);
}
