/**
 * The SQLite backend, on the `node:sqlite` module built into Deno, Node and
 * Bun. One file in WAL mode may be shared by several processes on one
 * machine: every transition is one `BEGIN IMMEDIATE` transaction, claims
 * are one `UPDATE ... RETURNING` over the best due rows, and events reach
 * other processes through an updates log table read by a tailer.
 *
 * This module is the factory and its options; calls.ts adapts the Backend
 * methods to the transitions, run through the database (db.ts); events
 * travel through events.ts, and
 * watchers.ts says which queues' updates other processes watch; the
 * options are checked in url.ts. Only db.ts imports `node:sqlite`; the main
 * entry loads this backend only when a `sqlite:` URL or this factory is
 * used.
 *
 * @module
 */

import type {
  Backend,
  BackendEvent,
  Topic,
} from "../../src/backend/interface.ts";
import type { BackendFlows } from "../../src/backend/interface_flows.ts";
import type { BackendLimits } from "../../src/backend/interface_limits.ts";
import { backendCalls } from "./calls.ts";
import { openDb } from "./db.ts";
import { createEvents } from "./events.ts";
import { deleteExpired } from "./transitions.ts";
import { checkLimits } from "./limits.ts";
import { sqliteConfig } from "./url.ts";
import { createWatcher, expireWatchers } from "./watchers.ts";

/**
 * Options of {@linkcode sqliteBackend}: a `url` or a `path`, and tuning.
 *
 * @example
 * ```ts
 * import type { SqliteBackendOptions } from "@jobline/jobline/sqlite";
 * const o: SqliteBackendOptions = { path: "jobs.db", synchronous: "full" };
 * ```
 */
export interface SqliteBackendOptions {
  /**
   * A URL: `sqlite://relative/path.db`, `sqlite:///absolute/path.db`,
   * `sqlite::memory:` or `sqlite://:memory:`, with query options such as
   * `?synchronous=full&busyTimeout=10000`. Give `url` or `path`.
   */
  url?: string;
  /** A file path, or ":memory:" for a private in-memory database. */
  path?: string;
  /**
   * `PRAGMA synchronous`: "normal" survives a process crash, "full" also
   * a power loss (slower).
   * @default {"normal"}
   */
  synchronous?: "normal" | "full";
  /**
   * How long (ms) a write waits for another process's lock before it
   * fails with a BackendError.
   * @default {5000}
   */
  busyTimeout?: number;
  /**
   * How often (ms) listeners look for events of other processes.
   * @default {50}
   */
  eventInterval?: number;
  /**
   * How long (ms) the updates log keeps events; a listener that falls
   * further behind gets a `resync`.
   * @default {5000}
   */
  eventRetention?: number;
  /**
   * How often (ms) expired jobs and old events are deleted.
   * @default {1000}
   */
  housekeepingInterval?: number;
}

/**
 * Makes a SQLite backend. The file is opened on first use (a failure
 * rejects that operation with a BackendError) and created with its schema
 * when missing. One backend object may serve several queues.
 *
 * @example A queue on a SQLite file
 * ```ts
 * import { createQueue } from "@jobline/jobline";
 * import { sqliteBackend } from "@jobline/jobline/sqlite";
 * const backend = sqliteBackend({ path: ":memory:" });
 * const queue = createQueue({ backend, name: "emails" });
 * const id = await queue.enqueue("send", { to: "a@example.com" });
 * console.log((await queue.get(id))?.status); // "pending"
 * await queue.close();
 * await backend.close();
 * ```
 *
 * @param options A URL or a path, and tuning.
 * @returns The backend.
 * @throws {ValidationError} for a bad URL or option.
 */
export function sqliteBackend(
  options: SqliteBackendOptions,
): Backend & BackendFlows & BackendLimits {
  const config = sqliteConfig(options);
  const file = config.path !== ":memory:";
  const origin = randomOrigin();
  const background = backgroundReport();
  const events = createEvents({
    connect: () => db.connect(),
    origin: file ? origin : null,
    eventInterval: config.eventInterval,
    eventRetention: config.eventRetention,
    report: background.report,
  });
  const db = openDb(config, {
    log: events.log,
    deliver: events.deliver,
    housekeep(tx, lastNow) {
      deleteExpired(tx, lastNow);
      for (const [queue, now] of lastNow) checkLimits(tx, queue, now);
      events.trim?.(tx);
      if (file) expireWatchers(tx);
    },
    ...background,
  });
  // Other processes read a queue's updates in the log only while watching.
  const watcher = file
    ? createWatcher(db, origin, (queue) => events.resync(queue))
    : null;
  return {
    name: "sqlite",
    capabilities: {
      persistence: file,
      multiProcess: file,
      crossProcessEvents: file,
      clustering: false,
      wakeups: true,
      transactionalEnqueue: false,
    },
    ...backendCalls(db),
    async listen(
      queue,
      topic: Topic,
      listener: (event: BackendEvent) => void,
    ) {
      db.connect();
      const stop = events.listen(queue, topic, listener);
      // A worker hears wake-ups and cancels, which are always logged;
      // anyone else hears updates, logged only while the queue is watched
      // (sql_watchers.ts): watch it before saying listening is in place.
      if (topic === "worker" || watcher === null) return stop;
      let unwatch: () => Promise<void>;
      try {
        unwatch = await watcher.watch(queue);
      } catch (err) {
        await stop();
        throw err;
      }
      return async () => {
        await stop();
        await unwatch();
      };
    },
    async close() {
      // The tailer first: a read of the log while the file closes (close
      // waits for the checkpoint thread) would report the closed backend
      // as a failure.
      events.stop();
      try {
        await watcher?.close();
      } finally {
        await db.close();
      }
    },
  };
}

/**
 * A background failure (housekeeping, tailing) is reported once, until a
 * run succeeds again; a busy file is not a failure (the next run tries
 * again). One that happens once (the checkpoint thread's) is reported as
 * it comes (`alert`).
 */
function backgroundReport(): {
  report(err: unknown): void;
  recovered(): void;
  alert(err: unknown): void;
} {
  let failing = false;
  const alert = (err: unknown) => {
    console.error("jobline: sqlite backend background task failed:", err);
  };
  return {
    report(err) {
      if (failing || /locked|busy/i.test(String(err))) return;
      failing = true;
      alert(err);
    },
    recovered() {
      failing = false;
    },
    alert,
  };
}

function randomOrigin(): number {
  const [a, b] = crypto.getRandomValues(new Uint32Array(2));
  return (a! % 65536) * 2 ** 32 + b! + 1;
}
