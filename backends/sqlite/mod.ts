/**
 * The SQLite backend, on the `node:sqlite` module built into Deno, Node and
 * Bun. One file in WAL mode may be shared by several processes on one
 * machine: every transition is one `BEGIN IMMEDIATE` transaction, claims
 * are one `UPDATE ... RETURNING` over the best due rows, and events reach
 * other processes through an updates log table read by a tailer.
 *
 * This module is the factory, its options and the adapter from the Backend
 * methods to the transitions (transitions.ts, transitions_claim.ts,
 * transitions_control.ts,
 * retention.ts for clean, transitions_schedule.ts, transitions_import.ts,
 * transitions_flows.ts, limits.ts for setLimits and getLimits),
 * run through the database (db.ts); events travel through events.ts, and
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
  BackendImport,
  BackendSchedules,
  ClaimRequest,
  LeaseRef,
  ListRequest,
  NewJobRecord,
  Topic,
} from "../../src/backend/interface.ts";
import type { BackendFlows } from "../../src/backend/interface_flows.ts";
import type { BackendLimits } from "../../src/backend/interface_limits.ts";
import type { QueueStats } from "../../src/types.ts";
import { type Db, openDb } from "./db.ts";
import { createEvents } from "./events.ts";
import { enqueueClaimJobs, enqueueJobs } from "./transitions_enqueue.ts";
import {
  cancelJob,
  deleteExpired,
  extendLease,
  failJob,
  getJob,
  listJobs,
  queueStats,
  releaseJobs,
  removeJob,
  retryJob,
  setProgress,
} from "./transitions.ts";
import { claimJobs } from "./transitions_claim.ts";
import { batchedComplete } from "./completions.ts";
import {
  pausedState,
  rescheduleJob,
  setPaused,
} from "./transitions_control.ts";
import { cleanJobs } from "./retention.ts";
import {
  fireSchedule,
  listSchedules,
  putSchedule,
  removeSchedule,
} from "./transitions_schedule.ts";
import { importJobs } from "./transitions_import.ts";
import {
  cancelFlow,
  enqueueFlow,
  getFlow,
  parentResults,
} from "./transitions_flows.ts";
import { checkLimits, getLimits, setLimits } from "./limits.ts";
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
    ...leaseCalls(db),
    ...jobCalls(db),
    ...controlCalls(db),
    ...scheduleCalls(db),
    ...flowCalls(db),
    ...limitCalls(db),
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
      try {
        await watcher?.close();
        await db.close();
      } finally {
        events.stop();
      }
    },
  };
}

type LeaseCalls = Pick<
  Backend,
  "claim" | "heartbeat" | "update" | "complete" | "fail" | "release"
>;

/**
 * The calls a worker makes: claims, and the calls on the jobs it holds. A
 * lease token is a random prefix per claim and the job's sequence: it tells
 * nothing that the job's id or the order of claims would let one guess.
 */
function leaseCalls(db: Db): LeaseCalls {
  return {
    claim(queue, request: ClaimRequest) {
      const token = `${crypto.randomUUID()}.`;
      return db.write(
        queue,
        request.now,
        (tx) => claimJobs(tx, queue, request, token),
      );
    },
    heartbeat(queue, { id, token }, { leaseMs, now }) {
      return db.write(
        queue,
        now,
        (tx) => extendLease(tx, queue, id, token, now + leaseMs),
      );
    },
    update(queue, { id, token }, change) {
      return db.write(
        queue,
        change.now,
        (tx) => setProgress(tx, queue, id, token, change),
      );
    },
    complete: batchedComplete(db),
    fail(queue, { id, token }, failure) {
      return db.write(
        queue,
        failure.now,
        (tx) => failJob(tx, queue, id, token, failure),
      );
    },
    release(queue, leases: readonly LeaseRef[], { now, runAt }) {
      return db.write(
        queue,
        now,
        (tx) => releaseJobs(tx, queue, leases, now, runAt),
      );
    },
  };
}

type JobCalls = Pick<
  Backend,
  | "enqueue"
  | "enqueueClaim"
  | "cancel"
  | "retry"
  | "remove"
  | "get"
  | "list"
  | "stats"
