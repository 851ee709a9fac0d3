/**
 * The watcher of one PostgreSQL backend object: its rows in `watchers`
 * (sql_watchers.ts says why claims and completions notify a queue's
 * updates only while some process watches it), kept by the shared
 * watcher (src/backend/watchers.ts: added before a listener's `listen()`
 * resolves, deleted ten seconds after the queue's last such listener
 * stopped, refreshed every minute, added back when found gone). A row is
 * added under the queue's lock (`watch`), so a statement that commits
 * after it notifies.
 *
 * @module
 */

import {
  createWatcher as watcherOf,
  type Watcher,
} from "../../src/backend/watchers.ts";
import type { Sql } from "./db.ts";
import type { WatcherStatements } from "./sql_watchers.ts";

export type { Watcher };

/**
 * Makes the watcher of a backend.
 *
 * @param run Runs a statement of `queue` through the backend (schema ready).
 * @param lost Called for a watched queue whose row was found gone and put
 * back.
 * @param timing How often the rows are refreshed, and how long a row
 * stays after its last listener stopped (src/backend/watchers.ts).
 */
export function createWatcher(
  s: WatcherStatements,
  run: <T>(queue: string, fn: () => Promise<T>) => Promise<T>,
  sql: Sql,
  lost: (queue: string) => void,
  timing: { beatMs?: number; lingerMs?: number } = {},
): Watcher {
  const id = crypto.randomUUID();
  return watcherOf(
    {
      add: async (queue) => {
        await run(queue, () => sql.unsafe(s.watch, [queue, id]));
      },
      remove: async (queue) => {
        await run(queue, () => sql.unsafe(s.unwatch, [queue, id]));
      },
      beat: async (queues) => {
        const rows = await run(
          queues[0]!,
          () => sql.unsafe(s.beat, [id, JSON.stringify(queues)]),
        );
        return new Set(rows.map((r) => r.queue as string));
      },
      // The backend is closing: straight through the client, not through run.
      removeAll: async (queues) => {
        await Promise.allSettled(
          queues.map((queue) => sql.unsafe(s.unwatch, [queue, id])),
        );
      },
    },
    lost,
    timing,
  );
}
