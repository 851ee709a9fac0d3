/**
 * The memory backend's store: one queue's state (its jobs, the heaps that
 * order them, the keys) and the index steps the transitions are made of:
 * finding a live or a held job, putting a pending job where a claim finds
 * it, popping the best due job, dropping a job. Private to backends/memory/.
 * It must never publish an event or read a clock of its own (every step
 * gets `now`).
 *
 * Claims never scan every job: due jobs sit in one priority heap per type,
 * keyed by (priority, sequence); delayed jobs in a heap by runAt; leases in
 * a heap by deadline; TTLs in a heap by expiry. Heap entries are checked
 * when popped (lazy deletion), so cancel and remove stay O(1).
 *
 * @module
 */

import type { LeaseRef } from "../../src/backend/interface.ts";
import type { Listeners } from "../../src/backend/listeners.ts";
import { LeaseLostError } from "../../src/errors.ts";
import type { Rec } from "./records.ts";

/** A binary heap: push and pop in O(log n), peek in O(1). */
export class Heap<T> {
  #items: T[] = [];
  #less: (a: T, b: T) => boolean;

  /** Makes an empty heap ordered by `less` (the least item comes first). */
  constructor(less: (a: T, b: T) => boolean) {
    this.#less = less;
  }

  /** How many items it holds. */
  get size(): number {
    return this.#items.length;
  }

  /** The least item, or undefined. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** Adds an item. */
  push(item: T): void {
    const items = this.#items;
    let i = items.length;
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(item, items[parent]!)) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = item;
  }

  /** Removes and returns the least item, or undefined. */
  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    const n = items.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && this.#less(items[r]!, items[l]!) ? r : l;
      if (!this.#less(items[child]!, last)) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
    return top;
  }

  /** Removes every item. */
  clear(): void {
    this.#items = [];
  }
}

/** A timed heap entry: stale once `rec.gen` moved past `gen`. */
export interface Entry {
  rec: Rec;
  gen: number;
  at: number;
}

/** Counters of one backend object, shared by its queues. */
export interface Counters {
  /** The last enqueue sequence number. */
  seq: number;
  /** The last lease token number. */
  tokens: number;
}

/** One queue of a memory backend. */
export interface State {
  /** The queue's name (its listeners are registered under it). */
  name: string;
  /** The backend's listener registry. */
  listeners: Listeners;
  /**
   * How many of them hear this queue's updates (topic "queue" or a job):
   * while none do, no update is built (claim and complete are hot).
   */
  updateListeners: number;
  counters: Counters;
  jobs: Map<string, Rec>;
  /** Due pending jobs, one heap per type. */
  ready: Map<string, Heap<Rec>>;
  delayed: Heap<Entry>;
  leases: Heap<Entry>;
  expiry: Heap<Entry>;
  /** Deduplication key to the id of the job that holds it. */
  keys: Map<string, string>;
}

/** Claim order: higher priority first, then enqueue order. */
const byPriority = (a: Rec, b: Rec): boolean =>
  a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
const byTime = (a: Entry, b: Entry): boolean => a.at < b.at;

/** Makes the empty state of one queue. */
export function newState(
  name: string,
  listeners: Listeners,
  counters: Counters,
): State {
  return {
    name,
    listeners,
    updateListeners: 0,
    counters,
    jobs: new Map(),
    ready: new Map(),
    delayed: new Heap(byTime),
    leases: new Heap(byTime),
    expiry: new Heap(byTime),
    keys: new Map(),
  };
}

/** The job, unless it is missing or expired (an expired one is dropped). */
export function live(s: State, id: string, now: number): Rec | undefined {
  const rec = s.jobs.get(id);
  if (rec === undefined) return undefined;
  if (rec.expiresAt !== null && rec.expiresAt <= now) {
    drop(s, rec);
    return undefined;
  }
  return rec;
}

/** The job whose lease `ref` holds, or LeaseLostError. */
export function held(s: State, ref: LeaseRef): Rec {
  const rec = s.jobs.get(ref.id);
  if (
    rec === undefined || rec.status !== "processing" ||
    rec.lease?.token !== ref.token
  ) {
    throw new LeaseLostError(ref.id);
  }
  return rec;
}

/** Forgets a job: its heap entries go stale, its key is free. */
export function drop(s: State, rec: Rec): void {
  s.jobs.delete(rec.id);
  rec.gen++;
  releaseKey(s, rec);
}

/** Frees the job's key, if it holds it. */
export function releaseKey(s: State, rec: Rec): void {
  if (rec.key !== null && s.keys.get(rec.key) === rec.id) {
    s.keys.delete(rec.key);
  }
}

/** Puts a pending job where a claim will find it. */
export function schedule(s: State, rec: Rec, now: number): void {
  rec.gen++;
  if (rec.runAt > now) {
    s.delayed.push({ rec, gen: rec.gen, at: rec.runAt });
    return;
  }
  let heap = s.ready.get(rec.type);
  if (heap === undefined) s.ready.set(rec.type, heap = new Heap(byPriority));
  heap.push(rec);
}

/** The best due job of the given types, popped from its heap. */
export function next(
  s: State,
  types: readonly string[] | null,
): Rec | undefined {
  let bestHeap: Heap<Rec> | undefined;
  let best: Rec | undefined;
  const heaps = types === null
    ? s.ready.values()
    : types.map((t) => s.ready.get(t));
  for (const heap of heaps) {
    if (heap === undefined) continue;
    let top = heap.peek();
    while (
      top !== undefined &&
      (top.status !== "pending" || s.jobs.get(top.id) !== top)
    ) {
      heap.pop();
      top = heap.peek();
    }
    if (top !== undefined && (best === undefined || byPriority(top, best))) {
      best = top;
      bestHeap = heap;
    }
  }
  bestHeap?.pop();
  return best;
}
