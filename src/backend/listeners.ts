/**
 * The listener registry every backend shares: who listens to which topic of
 * which queue, and delivery of one event to exactly those listeners. It owns
 * no transport: a backend feeds it the events it publishes or receives (from
 * memory, an SQLite log, Redis pub/sub, PostgreSQL NOTIFY) and asks it
 * whether anyone wants them. A listener that throws never breaks delivery.
 *
 * @module
 */

import type { BackendEvent, Topic } from "./interface.ts";

/**
 * A function that hears backend events.
 *
 * @example
 * ```ts
 * import type { Listener } from "@jobline/jobline/backend";
 * const log: Listener = (event) => console.log(event.kind);
 * ```
 */
export type Listener = (event: BackendEvent) => void;

/**
 * The two streams a backend carries per queue: job updates (heard by the
 * "queue" and `{ job }` topics) and worker signals (wake, cancel).
 *
 * @example
 * ```ts
 * import { channelOf } from "@jobline/jobline/backend";
 * console.log(channelOf({ job: "01J..." })); // "updates"
 * ```
 */
export type Channel = "updates" | "worker";

/**
 * The channel a topic listens on.
 *
 * @example
 * ```ts
 * import { channelOf } from "@jobline/jobline/backend";
 * console.log(channelOf("worker")); // "worker"
 * ```
 *
 * @param topic The topic.
 * @returns "worker" for the worker topic, "updates" for the others.
 */
export function channelOf(topic: Topic): Channel {
  return topic === "worker" ? "worker" : "updates";
}

/**
 * The registry of one backend's listeners, over all its queues.
 *
 * @example
 * ```ts
 * import { createListeners } from "@jobline/jobline/backend";
 * const listeners = createListeners();
 * const stop = listeners.add("emails", "worker", (e) => console.log(e.kind));
 * listeners.deliver("emails", { kind: "wake", at: 0 }); // logs "wake"
 * stop();
 * ```
 */
export interface Listeners {
  /** How many listeners there are in all. */
  readonly size: number;
  /**
   * Adds a listener. The same function may be added twice; each stop
   * function removes its own registration once.
   *
   * @returns A function that removes it; true the first time it is called.
   */
  add(queue: string, topic: Topic, listener: Listener): () => boolean;
  /** How many listeners a queue has on a channel. */
  count(queue: string, channel: Channel): number;
  /**
   * Whether anyone would hear an event of this kind: "update" (of `jobId`),
   * or a worker signal ("wake", "cancel", "paused").
   */
  wants(
    queue: string,
    kind: "update" | "wake" | "cancel" | "paused",
    jobId?: string,
  ): boolean;
  /**
   * Delivers an event: an update to the queue's "queue" listeners and to
   * those of its job; wake, cancel and paused to the "worker" listeners; resync to
   * every listener of the queue.
   */
  deliver(queue: string, event: BackendEvent): void;
  /** The queues that have listeners now. */
  queues(): string[];
  /** Delivers `resync` to every listener of every queue. */
  resyncAll(): void;
}

interface QueueListeners {
  queue: Set<Listener>;
  worker: Set<Listener>;
  jobs: Map<string, Set<Listener>>;
  updates: number;
}

/**
 * Makes an empty listener registry.
 *
 * @example
 * ```ts
 * import { createListeners } from "@jobline/jobline/backend";
 * const listeners = createListeners((err) => console.error("listener failed", err));
 * console.log(listeners.size); // 0
 * ```
 *
 * @param report Hears what a listener throws (default: `console.error`).
 * @returns The registry.
 */
export function createListeners(
  report: (err: unknown) => void = reportThrown,
): Listeners {
  const queues = new Map<string, QueueListeners>();
  let size = 0;
  const registry: Listeners = {
    get size() {
      return size;
    },
    add(queue, topic, listener) {
      let q = queues.get(queue);
      if (q === undefined) {
        q = {
          queue: new Set(),
          worker: new Set(),
          jobs: new Map(),
          updates: 0,
        };
        queues.set(queue, q);
      }
      const owner = q;
      const remove = addTo(owner, topic, listener);
      size++;
      return () => {
        if (!remove()) return false;
        size--;
        if (
          owner.updates === 0 && owner.worker.size === 0 &&
          queues.get(queue) === owner
        ) queues.delete(queue);
        return true;
      };
    },
    count(queue, channel) {
      const q = queues.get(queue);
      if (q === undefined) return 0;
      return channel === "worker" ? q.worker.size : q.updates;
    },
    wants(queue, kind, jobId) {
      const q = queues.get(queue);
      if (q === undefined) return false;
      if (kind !== "update") return q.worker.size > 0;
      return q.queue.size > 0 ||
        (jobId !== undefined && q.jobs.has(jobId));
    },
    deliver(queue, event) {
      const q = queues.get(queue);
      if (q !== undefined) deliverTo(q, event, report);
    },
    queues() {
      return [...queues.keys()];
    },
    resyncAll() {
      for (const queue of [...queues.keys()]) {
        registry.deliver(queue, { kind: "resync" });
      }
    },
  };
  return registry;
}

/**
 * Adds a listener to one queue's sets.
 *
 * @returns A function that removes it; true the first time.
 */
function addTo(
  q: QueueListeners,
  topic: Topic,
  listener: Listener,
): () => boolean {
  let set: Set<Listener>;
  if (topic === "queue") set = q.queue;
  else if (topic === "worker") set = q.worker;
  else {
    set = q.jobs.get(topic.job) ?? new Set();
    q.jobs.set(topic.job, set);
  }
  // Wrapped, so that one function may listen twice and stop once each.
  const own: Listener = (event) => listener(event);
  set.add(own);
  if (topic !== "worker") q.updates++;
  return () => {
    if (!set.delete(own)) return false;
    if (topic !== "worker") q.updates--;
    if (typeof topic === "object" && set.size === 0) {
      if (q.jobs.get(topic.job) === set) q.jobs.delete(topic.job);
    }
    return true;
  };
}

/** Routes an event to the listeners of one queue that hear it. */
function deliverTo(
  q: QueueListeners,
  event: BackendEvent,
  report: (err: unknown) => void,
): void {
  if (event.kind === "update") {
    if (q.queue.size > 0) call(q.queue, event, report);
    const forJob = q.jobs.get(event.update.jobId);
    if (forJob !== undefined) call(forJob, event, report);
  } else if (event.kind === "resync") {
    const all = [...q.queue, ...q.worker];
    for (const set of q.jobs.values()) all.push(...set);
    call(all, event, report);
  } else if (q.worker.size > 0) call(q.worker, event, report);
}

/** Calls each listener; one that throws is reported and the rest still hear. */
function call(
  listeners: Iterable<Listener>,
  event: BackendEvent,
  report: (err: unknown) => void,
): void {
  // No copy (this is every update's path): a Set's iteration skips what a
  // listener removes while hearing and visits what one adds.
  for (const listener of listeners) {
    try {
      listener(event);
    } catch (err) {
      report(err);
    }
  }
}

function reportThrown(err: unknown): void {
  console.error("jobline: a backend listener threw", err);
}
