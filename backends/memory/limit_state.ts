/**
 * What the memory backend keeps of one queue's limits (transitions_limits.ts
 * changes it): the stored limits, how many jobs run per queue, type and group, the
 * windows of recent claim times, the groups parked by their rate, and the
 * running jobs with a time to live.
 * Types and construction only.
 *
 * @module
 */

import type { Limits, RateLimit } from "../../src/limits_types.ts";
import { Heap, type Slot } from "./indexed_heap.ts";

/** The times of the last `max` claims of one scope, oldest first once full. */
export class Window {
  #times: number[] = [];
  #next = 0;
  readonly rate: RateLimit;
  constructor(rate: RateLimit) {
    this.rate = rate;
  }
  /** Counts a claim at `now`. */
  add(now: number): void {
    if (this.#times.length < this.rate.max) this.#times.push(now);
    else this.#times[this.#next] = now;
    this.#next = (this.#next + 1) % this.rate.max;
  }
  /** When the next claim may be made: 0 when now. */
  until(now: number): number {
    if (this.#times.length < this.rate.max) return 0;
    const at = this.#times[this.#next]! + this.rate.per;
    return at > now ? at : 0;
  }
}

/** A group parked by its rate, until `at`. */
export interface Parked extends Slot {
  group: string;
  at: number;
}

/** A running job with a time to live, counted in the limits, by its expiry. */
export interface Expiring extends Slot {
  id: string;
  at: number;
}

/** The limit state of one queue. */
export interface LimitState {
  limits: Limits;
  /** Any limit is set. */
  on: boolean;
  total: number;
  byType: Map<string, number>;
  byGroup: Map<string, number>;
  queueWindow: Window | null;
  typeWindows: Map<string, Window>;
  groupWindows: Map<string, Window>;
  /** Groups parked by their rate, by the time they may go on. */
  byTime: Heap<Parked>;
  parkedAt: Map<string, Parked>;
  /**
   * The counted running jobs with a time to live, by expiry: one that runs
   * out frees its slots with no call to announce it (transitions_limits.ts
   * wakes workers for the soonest).
   */
  expiring: Heap<Expiring>;
  expiringOf: Map<string, Expiring>;
}

/** No limits. */
export function newLimitState(): LimitState {
  return {
    limits: {},
    on: false,
    total: 0,
    byType: new Map(),
    byGroup: new Map(),
    queueWindow: null,
    typeWindows: new Map(),
    groupWindows: new Map(),
    byTime: new Heap((a, b) => a.at < b.at),
    parkedAt: new Map(),
    expiring: new Heap((a, b) => a.at < b.at),
    expiringOf: new Map(),
  };
}
