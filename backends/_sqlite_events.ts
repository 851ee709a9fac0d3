/**
 * Events of the SQLite backend: in-process listeners, the rows of the
 * updates log (`jobline_events`) that carry events to other processes, and
 * the tailer that reads the rows other connections wrote.
 *
 * In-process listeners hear a change synchronously after its commit; the
 * log row is written in the same transaction as the change, so another
 * process never sees an event of a change that did not happen. The tailer
 * skips rows of its own origin (already delivered) and must never throw
 * into a timer.
 *
 * @module
 */

import type { BackendEvent, Topic, UpdateRecord } from "../src/backend.ts";
import type { JobError, JobStatus } from "../src/types.ts";

/** A listener of the backend interface. */
export type Listener = (event: BackendEvent) => void;

/** A row of the updates log, as read back. */
export interface EventRow {
  id: number;
  queue: string;
  origin: number;
  kind: string;
  job_id: string | null;
  payload: string | null;
}

/** An event about to be logged: [queue, kind, job id, payload]. */
export type EventParams = [string, string, string | null, string | null];

/** Encodes an event as the parameters of its log row. */
export function eventParams(queue: string, event: BackendEvent): EventParams {
  switch (event.kind) {
    case "update": {
      const u = event.update;
      return [
        queue,
        "u",
        u.jobId,
        JSON.stringify([
          u.type,
          u.status,
          u.progress,
          u.message,
          u.attempt,
          u.result,
          u.error,
          u.at,
          u.version,
        ]),
      ];
    }
    case "wake":
      return [queue, "w", null, String(event.at)];
    case "cancel":
      return [queue, "c", event.jobId, null];
    default:
      return [queue, "r", null, null];
  }
}

/** Decodes a log row; null for a row this release does not know. */
export function eventOf(row: EventRow): BackendEvent | null {
  switch (row.kind) {
    case "u": {
      const [
        type,
        status,
        progress,
        message,
        attempt,
        result,
        error,
        at,
        version,
      ] = JSON.parse(row.payload ?? "[]") as [
        string,
        JobStatus,
        number,
        string,
        number,
        string | null,
        JobError | null,
        number,
        number,
      ];
      const update: UpdateRecord = {
        jobId: row.job_id ?? "",
        type,
        status,
        progress,
        message,
        attempt,
        result,
        error,
        at,
        version,
      };
      return { kind: "update", update };
    }
    case "w":
      return { kind: "wake", at: Number(row.payload) };
    case "c":
      return { kind: "cancel", jobId: row.job_id ?? "" };
    case "r":
      return { kind: "resync" };
    default:
      return null;
  }
}

interface QueueListeners {
  queue: Set<Listener>;
  worker: Set<Listener>;
  jobs: Map<string, Set<Listener>>;
}

/** The listeners of one backend object, by queue and topic. */
export interface Hub {
  /** How many listeners there are, over every queue. */
  readonly size: number;
  /** Adds a listener; returns the function that removes it. */
  add(queue: string, topic: Topic, listener: Listener): () => void;
  /** True when someone listens on this queue to this kind of event. */
  wants(queue: string, event: BackendEvent): boolean;
  /** Delivers an event to the queue's listeners of its topics. */
  deliver(queue: string, event: BackendEvent): void;
  /** Delivers `resync` to every listener. */
  resyncAll(): void;
}

