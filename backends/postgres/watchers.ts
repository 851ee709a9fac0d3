/**
 * The watcher of one PostgreSQL backend object: its row in `watchers` for
 * each queue whose updates one of its listeners hears (sql_watchers.ts
 * says why claims and completions notify only then), added before that
 * listener's `listen()` resolves and deleted when the queue's last such
 * listener stops; and the refresh of its rows every minute, which adds
 * back a row found gone and tells that queue's listeners to re-read. It
 * must never throw from its timer.
 *
 * @module
 */

import { unrefTimer } from "../../src/backend/timers.ts";
import type { Sql } from "./db.ts";
import type { WatcherStatements } from "./sql_watchers.ts";

/** How often a watcher refreshes its rows (ms). */
export const BEAT_MS = 60_000;

/** The watcher of one backend. */
export interface Watcher {
  /**
   * Watches a queue (its row is added, under the queue's lock, unless
   * this backend watches it already); resolves once the row is in place.
   *
   * @returns Stops this watch; the row goes with the queue's last one.
   */
  watch(queue: string): Promise<() => Promise<void>>;
  /** Refreshes the rows now (the timer's step; tests call it). */
  beat(): Promise<void>;
  /** Stops the refresh and deletes the rows (best effort). */
  close(): Promise<void>;
}

/** A queue this backend watches. */
interface Watched {
  /** Listeners watching it. */
  count: number;
  /** The add, then the delete, of its row, in order. */
  chain: Promise<void>;
}

/**
 * Makes the watcher of a backend.
 *
 * @param run Runs a statement of `queue` through the backend (schema ready).
 * @param lost Called for a queue whose row was found gone and added back.
 */
export function createWatcher(
  s: WatcherStatements,
  run: <T>(queue: string, fn: () => Promise<T>) => Promise<T>,
  sql: Sql,
  lost: (queue: string) => void,
  beatMs = BEAT_MS,
): Watcher {
  const id = crypto.randomUUID();
  const queues = new Map<string, Watched>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let beating = false;
  let closed = false;

  const add = (queue: string) =>
    run(queue, () => sql.unsafe(s.watch, [queue, id]));
  const remove = (queue: string) =>
    run(queue, () => sql.unsafe(s.unwatch, [queue, id]));
  // A backend may watch many queues over its life; each keeps an entry.

  async function beat(): Promise<void> {
    if (beating || queues.size === 0) return;
    beating = true;
    try {
      const names = [...queues].filter(([, w]) => w.count > 0).map(([q]) => q);
      if (names.length === 0) return;
      const rows = await run(
        names[0]!,
        () => sql.unsafe(s.beat, [id, JSON.stringify(names)]),
      );
      const kept = new Set(rows.map((r) => r.queue as string));
      for (const queue of names) {
        const w = queues.get(queue)!;
        if (kept.has(queue) || w.count === 0) continue;
        // Its row expired: updates may have gone unsent. Add it back first.
        await (w.chain = w.chain.then(() => add(queue)).then(() => {}));
        lost(queue);
      }
    } catch {
      // The next beat tries again; a row lives ten minutes.
    } finally {
      beating = false;
    }
  }

  return {
    async watch(queue) {
      let w = queues.get(queue);
      if (w === undefined) {
        queues.set(queue, w = { count: 0, chain: Promise.resolve() });
      }
      const first = w.count++ === 0;
      const step = first
        ? w.chain.catch(() => {}).then(() => add(queue)).then(() => {})
        : w.chain;
      w.chain = step.catch(() => {});
      try {
        await step;
      } catch (err) {
        w.count--;
        throw err;
      }
      if (timer === undefined && !closed) {
        timer = setInterval(() => void beat(), beatMs);
        unrefTimer(timer);
      }
      let stopped = false;
      return async () => {
        if (stopped) return;
        stopped = true;
        if (--w.count > 0) return;
        // The entry stays (count 0): a later watch of the queue then adds
        // its row after this delete, on the same chain.
        const gone = w.chain.then(() => {
          if (w.count > 0) return;
          return remove(queue).then(() => {});
        });
        w.chain = gone.catch(() => {});
        // A row left behind only costs notifications until it expires.
        await w.chain;
      };
    },
    beat,
    async close() {
      closed = true;
      clearInterval(timer);
      const names = [...queues].filter(([, w]) => w.count > 0).map(([q]) => q);
      for (const w of queues.values()) w.count = 0;
      // The backend is closing: straight to the client, not through run.
      await Promise.allSettled(
        names.map((queue) => sql.unsafe(s.unwatch, [queue, id])),
      );
    },
  };
}
