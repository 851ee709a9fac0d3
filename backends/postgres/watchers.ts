/**
 * The watcher of one PostgreSQL backend object: its row in `watchers` for
 * each queue whose updates one of its listeners hears (sql_watchers.ts
 * says why claims and completions notify only then), added before that
 * listener's `listen()` resolves and deleted ten seconds after the
 * queue's last such listener stopped; and the refresh of its rows every minute, which adds
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

/** How long a row stays after its last listener stopped (ms). */
export const LINGER_MS = 10_000;

/** The watcher of one backend. */
export interface Watcher {
  /**
   * Watches a queue (its row is added, under the queue's lock, unless
   * this backend watches it already); resolves once the row is in place.
   *
   * @returns Stops this watch; the row goes a while after the queue's
   * last one.
   */
  watch(queue: string): Promise<() => Promise<void>>;
  /** Refreshes the rows now (the timer's step; tests call it). */
  beat(): Promise<void>;
  /** Stops the refresh and deletes the rows at once (best effort). */
  close(): Promise<void>;
}

/** A queue this backend watches. */
interface Watched {
  /** Listeners watching it. */
  count: number;
  /** The add of its row (settled: in place), or null: no row. */
  held: Promise<void> | null;
  /** The adds and deletes of its row, in order. */
  chain: Promise<void>;
  /** The delete waiting out the linger after its last listener stopped. */
  linger: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Makes the watcher of a backend.
 *
 * @param run Runs a statement of `queue` through the backend (schema ready).
 * @param lost Called for a watched queue whose row was found gone and put
 * back.
 * @param beatMs How often the rows are refreshed.
 * @param lingerMs How long a row stays after its last listener stopped, so
 * that listeners coming and going (a `waitFor` per request) do not take the
 * queue's lock each time.
 */
export function createWatcher(
  s: WatcherStatements,
  run: <T>(queue: string, fn: () => Promise<T>) => Promise<T>,
  sql: Sql,
  lost: (queue: string) => void,
  { beatMs = BEAT_MS, lingerMs = LINGER_MS } = {},
): Watcher {
  const id = crypto.randomUUID();
  // A backend may watch many queues over its life; each keeps an entry.
  const queues = new Map<string, Watched>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let beating = false;
  let closed = false;

  /** Adds the row, after what the chain holds; held until it is deleted. */
  function hold(queue: string, w: Watched): Promise<void> {
    const added = w.chain.then(() =>
      run(queue, () => sql.unsafe(s.watch, [queue, id]))
    ).then(() => {});
    w.held = added;
    w.chain = added.catch(() => {});
    added.catch(() => {
      if (w.held === added) w.held = null;
    });
    return added;
  }

  /** Deletes the row once no listener watches (a row left behind expires). */
  async function release(queue: string, w: Watched): Promise<void> {
    if (w.count > 0 || w.held === null) return;
    w.held = null;
    w.chain = w.chain.then(() =>
      run(queue, () => sql.unsafe(s.unwatch, [queue, id]))
    ).then(() => {}, () => {});
    await w.chain;
  }

  async function beat(): Promise<void> {
    if (beating) return;
    const names = [...queues].filter(([, w]) => w.held !== null)
      .map(([q]) => q);
    if (names.length === 0) return;
    beating = true;
    try {
      const rows = await run(
        names[0]!,
        () => sql.unsafe(s.beat, [id, JSON.stringify(names)]),
      );
      const kept = new Set(rows.map((r) => r.queue as string));
      for (const queue of names) {
        const w = queues.get(queue)!;
        if (kept.has(queue) || w.held === null) continue;
        // Its row expired: updates may have gone unsent. Put it back first.
        await hold(queue, w);
        if (w.count > 0) lost(queue);
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
        w = {
          count: 0,
          held: null,
          chain: Promise.resolve(),
          linger: undefined,
        };
        queues.set(queue, w);
      }
      clearTimeout(w.linger);
      w.linger = undefined;
      w.count++;
      try {
        await (w.held ?? hold(queue, w));
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
        if (lingerMs <= 0 || closed) return await release(queue, w);
        w.linger = setTimeout(() => {
          w.linger = undefined;
          void release(queue, w);
        }, lingerMs);
        unrefTimer(w.linger);
      };
    },
    beat,
    async close() {
      closed = true;
      clearInterval(timer);
      const names: string[] = [];
      for (const [queue, w] of queues) {
        clearTimeout(w.linger);
        if (w.held !== null) names.push(queue);
        w.held = null;
        w.count = 0;
      }
      // The backend is closing: straight to the client, not through run.
      await Promise.allSettled(
        names.map((queue) => sql.unsafe(s.unwatch, [queue, id])),
      );
    },
  };
}
