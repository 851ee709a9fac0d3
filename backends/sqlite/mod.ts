/**
 * The SQLite backend, on the `node:sqlite` module built into Deno, Node and
 * Bun. One file in WAL mode may be shared by several processes on one
 * machine: every transition is one `BEGIN IMMEDIATE` transaction, claims
 * are one `UPDATE ... RETURNING` over the best due rows, and events reach
 * other processes through an updates log table read by a tailer.
 *
 * This is the only module that imports `node:sqlite`; the main entry loads
 * it only when a `sqlite:` URL or this factory is used.
 *
 * @module
 */

import type {
  Backend,
  BackendEvent,
  ClaimRequest,
  LeaseRef,
  ListRequest,
  NewJobRecord,
  Topic,
} from "../../src/backend/interface.ts";
import {
  BackendError,
  toBackendError,
  ValidationError,
} from "../../src/errors.ts";
import type { BackendCapabilities, QueueStats } from "../../src/types.ts";
import {
  type Connection,
  createWriter,
  openConnection,
  type Tx,
} from "./db.ts";
import {
  createHub,
  createTailer,
  createTrimmer,
  logSource,
  type Tailer,
  unref,
} from "./events.ts";
import {
  cancelJob,
  claimJobs,
  completeJob,
  countJobs,
  deleteExpired,
  enqueueJobs,
  extendLease,
  failJob,
  getJob,
  listJobs,
  releaseJobs,
  removeJob,
  retryJob,
  setProgress,
} from "./transitions.ts";
import {
  checkSqliteOptions,
  parseSqliteUrl,
  type SqliteConfig,
} from "./url.ts";

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
export function sqliteBackend(options: SqliteBackendOptions): Backend {
  const config = configOf(options);
  const file = config.path !== ":memory:";
  const origin = randomOrigin();
  const tokenPrefix = `${origin.toString(36)}.`;
  // A background failure is reported once, until a run succeeds again; a
  // busy file is not a failure (the next run tries again).
  let failing = false;
  const report = (err: unknown) => {
    if (failing || /locked|busy/i.test(String(err))) return;
    failing = true;
    console.error("jobline: sqlite backend background task failed:", err);
  };
  const recovered = () => {
    failing = false;
  };
  const hub = createHub((err) =>
    console.error("jobline: a sqlite backend listener threw", err)
  );
  const lastNow = new Map<string, number>();
  let conn: Connection | undefined;
  let closed = false;
  let claims = 0;
  let housekeeping: ReturnType<typeof setInterval> | undefined;

  function connect(): Connection {
    if (closed) throw new BackendError("The sqlite backend is closed");
    if (conn !== undefined) return conn;
    conn = openConnection(config);
    housekeeping = setInterval(housekeep, config.housekeepingInterval);
    unref(housekeeping);
    return conn;
  }

  const writer = createWriter(
    connect,
    file ? origin : null,
    (events) => hub.deliverRows(events),
  );

  /** Runs a write; `now` is kept per queue for background expiry. */
  function write<T>(
    queue: string,
    now: number,
    op: (tx: Tx) => T,
  ): Promise<T> {
    if (closed) {
      return Promise.reject(new BackendError("The sqlite backend is closed"));
    }
    if (!(now <= (lastNow.get(queue) ?? -Infinity))) lastNow.set(queue, now);
    return writer.run(op);
  }

  /** Runs a read after the writes asked for before it. */
  function read<T>(run: (c: Connection) => T): Promise<T> {
    try {
      writer.flush();
      return Promise.resolve(run(connect()));
    } catch (err) {
      return Promise.reject(toBackendError(err, "sqlite read"));
    }
  }

  const tailer: Tailer | undefined = file
    ? createTailer(
      logSource(connect),
      hub,
      origin,
      config.eventInterval,
      report,
    )
    : undefined;

  const trimmer = file ? createTrimmer(config.eventRetention) : undefined;

  function housekeep(): void {
    if (closed) return;
    writer.run((tx) => {
      deleteExpired(tx, lastNow);
      trimmer?.(tx);
    }).then(recovered, report);
  }

  const capabilities: BackendCapabilities = {
    persistence: file,
    multiProcess: file,
    crossProcessEvents: file,
    clustering: false,
    wakeups: true,
    transactionalEnqueue: false,
  };

  return {
    name: "sqlite",
    capabilities,

    enqueue(queue, jobs: readonly NewJobRecord[], { now }) {
      return write(queue, now, (tx) => enqueueJobs(tx, queue, jobs, now));
    },

    claim(queue, request: ClaimRequest) {
      const token = `${tokenPrefix}${++claims}.`;
      return write(
        queue,
        request.now,
        (tx) => claimJobs(tx, queue, request, token),
      );
    },

    heartbeat(queue, { id, token }, { leaseMs, now }) {
      return write(
        queue,
        now,
        (tx) => extendLease(tx, queue, id, token, now + leaseMs),
      );
    },

    update(queue, { id, token }, change) {
      return write(
        queue,
        change.now,
        (tx) => setProgress(tx, queue, id, token, change),
      );
    },

    complete(queue, { id, token }, result, { now }) {
      return write(
        queue,
        now,
        (tx) => completeJob(tx, queue, id, token, result, now),
      );
    },

    fail(queue, { id, token }, failure) {
      return write(
        queue,
        failure.now,
        (tx) => failJob(tx, queue, id, token, failure),
      );
    },

    release(queue, leases: readonly LeaseRef[], { now }) {
      return write(queue, now, (tx) => releaseJobs(tx, queue, leases, now));
    },

    cancel(queue, id, { reason, now }) {
      return write(queue, now, (tx) => cancelJob(tx, queue, id, reason, now));
    },

    retry(queue, id, { now }) {
      return write(queue, now, (tx) => retryJob(tx, queue, id, now));
    },

    remove(queue, id, { now }) {
      return write(queue, now, (tx) => removeJob(tx, queue, id, now));
    },

    get(queue, id, { now }) {
      return read((c) => getJob(c, queue, id, now));
    },

    list(queue, request: ListRequest) {
      return read((c) => listJobs(c, queue, request));
    },

    stats(queue, { now }): Promise<QueueStats> {
      return read((c) => countJobs(c, queue, now));
    },

    listen(queue, topic: Topic, listener: (event: BackendEvent) => void) {
      try {
        connect();
        const remove = hub.add(queue, topic, listener);
        tailer?.start();
        return Promise.resolve(() => {
          remove();
          if (hub.size === 0) tailer?.stop();
          return Promise.resolve();
        });
      } catch (err) {
        return Promise.reject(err);
      }
    },

    close() {
      if (closed) return Promise.resolve();
      try {
        writer.flush();
      } finally {
        closed = true;
        tailer?.stop();
        clearInterval(housekeeping);
        try {
          conn?.db.close();
        } catch { /* closing is best effort */ }
        conn = undefined;
      }
      return Promise.resolve();
    },
  };
}

function configOf(options: SqliteBackendOptions): SqliteConfig {
  if (options === null || typeof options !== "object") {
    throw new ValidationError(
      "Cannot open the SQLite backend as the options must be an object " +
        "with a 'url' or a 'path'",
    );
  }
  const { url, path, ...rest } = options;
  if ((url === undefined) === (path === undefined)) {
    throw new ValidationError(
      "Cannot open the SQLite backend as it needs exactly one of 'url' " +
        "and 'path'",
    );
  }
  if (url !== undefined) {
    const fromUrl = parseSqliteUrl(url);
    return Object.keys(rest).length === 0
      ? fromUrl
      : checkSqliteOptions(fromUrl.path, { ...fromUrl, ...rest });
  }
  return checkSqliteOptions(path, rest);
}

function randomOrigin(): number {
  const [a, b] = crypto.getRandomValues(new Uint32Array(2));
  return (a! % 65536) * 2 ** 32 + b! + 1;
}
