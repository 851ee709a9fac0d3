/**
 * The due jobs of one lane (lanes.ts), in claim order: higher priority
 * first, then enqueue order. Jobs arrive almost always in enqueue order, so
 * each priority has a FIFO (push and shift are O(1), with no comparison)
 * and a small heap by enqueue order for the few that arrive out of it (a
 * retried, released or promoted job keeps its old place in line). A job
 * taken out of the middle (cancelled, rescheduled) is marked, not moved:
 * each FIFO entry carries the stamp its job had when it was pushed, and
 * stale entries are skipped when met and compacted once they outnumber
 * the live ones. Private to backends/memory/.
 *
 * @module
 */

import { Heap } from "./indexed_heap.ts";
import type { Rec } from "./records.ts";

/** The jobs of one priority. */
class Bucket {
  recs: Rec[] = [];
  stamps: number[] = [];
  head = 0;
  late = new Heap<Rec>((a, b) => a.seq < b.seq);
  live = 0;

  /** The first live FIFO entry, stale ones before it dropped. */
  first(): Rec | undefined {
    const { recs, stamps } = this;
    while (this.head < recs.length) {
      const rec = recs[this.head]!;
      if (rec.readyStamp === stamps[this.head]) return rec;
      this.shift();
    }
    return undefined;
  }

  shift(): void {
    this.recs[this.head++] = undefined as unknown as Rec;
    if (this.head >= 1_024 && this.head * 2 >= this.recs.length) {
      this.recs = this.recs.slice(this.head);
      this.stamps = this.stamps.slice(this.head);
      this.head = 0;
    }
  }

  /** Keeps only the live FIFO entries. */
  compact(): void {
    const recs: Rec[] = [];
    const stamps: number[] = [];
    for (let i = this.head; i < this.recs.length; i++) {
      const rec = this.recs[i]!;
      if (rec.readyStamp === this.stamps[i]) {
        recs.push(rec);
        stamps.push(this.stamps[i]!);
      }
    }
    this.recs = recs;
    this.stamps = stamps;
    this.head = 0;
  }
}

let stamps = 0;

/** The due jobs of one lane. */
export class JobQueue {
  #buckets: (Bucket | undefined)[] = [];
  /** The highest priority with a live job; 0 when empty. */
  #top = 0;
  /** How many live jobs it holds. */
  size = 0;

  /** Adds a job that is in no queue. */
  push(rec: Rec): void {
    const p = rec.priority;
    const b = this.#buckets[p] ??= new Bucket();
    rec.readyStamp = ++stamps;
    const tail = b.recs.length > b.head ? b.recs[b.recs.length - 1]! : null;
    if (tail === null || tail.seq < rec.seq) {
      b.recs.push(rec);
      b.stamps.push(rec.readyStamp);
    } else {
      b.late.push(rec);
    }
    b.live++;
    this.size++;
    if (p > this.#top) this.#top = p;
    if (b.recs.length - b.head > 2 * b.live + 1_024) b.compact();
  }

  /** The first job in claim order, or undefined. */
  peek(): Rec | undefined {
    if (this.#top === 0) return undefined;
    const b = this.#buckets[this.#top]!;
    const fifo = b.first();
    const late = b.late.peek();
    if (late === undefined) return fifo;
    return fifo === undefined || late.seq < fifo.seq ? late : fifo;
  }

  /** Takes the first job in claim order out, or undefined. */
  pop(): Rec | undefined {
    const rec = this.peek();
    if (rec !== undefined) this.remove(rec);
    return rec;
  }

  /** Takes a job this queue holds out of it. */
  remove(rec: Rec): void {
    const b = this.#buckets[rec.priority]!;
    if (rec.i >= 0) b.late.remove(rec);
    else if (b.first() === rec) b.shift();
    rec.readyStamp = 0;
    this.size--;
    if (--b.live > 0) return;
    b.recs = [];
    b.stamps = [];
    b.head = 0;
    if (rec.priority === this.#top) this.#lower();
  }

  /** Moves the top down to the next priority with a live job. */
  #lower(): void {
    let p = this.#top;
    while (p > 0 && (this.#buckets[p]?.live ?? 0) === 0) p--;
    this.#top = p;
  }
}
