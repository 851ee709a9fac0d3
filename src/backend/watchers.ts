/**
 * The watcher of one backend object, for a store whose writers send a
 * queue's updates to other processes only while some process watches it
 * (PostgreSQL: backends/postgres/sql_watchers.ts; SQLite:
 * backends/sqlite/watchers.ts): its row for each queue whose updates one
 * of its listeners hears, added before that listener's `listen()`
 * resolves and deleted a while (ten seconds) after the queue's last such
 * listener stopped; and the refresh of its rows every minute, which adds
 * back a row found gone and tells that queue's listeners to re-read. The
 * store says how a row is added, refreshed and deleted. It must never
 * throw from its timer.
 *
 * @module
 */

import { unrefTimer } from "./timers.ts";

/** How often a watcher refreshes its rows (ms). */
export const BEAT_MS = 60_000;

/** How long a row stays after its last listener stopped (ms). */
export const LINGER_MS = 10_000;

/** How a store keeps a watcher's rows. */
export interface WatchRows {
  /** Adds (or refreshes) the row of `queue`, in place once it resolves. */
  add(queue: string): Promise<void>;
  /** Deletes the row of `queue`. */
  remove(queue: string): Promise<void>;
  /**
   * Refreshes the rows of `queues` (and deletes rows that expired): the
   * queues whose row was found.
   */
  beat(queues: string[]): Promise<Set<string>>;
  /** Deletes the rows of `queues` as the backend closes (best effort). */
  removeAll(queues: string[]): Promise<void>;
}

/** The watcher of one backend. */
export interface Watcher {
  /**
   * Watches a queue (its row is added unless this backend watches it
   * already); resolves once the row is in place. Once closing, adds none.
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
 * @param rows How the store adds, refreshes and deletes the rows.
 * @param lost Called for a watched queue whose row was found gone and put
 * back.
 * @param beatMs How often the rows are refreshed.
 * @param lingerMs How long a row stays after its last listener stopped, so
 * that listeners coming and going (a `waitFor` per request) do not write
 * the row each time.
 */
export function createWatcher(
  rows: WatchRows,
  lost: (queue: string) => void,
  { beatMs = BEAT_MS, lingerMs = LINGER_MS } = {},
): Watcher {
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
    const added = w.chain.then(() => rows.add(queue)).then(() => {
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
    w.chain = w.chain.then(() => rows.remove(queue)).then(() => {}, () => {});
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
      const kept = await rows.beat(names);
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
      // The backend is closing: a row added now would outlive it (ten
      // minutes of updates logged for no one); its listeners stop with it.
      if (closed) return async () => {};
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
      // leaves a row behind; then delete them all.
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
      if (names.length > 0) await rows.removeAll(names).catch(() => {});
    },
  };
}
