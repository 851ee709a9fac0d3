/**
 * Events of the SQLite backend: delivery to in-process listeners (through
 * the kit's listener registry), the rows of the updates log
 * (`jobline_events`) that carry events to other processes, the tailer that
 * reads the rows other connections wrote, and the trimming of the log.
 *
 * In-process listeners hear a change synchronously after its commit; the
 * log row is written in the same transaction as the change, so another
 * process never sees an event of a change that did not happen. A job's
 * updates go in the log only while another backend object watches its
 * queue (sql_watchers.ts, watchers.ts); wake-ups and cancels always do. The tailer
 * skips rows of its own origin (already delivered) and must never throw
 * into a timer.
 *
 * @module
 */

import type { BackendEvent, Topic } from "../../src/backend/interface.ts";
import {
  createListeners,
  type Listener,
  type Listeners,
} from "../../src/backend/listeners.ts";
import { unrefTimer } from "../../src/backend/timers.ts";
import type { Connection, Emitted, Tx } from "./db.ts";
import { updateOf } from "./records.ts";
import * as SQL from "./sql.ts";
import { WATCHED } from "./sql_watchers.ts";

/** The events of one backend object. */
export interface Events {
  /** Writes a transaction's events to the log; null: nobody else reads it. */
  readonly log: ((tx: Tx, events: Emitted) => void) | null;
  /** Deletes the log rows older than the retention; null: no log. */
  readonly trim: ((tx: Tx) => void) | null;
  /** Delivers a committed transaction's events in process. */
  deliver(events: Emitted): void;
  /** Adds a listener; the log is tailed while anyone listens. */
  listen(queue: string, topic: Topic, listener: Listener): () => Promise<void>;
  /** Tells a queue's listeners to re-read (they may have missed events). */
  resync(queue: string): void;
  /** Stops tailing the log. */
  stop(): void;
}

/** Where the events of a backend object go and come from. */
export interface EventsConfig {
  /** Opens (or returns) the backend's connection. */
  connect: () => Connection;
  /** Marks this object's log rows; null: a private database (:memory:). */
  origin: number | null;
  /** ms between reads of the log. */
  eventInterval: number;
  /** ms the log keeps events. */
  eventRetention: number;
  /** Hears the tailer's failures. */
  report: (err: unknown) => void;
}

/** Makes the events of a backend object: no listener, nothing tailed yet. */
export function createEvents(config: EventsConfig): Events {
  const { connect, origin, report } = config;
  const listeners = createListeners(reportListener);
  const tailer = origin === null ? undefined : createTailer(
    logSource(connect),
    listeners,
    origin,
    config.eventInterval,
    report,
  );
  return {
    log: origin === null ? null : (tx, events) => {
      const text = logText(events, (queue) => watched(tx, queue, origin));
      if (text !== null) tx.stmt(SQL.EVENTS_INSERT).run(origin, text);
    },
    trim: origin === null ? null : createTrimmer(config.eventRetention),
    deliver: (events) => deliverRows(listeners, events),
    listen(queue, topic, listener) {
      const remove = listeners.add(queue, topic, listener);
      tailer?.start();
      return () => {
        remove();
        if (listeners.size === 0) tailer?.stop();
        return Promise.resolve();
      };
    },
    resync: (queue) => listeners.deliver(queue, { kind: "resync" }),
    stop() {
      tailer?.stop();
    },
  };
}

function reportListener(err: unknown): void {
  console.error("jobline: a sqlite backend listener threw", err);
}

/** Whether anyone listens to a logged event (kind "u", "w", "c" or "p"). */
function wanted(
  listeners: Listeners,
  queue: string,
  kind: string,
  jobId: string | null,
): boolean {
  return listeners.wants(
    queue,
    kind === "u"
      ? "update"
      : kind === "w"
      ? "wake"
      : kind === "p"
      ? "paused"
      : "cancel",
    jobId ?? undefined,
  );
}

/** Decodes and delivers events (flat: queue, kind, job id, payload). */
function deliverRows(listeners: Listeners, rows: Emitted): void {
  if (listeners.size === 0) return;
  for (let i = 0; i < rows.length; i += 4) {
    const queue = rows[i]!;
    const kind = rows[i + 1]!;
    const jobId = rows[i + 2] ?? null;
    if (!wanted(listeners, queue, kind, jobId)) continue;
    let event: BackendEvent | null;
    try {
      event = eventOf(kind, jobId, rows[i + 3] ?? null);
    } catch (err) {
      reportListener(err);
      continue;
    }
    if (event !== null) listeners.deliver(queue, event);
  }
}

/**
 * A row of the updates log as read back: id, origin, events. Each row holds
 * the events of one transaction, as a JSON array of `[queue, kind, job id,
 * payload]`. Kinds: "u" an update (payload: the array type, status,
 * progress, message, attempt, result text, error, at, version), "w" a wake
 * (payload: at), "c" a cancel of a processing job (payload null), "p" a
 * pause (payload: the type, null for the whole queue). Ids are
 * max + 1 and writers take turns, so a reader that finds a hole after its
 * last id knows the log was trimmed past it.
 */
type EventRow = [number, number, string];

/**
 * Whether a backend object other than `origin` watches the updates of
 * `queue` (sql_watchers.ts), asked once per transaction and queue.
 */
function watched(tx: Tx, queue: string, origin: number): boolean {
  const key = `watched:${queue}`;
  let known = tx.memo.get(key) as boolean | undefined;
  if (known === undefined) {
    known = tx.stmt(WATCHED).get(queue, origin) !== undefined;
    tx.memo.set(key, known);
  }
  return known;
}

/**
 * The text of a log row from a transaction's events (flat: queue, kind, job
 * id, payload as JSON text or null, ...), leaving out the updates of queues
 * nobody else watches (`watched`); null when nothing is left. Payloads are
 * embedded as they are.
 */
function logText(
  events: readonly (string | null)[],
  watched: (queue: string) => boolean,
): string | null {
  let text = "";
  for (let i = 0; i < events.length; i += 4) {
    const kind = events[i + 1];
    if (kind === "u" && !watched(events[i]!)) continue;
    text += `${text === "" ? "[" : ","}[${
      JSON.stringify(events[i])
    },"${kind}",${JSON.stringify(events[i + 2])},${events[i + 3] ?? "null"}]`;
  }
  return text === "" ? null : `${text}]`;
}

/** Decodes an event from its payload text; null for an unknown kind. */
function eventOf(
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
function eventOfValue(
  kind: string,
  jobId: string | null,
  payload: unknown,
): BackendEvent | null {
  switch (kind) {
    case "u":
      return { kind: "update", update: updateOf(jobId ?? "", payload) };
    case "w":
      return { kind: "wake", at: Number(payload) };
    case "c":
      return { kind: "cancel", jobId: jobId ?? "" };
    case "p":
      return {
        kind: "paused",
        type: typeof payload === "string" ? payload : null,
      };
    default:
      return null;
  }
}

/** What the tailer needs from the database. */
interface TailSource {
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
interface Tailer {
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
function createTailer(
  source: TailSource,
  listeners: Listeners,
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
      unrefTimer(timer);
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
            if (min === null || min > last + 1) listeners.resyncAll();
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
              if (!wanted(listeners, queue, kind, jobId)) continue;
              const event = eventOfValue(kind, jobId, payload);
              if (event !== null) listeners.deliver(queue, event);
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
function logSource(connect: () => Connection): TailSource {
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
function createTrimmer(retention: number): (tx: Tx) => void {
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
