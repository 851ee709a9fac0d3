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

import type {
  BackendEvent,
  Topic,
  UpdateRecord,
} from "../../src/backend/interface.ts";
import type { JobError, JobStatus } from "../../src/types.ts";
import type { Connection, Tx } from "./db.ts";
import * as SQL from "./sql.ts";

/** A listener of the backend interface. */
export type Listener = (event: BackendEvent) => void;

/**
 * A row of the updates log as read back: id, origin, events. Each row holds
 * the events of one transaction, as a JSON array of `[queue, kind, job id,
 * payload]`. Kinds: "u" an update (payload: the array type, status,
 * progress, message, attempt, result text, error, at, version), "w" a wake
 * (payload: at), "c" a cancel of a processing job (payload null). Ids are
 * max + 1 and writers take turns, so a reader that finds a hole after its
 * last id knows the log was trimmed past it.
 */
export type EventRow = [number, number, string];

/**
 * The text of a log row from a transaction's events (flat: queue, kind, job
 * id, payload as JSON text or null, ...). Payloads are embedded as they are.
 */
export function logText(events: readonly (string | null)[]): string {
  let text = "[";
  for (let i = 0; i < events.length; i += 4) {
    if (i > 0) text += ",";
    text += `[${JSON.stringify(events[i])},"${events[i + 1]}",${
      JSON.stringify(events[i + 2])
    },${events[i + 3] ?? "null"}]`;
  }
  return `${text}]`;
}

/** Decodes an event from its payload text; null for an unknown kind. */
export function eventOf(
  kind: string,
  jobId: string | null,
  payload: string | null,
): BackendEvent | null {
  return eventOfValue(
    kind,
    jobId,
    payload === null ? null : JSON.parse(payload),
  );
}

/** Decodes an event from its parsed payload; null for an unknown kind. */
export function eventOfValue(
  kind: string,
  jobId: string | null,
  payload: unknown,
): BackendEvent | null {
  switch (kind) {
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
      ] = payload as [
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
        jobId: jobId ?? "",
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
      return { kind: "wake", at: Number(payload) };
    case "c":
      return { kind: "cancel", jobId: jobId ?? "" };
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
  /** True when someone listens on this queue to an event of this kind. */
  wants(queue: string, kind: string, jobId: string | null): boolean;
  /** Decodes and delivers log rows (flat: queue, kind, job id, payload). */
  deliverRows(rows: readonly (string | null)[]): void;
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

  function wants(queue: string, kind: string, jobId: string | null): boolean {
    if (size === 0) return false;
    const q = queues.get(queue);
    if (q === undefined) return false;
    if (kind === "u") return q.queue.size > 0 || q.jobs.has(jobId!);
    return q.worker.size > 0;
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
    wants,
    deliverRows(rows) {
      for (let i = 0; i < rows.length; i += 4) {
        const queue = rows[i]!;
        const kind = rows[i + 1]!;
        const jobId = rows[i + 2]!;
        if (!wants(queue, kind, jobId)) continue;
        let event: BackendEvent | null;
        try {
          event = eventOf(kind, jobId, rows[i + 3]!);
        } catch (err) {
          report(err);
          continue;
        }
        if (event !== null) deliver(queue, event);
      }
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
          if (rows[0]![0] !== last + 1) {
            const min = source.minId();
            if (min === null || min > last + 1) hub.resyncAll();
          }
          for (const [id, from, text] of rows) {
            last = id;
            if (from === origin) continue;
            const events = JSON.parse(text) as [
              string,
              string,
              string | null,
              unknown,
            ][];
            for (const [queue, kind, jobId, payload] of events) {
              if (!hub.wants(queue, kind, jobId)) continue;
              const event = eventOfValue(kind, jobId, payload);
              if (event !== null) hub.deliver(queue, event);
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

/** The log as the tailer reads it, over a connection opened on demand. */
export function logSource(connect: () => Connection): TailSource {
  let seen: unknown;
  return {
    changed() {
      const [version] = connect().stmt(SQL.DATA_VERSION).get() as [number];
      const moved = version !== seen;
      seen = version;
      return moved;
    },
    maxId: () => (connect().stmt(SQL.EVENTS_MAX).get() as [number])[0],
    minId: () => (connect().stmt(SQL.EVENTS_MIN).get() as [number | null])[0],
    read: (after, limit) =>
      connect().stmt(SQL.EVENTS_READ).all(after, limit) as EventRow[],
  };
}

/** Events deleted per statement, and statements per housekeeping run. */
const TRIM_BATCH = 20_000;
const TRIM_ROUNDS = 10;

/**
 * Makes the log trimmer: each run notes the newest id, and deletes (in
 * bounded batches, up to 200,000 rows a run: more than the fastest writer
 * makes in a second) the events that were already in the log `retention`
 * ms ago. Time is the real clock: retention is about slow readers.
 */
export function createTrimmer(retention: number): (tx: Tx) => void {
  const marks: { at: number; id: number }[] = [];
  return (tx) => {
    const at = Date.now();
    marks.push({ at, id: (tx.stmt(SQL.EVENTS_MAX).get() as [number])[0] });
    let cut = 0;
    while (marks.length > 0 && marks[0]!.at <= at - retention) {
      cut = marks.shift()!.id;
    }
    if (cut === 0) return;
    const [min] = tx.stmt(SQL.EVENTS_MIN).get() as [number | null];
    if (min === null) return;
    for (let from = min, i = 0; from <= cut && i < TRIM_ROUNDS; i++) {
      const to = Math.min(cut, from + TRIM_BATCH - 1);
      tx.stmt(SQL.EVENTS_TRIM).run(to);
      from = to + 1;
    }
  };
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
