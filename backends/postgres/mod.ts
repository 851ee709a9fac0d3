/**
 * The PostgreSQL backend, on npm `postgres` (porsager's client). One jobs
 * table per schema serves every queue of the backend (a `queue` column);
 * claims use `FOR UPDATE SKIP LOCKED`; updates and wake-ups travel by
 * LISTEN/NOTIFY on one channel per queue. Every transition is one statement.
 *
 * This file owns the factory, its options and the backend's life (migrations,
 * closing, error wrapping); the transitions live in `_postgres_store.ts`, the
 * SQL in `_postgres_sql.ts`, the notifications in `_postgres_events.ts`. It
 * must never end a client the user passed in.
 *
 * @module
 */

import { createHash } from "node:crypto";
import postgres from "postgres";
import type { Backend, NewJobRecord } from "../../src/backend/interface.ts";
import {
  BackendError,
  toBackendError,
  ValidationError,
} from "../../src/errors.ts";
import type { BackendCapabilities } from "../../src/types.ts";
import { createEvents } from "./events.ts";
import { createStore } from "./transitions.ts";
import { bootstrap, migrations, type Statements, statements } from "./sql.ts";
import { parsePostgresUrl, SCHEMA } from "./url.ts";

/**
 * A porsager client (`postgres(...)`) or a transaction of one.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import type { PostgresClient } from "@jobline/jobline/postgres";
 * const sql: PostgresClient = postgres("postgres://localhost/app");
 * await sql.end();
 * ```
 */
// deno-lint-ignore no-explicit-any
export type PostgresClient = postgres.Sql<any>;

/**
 * A transaction of a porsager client: the argument of `sql.begin`'s
 * callback, which `queue.enqueue(type, data, { tx })` joins.
 *
 * @example
 * ```ts
 * import type { PostgresTransaction } from "@jobline/jobline/postgres";
 * const insert = (tx: PostgresTransaction) => tx`insert into users (email) values ('a@example.com')`;
 * ```
 */
// deno-lint-ignore no-explicit-any
export type PostgresTransaction = postgres.TransactionSql<any>;

/**
 * Options of {@linkcode postgresBackend}: a `url` (the backend makes and
 * owns its client) or `sql` (your client; you close it).
 *
 * @example
 * ```ts
 * import type { PostgresBackendOptions } from "@jobline/jobline/postgres";
 * const o: PostgresBackendOptions = { url: "postgres://localhost/app", schema: "jobs", poolSize: 10 };
 * ```
 */
export interface PostgresBackendOptions {
  /**
   * `postgres://` or `postgresql://` URL. A `schema` query parameter sets
   * the schema. Ignored when `sql` is given.
   */
  url?: string;
  /** Your own porsager client; the backend never ends it. */
  sql?: PostgresClient;
  /**
   * The schema of the jobs table, created on first use. Two schemas never
   * see each other's jobs.
   * @default {"jobline"}
   */
  schema?: string;
  /**
   * Connections in the pool the backend makes from `url` (plus one for
   * LISTEN).
   * @default {10}
   */
  poolSize?: number;
  /**
   * How often (ms) expired (TTL) jobs are deleted in the background, in
   * batches of 1,000.
   * @default {30000}
   */
  sweepInterval?: number;
}

/**
 * Makes a PostgreSQL backend. The schema and its table are created on first
 * use (migrations run under an advisory lock, so many processes may start at
 * once). Enqueue joins your transaction with `{ tx }`.
 *
 * @example A queue on PostgreSQL, with a transactional enqueue
 * ```ts ignore
 * import postgres from "postgres";
 * import { createQueue } from "@jobline/jobline";
 * import { postgresBackend } from "@jobline/jobline/postgres";
 *
 * const sql = postgres("postgres://localhost/app");
 * const queue = createQueue({ backend: postgresBackend({ sql }), name: "emails" });
 * await sql.begin(async (tx) => {
 *   await tx`insert into users (email) values ('a@example.com')`;
 *   await queue.enqueue("welcome", { to: "a@example.com" }, { tx });
 * }); // the job exists only if this transaction commits
 * await queue.close();
 * await sql.end();
 * ```
 *
 * @param options A `url` or your own `sql` client, and the schema.
 * @returns The backend.
 */
