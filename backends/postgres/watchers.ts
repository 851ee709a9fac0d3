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
  /** Its add has committed (so a refresh would find the row). */
  added: boolean;
  /**
   * Its row was found gone and is not back yet: its listeners may have
   * missed updates, and get a resync once it is.
   */
  missing: boolean;
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

  /**
   * Adds the row, after what the chain holds; held until it is deleted.
   * Once a row found gone is back, its listeners are told to re-read.
   */
  function hold(queue: string, w: Watched): Promise<void> {
    w.added = false;
    const added = w.chain.then(() =>
      run(queue, () => sql.unsafe(s.watch, [queue, id]))
    ).then(() => {
      if (w.held !== added) return;
      w.added = true;
      if (!w.missing) return;
      w.missing = false;
      if (w.count > 0) lost(queue);
    });
    w.held = added;
    w.chain = added.catch(() => {});
    added.catch(() => {
      if (w.held === added) w.held = null;
    });
    return added;
  }

  /** Its row no longer held (deleted, gone, or the watcher closing). */
  function unheld(w: Watched): void {
    w.held = null;
    w.added = false;
    w.missing = false;
  }

  /** Deletes the row once no listener watches (a row left behind expires). */
  async function release(queue: string, w: Watched): Promise<void> {
    if (w.count > 0 || w.held === null) return;
    unheld(w);
    w.chain = w.chain.then(() =>
      run(queue, () => sql.unsafe(s.unwatch, [queue, id]))
    ).then(() => {}, () => {});
    await w.chain;
  }

  async function beat(): Promise<void> {
    if (beating) return;
    // Rows whose add committed before the refresh (one still being added
    // would look gone), and those found gone whose add back failed.
    const names = [...queues].filter(([, w]) =>
      (w.added && w.held !== null) || (w.missing && w.count > 0)
    ).map(([q]) => q);
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
        if (kept.has(queue) || (w.held !== null && !w.added)) continue;
        if (w.count === 0 && !w.missing) {
          // Lingering and gone: nothing is missed; no row is needed.
          unheld(w);
          continue;
        }
        // Updates may have gone unsent: put the row back, then resync.
        w.missing = true;
        await hold(queue, w).catch(() => {}); // the next beat tries again
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
          added: false,
          missing: false,
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
        if (stopped || closed) return;
        stopped = true;
        if (--w.count > 0) return;
        if (lingerMs <= 0) return await release(queue, w);
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
      const entries = [...queues];
      for (const [, w] of entries) clearTimeout(w.linger);
      // Let adds under way land (a second at most), so that none of them
      // leaves a row behind; then delete straight through the client, not
      // through run: the backend is closing.
      let wait: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled(entries.map(([, w]) => w.chain)),
        new Promise((resolve) => (wait = setTimeout(resolve, 1_000))),
      ]);
      clearTimeout(wait);
      const names: string[] = [];
      for (const [queue, w] of entries) {
        if (w.held !== null || w.missing) names.push(queue);
        unheld(w);
        w.count = 0;
      }
      await Promise.allSettled(
        names.map((queue) => sql.unsafe(s.unwatch, [queue, id])),
      );
    },
  };
}
