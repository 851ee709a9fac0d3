/**
 * The state of one memory queue: its jobs and every index over them (the
 * lanes of due jobs, the timed heaps, keys, pause state, retention FIFOs,
 * flows, schedules, limits), and the empty state. Types and construction
 * only; heap.ts holds the steps that change it.
 *
 * @module
 */

import type { ScheduleRecord } from "../../src/backend/interface.ts";
import type { ParentResult } from "../../src/backend/interface_flows.ts";
import type { Listeners } from "../../src/backend/listeners.ts";
import type { Fifo } from "./fifo.ts";
import { Heap } from "./indexed_heap.ts";
import { newReady, type Ready } from "./lanes.ts";
import { type LimitState, newLimitState } from "./limit_state.ts";
import type { Entry, Rec } from "./records.ts";

/** Counters of one backend object, shared by its queues. */
export interface Counters {
  /** The last enqueue sequence number. */
  seq: number;
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
  /** Due pending jobs, by type and group (lanes.ts). */
  ready: Ready;
  /** Limits, and what runs under them (transitions_limits.ts). */
  limits: LimitState;
  delayed: Heap<Entry>;
  leases: Heap<Entry>;
  /**
   * The jobs in the lease heap, by id: a small map (as many as run), so
   * finding a held job does not probe the map of every job.
   */
  leased: Map<string, Rec>;
  expiry: Heap<Entry>;
  /** Deduplication key to the id of the job that holds it. */
  keys: Map<string, string>;
  /** Paused types; "" (never a type) stands for the whole queue. */
  paused: Set<string>;
  /**
   * Finished jobs by status and keep age (-1: no age rule), each FIFO in
   * the order its jobs finished, which is the order of their removal times
   * while they finish in time order (retention.ts).
   */
  finished: Record<Finished, Map<number, Fifo>>;
  /** The live entries of each status's FIFOs. */
  finishedLive: Record<Finished, number>;
  /** The last finish stamp given. */
  finishSeq: number;
  /** Removal times that came out of order (imports), by time. */
  lateRemovals: Heap<Entry>;
  /**
   * No removal is due before this time (retention.ts, sweep): the earliest
   * removal time indexed since the last sweep, or one before it.
   */
  nextRemoval: number;
  /** Flows by id (transitions_flows.ts). */
  flows: Map<string, FlowEntry>;
  /** Schedules by name (transitions_schedule.ts). */
  schedules: Map<string, ScheduleRecord>;
  /**
   * The greatest id stored so far, and whether `jobs` holds its jobs by
   * ascending id (true unless an import stored an older id after newer
   * ones): list reads `jobs` in order while it does.
   */
  lastId: string;
  byId: boolean;
}

/**
 * What a queue keeps of one flow: its stored jobs' ids in enqueue order,
 * and the results its finished parents left (a dependent that failed may
 * be retried after every other job finished). It goes with its last stored
 * job, and they with it.
 */
export interface FlowEntry {
  ids: Set<string>;
  results: Map<string, ParentResult>;
}

/** The statuses a job finishes with. */
export type Finished = "complete" | "failed" | "cancelled";

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
    ready: newReady(),
    limits: newLimitState(),
    delayed: new Heap(byTime),
    leases: new Heap(byTime),
    leased: new Map(),
    expiry: new Heap(byTime),
    keys: new Map(),
    paused: new Set(),
    finished: { complete: new Map(), failed: new Map(), cancelled: new Map() },
    finishedLive: { complete: 0, failed: 0, cancelled: 0 },
    finishSeq: 0,
    lateRemovals: new Heap(byTime),
    nextRemoval: Infinity,
    flows: new Map(),
    schedules: new Map(),
    lastId: "",
    byId: true,
  };
}