export function postgresBackend(
  options: PostgresBackendOptions,
): Backend<PostgresTransaction> {
  if (options === null || typeof options !== "object") {
    throw new ValidationError(
      "Cannot create postgres backend as 'options' must be an object",
    );
  }
  const { poolSize = 10, sweepInterval = 30_000 } = options;
  const owned = options.sql === undefined;
  let url: string | undefined;
  let schema = options.schema;
  if (options.sql !== undefined) {
    if (typeof options.sql?.unsafe !== "function") {
      throw new ValidationError(
        "Cannot create postgres backend as 'sql' must be a client of npm 'postgres'",
      );
    }
  } else {
    if (typeof options.url !== "string") {
      throw new ValidationError(
        "Cannot create postgres backend without 'url' or 'sql'",
      );
    }
    if (!Number.isInteger(poolSize) || poolSize < 1) {
      throw new ValidationError(
        `Cannot create postgres backend as 'poolSize' must be a positive integer: current value is ${poolSize}`,
      );
    }
    const parsed = parsePostgresUrl(options.url);
    url = parsed.url;
    schema ??= parsed.schema;
  }
  schema ??= "jobline";
  if (typeof schema !== "string" || !SCHEMA.test(schema)) {
    throw new ValidationError(
      `Cannot create postgres backend as 'schema' must be a plain identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63): current value is ${
        JSON.stringify(schema)
      }`,
    );
  }
  if (
    typeof sweepInterval !== "number" || !(sweepInterval > 0) ||
    sweepInterval > 2 ** 31 - 1
  ) {
    throw new ValidationError(
      `Cannot create postgres backend as 'sweepInterval' must be a positive number of ms: current value is ${sweepInterval}`,
    );
  }
  // The driver's own array types are not needed (batches travel as JSON),
  // and skipping their fetch keeps reconnects simple.
  const sql: PostgresClient = options.sql ?? postgres(url!, {
    max: poolSize,
    onnotice: () => {},
    fetch_types: false,
    // The driver waits before reconnecting a closed connection up to 20 s by
    // default (3^retries / 100 s, retries counted across the pool), and the
    // queries queued on it wait as long: after a server restart, work would
    // stall for tens of seconds. Retry fast instead, at most 1 s apart.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    connection: { application_name: "jobline" },
  });
  const schemaName: string = schema;
  const s: Statements = statements(schemaName);
  const channels = new Map<string, string>();
  const lastNow = new Map<string, number>();
  const inflight = new Set<Promise<unknown>>();
  let ready: Promise<void> | undefined;
  let closed = false;

  function channel(queue: string): string {
    let name = channels.get(queue);
    if (name === undefined) {
      name = `jobline:${schemaName}:${queue}`;
      if (new TextEncoder().encode(name).length > 63) {
        const hash = createHash("sha1").update(`${schemaName}\0${queue}`)
          .digest(
            "hex",
          );
        name = `jobline:${hash}`;
      }
      channels.set(queue, name);
    }
    return name;
  }

  const store = createStore(sql, s, channel);

  async function migrate(): Promise<void> {
    await sql.begin(async (t) => {
      await t.unsafe("SET LOCAL client_min_messages TO warning");
      await t.unsafe(s.lock, [schemaName]);
      await t.unsafe(bootstrap(schemaName));
      const [row] = await t.unsafe(s.version);
      const list = migrations(schemaName);
      for (let v = (row?.v as number) ?? 0; v < list.length; v++) {
        await t.unsafe(list[v]!);
        await t.unsafe(s.recordVersion, [v + 1]);
      }
    });
  }

  /** Runs a store call: closed check, schema ready, errors wrapped. */
  async function run<T>(
    what: string,
    queue: string,
    now: number,
    fn: () => Promise<T>,
  ): Promise<T> {
    if (closed) throw new BackendError("postgres backend is closed");
    if (!((lastNow.get(queue) ?? -Infinity) >= now)) lastNow.set(queue, now);
    const op = (async () => {
      try {
        await (ready ??= migrate().catch((err) => {
          ready = undefined;
          throw err;
        }));
        return await fn();
      } catch (err) {
        throw toBackendError(err, `postgres ${what}`);
      }
    })();
    inflight.add(op);
    void op.then(() => inflight.delete(op), () => inflight.delete(op));
    return await op;
  }

  async function sweep(): Promise<void> {
    for (const [queue, now] of lastNow) {
      if (closed) return;
      try {
        for (let i = 0; i < 100 && !closed; i++) {
          if ((await store.sweep(queue, now, 1000)) < 1000) break;
        }
      } catch {
        // The server is away; the next sweep tries again.
      }
    }
  }

  let sweeping = false;
  const sweepTimer = setInterval(() => {
    if (sweeping || ready === undefined) return;
    sweeping = true;
    void sweep().finally(() => (sweeping = false));
  }, sweepInterval);
  // The sweep alone must not keep a process alive (Node and Bun, then Deno).
  (sweepTimer as { unref?: () => void }).unref?.();
  (globalThis as { Deno?: { unrefTimer?(id: unknown): void } }).Deno
    ?.unrefTimer?.(sweepTimer);

  const events = createEvents(
    sql as unknown as Parameters<typeof createEvents>[0],
    (queue, id) => store.reread(queue, id),
  );

  const capabilities: BackendCapabilities = {
    persistence: true,
    multiProcess: true,
    crossProcessEvents: true,
    clustering: false,
    wakeups: true,
    transactionalEnqueue: true,
  };

  return {
    name: "postgres",
    capabilities,

    enqueue(queue, jobs: readonly NewJobRecord[], { now, tx }) {
      if (jobs.length === 0) return Promise.resolve([]);
      if (
        tx !== undefined &&
        (tx === null ||
          typeof (tx as { unsafe?: unknown }).unsafe !== "function")
      ) {
        return Promise.reject(
          new ValidationError(
            "Cannot enqueue job as 'tx' must be a transaction of npm 'postgres' (the argument of sql.begin's callback)",
          ),
        );
      }
      const db = (tx as PostgresClient | undefined) ?? sql;
      return run(
        "enqueue",
        queue,
        now,
        () => store.enqueue(db, queue, jobs, now),
      );
    },

    claim(queue, { types, limit, leaseMs, now }) {
      return run(
        "claim",
        queue,
        now,
        () => store.claim(queue, types, limit, leaseMs, now),
      );
    },

    heartbeat(queue, ref, { leaseMs, now }) {
      return run(
        "heartbeat",
        queue,
        now,
        () => store.heartbeat(queue, ref, leaseMs, now),
      );
    },

    update(queue, ref, { progress, message, now }) {
      return run(
        "update",
        queue,
        now,
        () => store.update(queue, ref, progress, message, now),
      );
    },

    complete(queue, ref, result, { now }) {
      return run(
        "complete",
        queue,
        now,
        () => store.complete(queue, ref, result, now),
      );
    },

    fail(queue, ref, { error, retryAt, now }) {
      return run(
        "fail",
        queue,
        now,
        () => store.fail(queue, ref, error, retryAt, now),
      );
    },

    release(queue, refs, { now }) {
      return run(
        "release",
        queue,
        now,
        () => store.release(queue, refs, now),
      );
    },

    cancel(queue, id, { reason, now }) {
      return run(
        "cancel",
        queue,
        now,
        () => store.cancel(queue, id, reason, now),
      );
    },

    retry(queue, id, { now }) {
      return run("retry", queue, now, () => store.retry(queue, id, now));
    },

    remove(queue, id, { now }) {
      return run("remove", queue, now, () => store.remove(queue, id, now));
    },

    get(queue, id, { now }) {
      return run("get", queue, now, () => store.get(queue, id, now));
    },

    list(queue, { status, type, limit, after, now }) {
      return run(
        "list",
        queue,
        now,
        () => store.list(queue, status, type, limit, after, now),
      );
    },

    stats(queue, { now }) {
      return run("stats", queue, now, () => store.stats(queue, now));
    },

    async listen(queue, topic, listener) {
      if (closed) throw new BackendError("postgres backend is closed");
      try {
        return await events.listen(queue, channel(queue), topic, listener);
      } catch (err) {
        throw toBackendError(err, "postgres listen");
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweepTimer);
      await store.flushAll();
      // Let calls already made finish (for a few seconds at most) ...
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([...inflight]),
        new Promise((resolve) => (timer = setTimeout(resolve, 5_000))),
      ]);
      clearTimeout(timer);
      await events.close();
      // ... then end at once: after a server restart the driver may keep a
      // dead connection busy forever, and a graceful end would wait for it.
      if (owned) await sql.end({ timeout: 0 });
    },
  };
}
