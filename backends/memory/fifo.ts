/**
 * A first-in first-out list of (job, number) entries for retention in the
 * memory backend: finished jobs in the order they finished, numbered by
 * their finish stamps, with the greatest finish time pushed so far (so
 * that the caller can tell a job that finished out of order). Push and
 * shift are O(1) with no allocation per entry. An entry goes stale when
 * its job leaves (the caller knows how to tell, through `isLive`); stale
 * entries are skipped when met and, so that memory follows the live jobs,
 * compacted away once they outnumber the live ones. Private to
 * backends/memory/.
 *
 * @module
 */

import type { Rec } from "./records.ts";

/** Tells whether an entry still stands for its job. */
export type IsLive = (rec: Rec, n: number) => boolean;

/** A FIFO of (job, number) entries, with a count of the live ones. */
export class Fifo {
  #recs: Rec[] = [];
  #ns: number[] = [];
  #head = 0;
  #isLive: IsLive;
  /** Live entries (the caller counts them down as entries go stale). */
  live = 0;
  /** The greatest finish time pushed. */
  lastAt = -Infinity;
  /** False once an entry was pushed with a finish time below `lastAt`. */
  ordered = true;

  /** Makes an empty FIFO whose entries' liveness `isLive` tells. */
  constructor(isLive: IsLive) {
    this.#isLive = isLive;
  }

  /** Appends a live entry for a job that finished at `at`. */
  push(rec: Rec, n: number, at: number): void {
    if (at < this.lastAt) this.ordered = false;
    else this.lastAt = at;
    this.#recs.push(rec);
    this.#ns.push(n);
    this.live++;
    const size = this.#recs.length - this.#head;
    if (size > 2 * this.live + 1_024) this.#compact();
  }

  /**
   * The first live entry's job, skipping (and dropping) stale entries
   * before it; undefined when none is left. Returns no pair, so that the
   * check a finishing job makes allocates nothing.
   */
  head(): Rec | undefined {
    while (this.#head < this.#recs.length) {
      const rec = this.#recs[this.#head]!;
      if (this.#isLive(rec, this.#ns[this.#head]!)) return rec;
      this.#drop();
    }
    return undefined;
  }

  /** The live entries, first to last (for a scan that stops early). */
  *entries(): Generator<[Rec, number]> {
    for (let i = this.#head; i < this.#recs.length; i++) {
      const rec = this.#recs[i]!;
      const n = this.#ns[i]!;
      if (this.#isLive(rec, n)) yield [rec, n];
    }
  }

  #drop(): void {
    this.#recs[this.#head] = undefined as unknown as Rec;
    this.#head++;
    if (this.#head >= 1_024 && this.#head * 2 >= this.#recs.length) {
      this.#recs = this.#recs.slice(this.#head);
      this.#ns = this.#ns.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Keeps only the live entries, in order. */
  #compact(): void {
    const recs: Rec[] = [];
    const ns: number[] = [];
    for (let i = this.#head; i < this.#recs.length; i++) {
      if (this.#isLive(this.#recs[i]!, this.#ns[i]!)) {
        recs.push(this.#recs[i]!);
        ns.push(this.#ns[i]!);
      }
    }
    this.#recs = recs;
    this.#ns = ns;
    this.#head = 0;
    this.live = recs.length;
  }
}

/** Is a finished-FIFO entry still its job's (not retried, not dropped)? */
export const finishedLive: IsLive = (rec, stamp) => rec.finishStamp === stamp;
