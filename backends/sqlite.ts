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
  EnqueueOutcome,
  JobRecord,
  ListRequest,
  NewJobRecord,
  Topic,
} from "../src/backend.ts";
import {
  BackendError,
  LeaseLostError,
  ValidationError,
} from "../src/errors.ts";
import type { BackendCapabilities, QueueStats } from "../src/types.ts";
import {
  type Connection,
  createWriter,
  openConnection,
  type Tx,
} from "./_sqlite_db.ts";
import {
  createHub,
  createTailer,
  type EventRow,
  type Tailer,
  unref,
} from "./_sqlite_events.ts";
import {
  bestFirst,
  type JobRow,
  recordOf,
  statsOf,
  updateOf,
  type UpdateRow,
} from "./_sqlite_rows.ts";
import * as SQL from "./_sqlite_sql.ts";
import {
  checkSqliteOptions,
  parseSqliteUrl,
  type SqliteConfig,
} from "./_sqlite_url.ts";

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
   * @default {10000}
   */
  eventRetention?: number;
  /**
   * How often (ms) expired jobs and old events are deleted.
   * @default {1000}
   */
  housekeepingInterval?: number;
}

const EXPIRED_BATCH = 500;
const TRIM_BATCH = 50_000;

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
  const report = (err: unknown) =>
    console.error("jobline: sqlite backend background task failed:", err);
  const hub = createHub((err) =>
    console.error("jobline: a sqlite backend listener threw", err)
  );
  const lastNow = new Map<string, number>();
  let conn: Connection | undefined;
  let closed = false;
  let claims = 0;
  let housekeeping: ReturnType<typeof setInterval> | undefined;
  const snapshots: { at: number; id: number }[] = [];

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
    (queue, event) => hub.deliver(queue, event),
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
      return Promise.reject(err);
    }
  }

  const tailer: Tailer | undefined = file
    ? createTailer(
      {
        changed: (() => {
          let seen: unknown;
          return () => {
            const v = connect().stmt(SQL.DATA_VERSION).get() as Record<
              string,
              unknown
            >;
            const now = v["data_version"];
            const moved = now !== seen;
            seen = now;
            return moved;
          };
        })(),
        maxId: () =>
          (connect().stmt(SQL.EVENTS_MAX).get() as { id: number }).id,
        minId: () =>
          (connect().stmt(SQL.EVENTS_MIN).get() as { id: number | null }).id,
        read: (after, limit) =>
          connect().stmt(SQL.EVENTS_READ).all(
            after,
            limit,
          ) as unknown as EventRow[],
      },
      hub,
      origin,
      config.eventInterval,
      report,
    )
    : undefined;

  function housekeep(): void {
    if (closed) return;
    writer.run((tx) => {
      for (const [queue, now] of lastNow) {
        tx.stmt(SQL.DELETE_EXPIRED).run(queue, now, EXPIRED_BATCH);
      }
      if (!file) return;
      const at = Date.now();
      const max = (tx.stmt(SQL.EVENTS_MAX).get() as { id: number }).id;
      snapshots.push({ at, id: max });
      let cut = 0;
      while (
        snapshots.length > 0 && snapshots[0]!.at <= at - config.eventRetention
      ) {
        cut = snapshots.shift()!.id;
      }
      if (cut === 0) return;
      const min = (tx.stmt(SQL.EVENTS_MIN).get() as { id: number | null }).id;
      if (min !== null && min <= cut) {
        tx.stmt(SQL.EVENTS_TRIM).run(Math.min(cut, min + TRIM_BATCH - 1));
      }
    }).catch(report);
  }

  const claimStatements = new Map<number, string>();

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
      return write(queue, now, (tx) => {
        const outcomes: EnqueueOutcome[] = [];
        let wakeAt = Infinity;
        for (const job of jobs) {
          if (job.key !== null) {
            tx.stmt(SQL.DROP_EXPIRED_HOLDER).run(queue, now, job.key);
          }
          const inserted = tx.stmt(SQL.INSERT_JOB).get(
            queue,
            job.id,
            job.type,
            job.data,
            job.priority,
            job.maxAttempts,
            job.runAt,
            job.createdAt,
            job.ttl,
            job.expiresAt,
            job.key,
            job.metadata,
            job.runAt > now ? 1 : 0,
          );
          if (inserted === undefined) {
            const holder = tx.stmt(SQL.KEY_HOLDER).get(queue, job.key) as {
              id: string;
            };
            outcomes.push({ id: holder.id, created: false });
            continue;
          }
          outcomes.push({ id: job.id, created: true });
          if (job.runAt < wakeAt) wakeAt = job.runAt;
          tx.emit(queue, {
            kind: "update",
            update: {
              jobId: job.id,
              type: job.type,
              status: "pending",
              progress: 0,
              message: "",
              attempt: 0,
              result: null,
              error: null,
              at: job.createdAt,
              version: 1,
            },
          });
        }
        if (wakeAt !== Infinity) tx.emit(queue, { kind: "wake", at: wakeAt });
        return outcomes;
      });
    },

    claim(queue, { types, limit, leaseMs, now }: ClaimRequest) {
      return write(queue, now, (tx) => {
        const expired = tx.stmt(SQL.EXPIRE_LEASES).all(
          queue,
          now,
        ) as unknown as UpdateRow[];
        for (const row of expired) {
          tx.emit(queue, { kind: "cancel", jobId: row.id });
          tx.emit(queue, { kind: "update", update: updateOf(row) });
        }
        tx.stmt(SQL.PROMOTE_DELAYED).run(queue, now);
        const token = `${tokenPrefix}${++claims}.`;
        let rows: JobRow[];
        if (types === null) {
          rows = tx.stmt(SQL.CLAIM_ANY).all(
            queue,
            now,
            limit,
            token,
            now + leaseMs,
          ) as unknown as JobRow[];
        } else {
          let sql = claimStatements.get(types.length);
          if (sql === undefined) {
            claimStatements.set(
              types.length,
              sql = SQL.claimTypes(types.length),
            );
          }
          rows = tx.stmt(sql).all(
            queue,
            now,
            limit,
            token,
            now + leaseMs,
            ...types,
          ) as unknown as JobRow[];
        }
        if (rows.length > 1) rows.sort(bestFirst);
        const records: JobRecord[] = [];
        for (const row of rows) {
          const record = recordOf(row);
          records.push(record);
          tx.emit(queue, { kind: "update", update: updateOf(row) });
        }
        return records;
      });
    },

    heartbeat(queue, ref, { leaseMs, now }) {
      return write(queue, now, (tx) => {
        const row = tx.stmt(SQL.HEARTBEAT).get(
          queue,
          ref.id,
          ref.token,
          now + leaseMs,
        ) as { lease_until: number } | undefined;
        if (row === undefined) throw new LeaseLostError(ref.id);
        return row.lease_until;
      });
    },

    update(queue, ref, { progress, message, now }) {
      return write(queue, now, (tx) => {
        const row = tx.stmt(SQL.UPDATE_PROGRESS).get(
          queue,
          ref.id,
          ref.token,
          now,
          progress ?? null,
          message ?? null,
        ) as UpdateRow | undefined;
        if (row === undefined) throw new LeaseLostError(ref.id);
        tx.emit(queue, { kind: "update", update: updateOf(row) });
      });
    },

    complete(queue, ref, result, { now }) {
      return write(queue, now, (tx) => {
        const row = tx.stmt(SQL.COMPLETE).get(
          queue,
          ref.id,
          ref.token,
          now,
          result,
        ) as UpdateRow | undefined;
        if (row === undefined) throw new LeaseLostError(ref.id);
        tx.emit(queue, { kind: "update", update: updateOf(row) });
      });
    },

    fail(queue, ref, { error, retryAt, now }) {
      return write(queue, now, (tx) => {
        const row = tx.stmt(SQL.FAIL).get(
          queue,
          ref.id,
          ref.token,
          now,
          JSON.stringify(error),
          retryAt,
        ) as UpdateRow | undefined;
        if (row === undefined) throw new LeaseLostError(ref.id);
        if (retryAt !== null) tx.emit(queue, { kind: "wake", at: retryAt });
        tx.emit(queue, { kind: "update", update: updateOf(row) });
        return row.status as "pending" | "failed";
      });
    },

    cancel(queue, id, { reason, now }) {
      return write(queue, now, (tx) => {
        const before = tx.stmt(SQL.STATE_OF).get(queue, now, id) as
          | { state: number }
          | undefined;
        if (before === undefined || before.state === 3) return false;
        const row = tx.stmt(SQL.CANCEL).get(
          queue,
          now,
          id,
          JSON.stringify({ name: "CancelledError", message: reason }),
        ) as UpdateRow | undefined;
        if (row === undefined) return false;
        if (before.state === 2) tx.emit(queue, { kind: "cancel", jobId: id });
        tx.emit(queue, { kind: "update", update: updateOf(row) });
        return true;
      });
    },

    retry(queue, id, { now }) {
      return write(queue, now, (tx) => {
        tx.stmt(SQL.DROP_EXPIRED_HOLDER_OF).run(queue, now, id);
        const row = tx.stmt(SQL.RETRY).get(queue, now, id) as
          | UpdateRow
          | undefined;
        if (row === undefined) return false;
        tx.emit(queue, { kind: "update", update: updateOf(row) });
        tx.emit(queue, { kind: "wake", at: now });
        return true;
      });
    },

    remove(queue, id, { now }) {
      return write(queue, now, (tx) => {
        const row = tx.stmt(SQL.REMOVE).get(queue, now, id) as
          | { state: number }
          | undefined;
        if (row === undefined) return false;
        if (row.state === 2) tx.emit(queue, { kind: "cancel", jobId: id });
        return true;
      });
    },

    get(queue, id, { now }) {
      return read((c) => {
        const row = c.stmt(SQL.GET).get(queue, now, id) as JobRow | undefined;
        return row === undefined ? null : recordOf(row);
      });
    },

    list(queue, { status, type, limit, after, now }: ListRequest) {
      return read((c) =>
        (c.stmt(SQL.LIST).all(
          queue,
          now,
          after ?? "",
          limit,
          status,
          type,
        ) as unknown as JobRow[]).map(recordOf)
      );
    },

    stats(queue, { now }): Promise<QueueStats> {
      return read((c) =>
        statsOf(
          c.stmt(SQL.STATS).all(queue, now) as unknown as Parameters<
            typeof statsOf
          >[0],
        )
      );
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