>;

/** The calls a queue makes on jobs: enqueue, manage, read. */
function jobCalls(db: Db): JobCalls {
  return {
    enqueue(queue, jobs: readonly NewJobRecord[], { now }) {
      return db.write(queue, now, (tx) => enqueueJobs(tx, queue, jobs, now));
    },
    enqueueClaim(queue, jobs, request) {
      const token = `${crypto.randomUUID()}.`;
      return db.write(
        queue,
        request.now,
        (tx) => enqueueClaimJobs(tx, queue, jobs, request, token),
      );
    },
    cancel(queue, id, { reason, now }) {
      return db.write(
        queue,
        now,
        (tx) => cancelJob(tx, queue, id, reason, now),
      );
    },
    retry(queue, id, { now }) {
      return db.write(queue, now, (tx) => retryJob(tx, queue, id, now));
    },
    remove(queue, id, { now }) {
      return db.write(queue, now, (tx) => removeJob(tx, queue, id, now));
    },
    get(queue, id, { now }) {
      return db.read((c) => getJob(c, queue, id, now));
    },
    list(queue, request: ListRequest) {
      return db.read((c) => listJobs(c, queue, request));
    },
    stats(queue, { now }): Promise<QueueStats> {
      return db.read((c) => queueStats(c, queue, now));
    },
  };
}

type ControlCalls = Pick<
  Backend,
  "setPaused" | "pausedState" | "reschedule" | "clean"
>;

/** The flow-control calls: pause, resume, reschedule, clean. */
function controlCalls(db: Db): ControlCalls {
  return {
    setPaused(queue, { type, paused, now }) {
      return db.write(
        queue,
        now,
        (tx) => setPaused(tx, queue, type, paused, now),
      );
    },
    pausedState(queue) {
      return db.read((c) => pausedState(c, queue));
    },
    reschedule(queue, id, change) {
      return db.write(
        queue,
        change.now,
        (tx) => rescheduleJob(tx, queue, id, change),
      );
    },
    clean(queue, request) {
      return db.write(
        queue,
        request.now,
        (tx) => cleanJobs(tx, queue, request),
      );
    },
  };
}

type ScheduleCalls = BackendSchedules & BackendImport;

/** The schedule calls (put, remove, list, fire) and the import. */
function scheduleCalls(db: Db): ScheduleCalls {
  return {
    putSchedule: (queue, schedule, { now }) =>
      db.write(queue, now, (tx) => putSchedule(tx, queue, schedule)),
    removeSchedule: (queue, name, { now }) =>
      db.write(queue, now, (tx) => removeSchedule(tx, queue, name)),
    listSchedules: (queue, { dueBy }) =>
      db.read((c) => listSchedules(c, queue, dueBy)),
    fireSchedule: (queue, fire, { now }) =>
      db.write(queue, now, (tx) => fireSchedule(tx, queue, fire, now)),
    importJobs: (queue, jobs, { now }) =>
      db.write(queue, now, (tx) => importJobs(tx, queue, jobs, now)),
  };
}

/** The flow calls (SPEC §12): store, cancel and read flows. */
function flowCalls(db: Db): BackendFlows {
  return {
    enqueueFlow: (queue, { id, jobs }, { now }) =>
      db.write(queue, now, (tx) => enqueueFlow(tx, queue, id, jobs, now)),
    cancelFlow: (queue, id, { reason, now }) =>
      db.write(queue, now, (tx) => cancelFlow(tx, queue, id, reason, now)),
    getFlow: (queue, id, { now }) => db.read((c) => getFlow(c, queue, id, now)),
    parentResults: (queue, id, { now }) =>
      db.read((c) => parentResults(c, queue, id, now)),
  };
}

/** The limit calls (SPEC §7.3): store and read a queue's limits. */
function limitCalls(db: Db): BackendLimits {
  return {
    setLimits: (queue, limits, { now }) =>
      db.write(queue, now, (tx) => setLimits(tx, queue, limits, now)),
    getLimits: (queue) => db.read((c) => getLimits(c, queue)),
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