/** Makes an empty hub; `report` hears listeners that throw. */
export function createHub(report: (err: unknown) => void): Hub {
  const queues = new Map<string, QueueListeners>();
  let size = 0;

  function call(set: Iterable<Listener>, event: BackendEvent): void {
    for (const listener of set) {
      try {
        listener(event);
      } catch (err) {
        report(err);
      }
    }
  }

  function deliver(queue: string, event: BackendEvent): void {
    const q = queues.get(queue);
    if (q === undefined) return;
    if (event.kind === "update") {
      if (q.queue.size > 0) call([...q.queue], event);
      const forJob = q.jobs.get(event.update.jobId);
      if (forJob !== undefined) call([...forJob], event);
    } else if (event.kind === "resync") {
      const all = [...q.queue, ...q.worker];
      for (const set of q.jobs.values()) all.push(...set);
      call(all, event);
    } else call([...q.worker], event);
  }

  return {
    get size() {
      return size;
    },
    add(queue, topic, listener) {
      let q = queues.get(queue);
      if (q === undefined) {
        q = { queue: new Set(), worker: new Set(), jobs: new Map() };
        queues.set(queue, q);
      }
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
      size++;
      const owner = q;
      return () => {
        if (!set.delete(own)) return;
        size--;
        if (typeof topic === "object" && set.size === 0) {
          owner.jobs.delete(topic.job);
        }
        if (
          owner.queue.size === 0 && owner.worker.size === 0 &&
          owner.jobs.size === 0 && queues.get(queue) === owner
        ) queues.delete(queue);
      };
    },
    wants(queue, event) {
      const q = queues.get(queue);
      if (q === undefined) return false;
      if (event.kind === "update") {
        return q.queue.size > 0 || q.jobs.has(event.update.jobId);
      }
      return q.worker.size > 0;
    },
    deliver,
    resyncAll() {
      for (const queue of [...queues.keys()]) {
        deliver(queue, { kind: "resync" });
      }
    },
  };
}

/** What the tailer needs from the database. */
export interface TailSource {
  /** True when another connection committed since the last call. */
  changed(): boolean;
  /** The newest event id, 0 when none. */
  maxId(): number;
  /** The oldest event id kept, null when none. */
  minId(): number | null;
  /** Up to `limit` rows after `after`, by id. */
  read(after: number, limit: number): EventRow[];
}

/** The tailer: reads other processes' events while anyone listens. */
export interface Tailer {
  /** Starts reading from the newest event on (no-op when running). */
  start(): void;
  /** Stops reading. */
  stop(): void;
  /** Reads what is new now (also called by the timer). */
  poll(): void;
}

/**
 * Makes a tailer that polls every `interval` ms with an unref'd timer (it
 * never keeps a process alive by itself), skips rows of `origin`, and
 * signals `resync` when rows it had not read were trimmed away.
 */
export function createTailer(
  source: TailSource,
  hub: Hub,
  origin: number,
  interval: number,
  report: (err: unknown) => void,
): Tailer {
  let last = -1;
  let timer: ReturnType<typeof setInterval> | undefined;
  const tailer: Tailer = {
    start() {
      if (timer !== undefined) return;
      source.changed();
      last = source.maxId();
      timer = setInterval(() => tailer.poll(), interval);
      unref(timer);
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
    poll() {
      if (timer === undefined) return;
      try {
        if (!source.changed()) return;
        for (;;) {
          const rows = source.read(last, 1000);
          if (rows.length === 0) break;
          if (rows[0]!.id !== last + 1) {
            const min = source.minId();
            if (min === null || min > last + 1) hub.resyncAll();
          }
          for (const row of rows) {
            last = row.id;
            if (row.origin === origin) continue;
            const event = eventOf(row);
            if (event !== null && hub.wants(row.queue, event)) {
              hub.deliver(row.queue, event);
            }
          }
          if (rows.length < 1000 || timer === undefined) break;
        }
      } catch (err) {
        report(err);
      }
    },
  };
  return tailer;
}

/** Lets a timer not keep the process alive (Node, Bun and Deno's node:timers). */
export function unref(timer: unknown): void {
  const t = timer as { unref?: () => void } | number;
  if (typeof t === "object" && typeof t.unref === "function") t.unref();
  else if (typeof t === "number") {
    const deno =
      (globalThis as { Deno?: { unrefTimer?: (id: number) => void } })
        .Deno;
    deno?.unrefTimer?.(t);
  }
}
