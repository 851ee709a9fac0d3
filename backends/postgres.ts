/**
 * The PostgreSQL backend, on npm `postgres` (porsager's client). One jobs
 * table per schema serves every queue of the backend (a `queue` column);
 * claims use `FOR UPDATE SKIP LOCKED`; updates and wake-ups travel by
 * LISTEN/NOTIFY on one channel per queue. Every transition is one statement.
 *
 * This file owns the factory, its options and the transitions; the SQL lives
 * in `_postgres_sql.ts`, the notifications in `_postgres_events.ts`. It must
 * never end a client the user passed in.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { setImmediate } from "node:timers";
import postgres from "postgres";
import type {
  Backend,
  EnqueueOutcome,
  JobRecord,
  LeaseRef,
  NewJobRecord,
  UpdateRecord,
} from "../src/backend.ts";
import { updateRecordOf } from "../src/codec.ts";
import {
  BackendError,
  LeaseLostError,
  toBackendError,
  ValidationError,
} from "../src/errors.ts";
import type {
  BackendCapabilities,
  QueueStats,
  StatusCounts,
} from "../src/types.ts";
import { createEvents } from "./_postgres_events.ts";
import {
  bootstrap,
  migrations,
  type Statements,
  statements,
} from "./_postgres_sql.ts";

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

const SCHEMA = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const CANCELLED = "CancelledError";

interface Row {
  [column: string]: unknown;
}

/** A raw jobs row as the statements return it. */
function toRecord(r: Row): JobRecord {
  return {
    id: r.id as string,
    type: r.type as string,
    data: r.data as string,
    priority: r.priority as number,
    maxAttempts: r.max_attempts as number,
    runAt: r.run_at as number,
    createdAt: r.created_at as number,
    ttl: r.ttl as number | null,
    expiresAt: r.expires_at as number | null,
    key: r.key as string | null,
    metadata: r.metadata as string,
    status: r.status as JobRecord["status"],
    progress: r.progress as number,
    message: r.message as string,
    result: r.result as string | null,
    error: r.error === null ? null : JSON.parse(r.error as string),
    attempt: r.attempt as number,
    updatedAt: r.updated_at as number,
    startedAt: r.started_at as number | null,
    completedAt: r.completed_at as number | null,
    lease: r.lease_token === null
      ? null
      : { token: r.lease_token as string, until: r.lease_until as number },
    version: r.version as number,
  };
}

function emptyCounts(): StatusCounts {
  return { pending: 0, processing: 0, complete: 0, failed: 0, cancelled: 0 };
}

/** Splits `schema` off a URL's query; checks the scheme. */
function parseUrl(url: string): { url: string; schema: string | undefined } {
  if (!/^postgres(ql)?:\/\//i.test(url)) {
    throw new ValidationError(
      `Cannot create postgres backend as 'url' must start with postgres:// or postgresql://: current value is ${
        JSON.stringify(url)
      }`,
    );
  }
  const q = url.indexOf("?");
  if (q < 0) return { url, schema: undefined };
  const params = new URLSearchParams(url.slice(q + 1));
  const schema = params.get("schema") ?? undefined;
  params.delete("schema");
  const rest = params.toString();
  return { url: url.slice(0, q) + (rest ? `?${rest}` : ""), schema };
}

interface Pending {
  id: string;
  token: string;
  result: string;
  now: number;
  resolve: () => void;
  reject: (err: unknown) => void;
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
export function postgresBackend(options: PostgresBackendOptions): Backend {
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
    const parsed = parseUrl(options.url);
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
    connection: { application_name: "jobline" },
  });
  const schemaName: string = schema;
  const s: Statements = statements(schemaName);
  const prepare = { prepare: true } as const;
  const channels = new Map<string, string>();
  const lastNow = new Map<string, number>();
  const completes = new Map<string, Pending[]>();
  const flushing = new Set<Promise<void>>();
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

  async function flush(queue: string): Promise<void> {
    const batch = completes.get(queue);
    completes.delete(queue);
    if (batch === undefined || batch.length === 0) return;
    try {
      const rows = await sql.unsafe(s.complete, [
        queue,
        channel(queue),
        JSON.stringify(
          batch.map((p) => ({
            id: p.id,
            token: p.token,
            result: p.result,
            now: p.now,
          })),
        ),
      ], prepare);
      const done = new Set(rows.map((r) => r.id as string));
      for (const p of batch) {
        if (done.has(p.id)) p.resolve();
        else p.reject(new LeaseLostError(p.id));
      }
    } catch (err) {
      const error = toBackendError(err, "postgres complete");
      for (const p of batch) p.reject(error);
    }
  }

  function scheduleFlush(queue: string): void {
    setImmediate(() => {
      const f = flush(queue);
      flushing.add(f);
      void f.finally(() => flushing.delete(f));
    });
  }

  async function sweep(): Promise<void> {
    for (const [queue, now] of lastNow) {
      if (closed) return;
      try {
        for (let i = 0; i < 100 && !closed; i++) {
          const [row] = await sql.unsafe(s.sweep, [queue, now, 1000], prepare);
          if ((row?.n as number) < 1000) break;
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
  (sweepTimer as { unref?: () => void }).unref?.();

  async function reread(
    queue: string,
    id: string,
  ): Promise<UpdateRecord | null> {
    const [row] = await sql.unsafe(s.reread, [queue, id], prepare);
    return row === undefined ? null : updateRecordOf(toRecord(row));
  }

  const events = createEvents(
    sql as unknown as Parameters<typeof createEvents>[0],
    reread,
  );

  const capabilities: BackendCapabilities = {
    persistence: true,
    multiProcess: true,
    crossProcessEvents: true,
    clustering: false,
    wakeups: true,
    transactionalEnqueue: true,
  };

  function leaseLost(ref: LeaseRef): never {
    throw new LeaseLostError(ref.id);
  }

  return {
    name: "postgres",
    capabilities,

    async enqueue(queue, jobs: readonly NewJobRecord[], { now, tx }) {
      if (jobs.length === 0) return [];
      let db: PostgresClient = sql;
      if (tx !== undefined) {
        if (
          tx === null || typeof (tx as PostgresClient).unsafe !== "function"
        ) {
          throw new ValidationError(
            "Cannot enqueue job as 'tx' must be a transaction of npm 'postgres' (the argument of sql.begin's callback)",
          );
        }
        db = tx as PostgresClient;
      }
      return await run("enqueue", queue, now, async () => {
        const keys = [
          ...new Set(jobs.flatMap((j) => j.key === null ? [] : [j.key])),
        ];
        if (keys.length > 0) {
          await db.unsafe(s.dropExpiredHolders, [
            queue,
            now,
            JSON.stringify(keys),
          ], prepare);
        }
        const outcomes: (EnqueueOutcome | undefined)[] = jobs.map(() =>
          undefined
        );
        let todo = jobs.map((job, i) => ({ job, i }));
        for (let round = 0; todo.length > 0; round++) {
          const rows = await db.unsafe(s.insert, [
            queue,
            channel(queue),
            JSON.stringify(todo.map(({ job }) => ({
              id: job.id,
              type: job.type,
              data: job.data,
              priority: job.priority,
              max_attempts: job.maxAttempts,
              run_at: job.runAt,
              created_at: job.createdAt,
              ttl: job.ttl,
              expires_at: job.expiresAt,
              key: job.key,
              metadata: job.metadata,
            }))),
          ], prepare);
          const created = new Set(rows.map((r) => r.id as string));
          const left = todo.filter((t) => !created.has(t.job.id));
          for (const t of todo) {
            if (created.has(t.job.id)) {
              outcomes[t.i] = { id: t.job.id, created: true };
            }
          }
          if (left.length === 0) break;
          const holders = new Map<string, string>();
          for (
            const r of await db.unsafe(s.holders, [
              queue,
              JSON.stringify([...new Set(left.map((t) => t.job.key!))]),
            ], prepare)
          ) holders.set(r.held_key as string, r.id as string);
          todo = [];
          for (const t of left) {
            const holder = holders.get(t.job.key!);
            if (holder !== undefined) {
              outcomes[t.i] = { id: holder, created: false };
            } else if (round < 5) todo.push(t); // the holder finished meanwhile
            else throw new BackendError("postgres enqueue: key contention");
          }
        }
        return outcomes as EnqueueOutcome[];
      });
    },

    claim(queue, { types, limit, leaseMs, now }) {
      return run("claim", queue, now, async () => {
        const out: JobRecord[] = [];
        for (let round = 0; round < 3 && out.length < limit; round++) {
          const rows = await sql.unsafe(s.claim, [
            queue,
            now,
            channel(queue),
            types === null ? null : JSON.stringify(types),
            limit - out.length,
            leaseMs,
          ], prepare);
          for (const r of rows) if (r.id !== null) out.push(toRecord(r));
          // Leases that just expired were not visible to this claim's pick.
          if (((rows[0]?.expired as number) ?? 0) === 0) break;
        }
        if (out.length > 1) out.sort((a, b) => b.priority - a.priority);
        return out;
      });
    },

    heartbeat(queue, ref, { leaseMs, now }) {
      return run("heartbeat", queue, now, async () => {
        const [row] = await sql.unsafe(s.heartbeat, [
          queue,
          ref.id,
          ref.token,
          now,
          leaseMs,
        ], prepare);
        return row === undefined ? leaseLost(ref) : row.until as number;
      });
    },

    update(queue, ref, { progress, message, now }) {
      return run("update", queue, now, async () => {
        const [row] = await sql.unsafe(s.update, [
          queue,
          ref.id,
          ref.token,
          now,
          channel(queue),
          progress ?? null,
          message ?? null,
        ], prepare);
        if (row?.changed !== 1) leaseLost(ref);
      });
    },

    complete(queue, ref, result, { now }) {
      return run("complete", queue, now, () => {
        let batch = completes.get(queue);
        if (batch === undefined || batch.some((p) => p.id === ref.id)) {
          if (batch !== undefined) void flush(queue);
          completes.set(queue, batch = []);
          scheduleFlush(queue);
        }
        return new Promise<void>((resolve, reject) => {
          batch.push({
            id: ref.id,
            token: ref.token,
            result,
            now,
            resolve,
            reject,
          });
        });
      });
    },

    fail(queue, ref, { error, retryAt, now }) {
      return run("fail", queue, now, async () => {
        const [row] = await sql.unsafe(s.fail, [
          queue,
          ref.id,
          ref.token,
          now,
          channel(queue),
          JSON.stringify(error),
          retryAt,
        ], prepare);
        if (row === undefined) leaseLost(ref);
        return row.status as "pending" | "failed";
      });
    },

    cancel(queue, id, { reason, now }) {
      return run("cancel", queue, now, async () => {
        const [row] = await sql.unsafe(s.cancel, [
          queue,
          id,
          now,
          channel(queue),
          JSON.stringify({ name: CANCELLED, message: reason }),
        ], prepare);
        return row?.changed === 1;
      });
    },

    retry(queue, id, { now }) {
      return run("retry", queue, now, async () => {
        const args = [queue, id, now, channel(queue), true];
        try {
          return (await sql.unsafe(s.retry, args, prepare)).length > 0;
        } catch (err) {
          // Another job took the key at the same moment: retry without it.
          if ((err as { code?: string }).code !== "23505") throw err;
          args[4] = false;
          return (await sql.unsafe(s.retry, args, prepare)).length > 0;
        }
      });
    },

    remove(queue, id, { now }) {
      return run("remove", queue, now, async () => {
        const [row] = await sql.unsafe(s.remove, [
          queue,
          id,
          now,
          channel(queue),
        ], prepare);
        return row?.live === true;
      });
    },

    get(queue, id, { now }) {
      return run("get", queue, now, async () => {
        const [row] = await sql.unsafe(s.get, [queue, id, now], prepare);
        return row === undefined ? null : toRecord(row);
      });
    },

    list(queue, { status, type, limit, after, now }) {
      return run("list", queue, now, async () => {
        const rows = await sql.unsafe(s.list, [
          queue,
          now,
          status,
          type,
          after,
          limit,
        ], prepare);
        return rows.map(toRecord);
      });
    },

    stats(queue, { now }): Promise<QueueStats> {
      return run("stats", queue, now, async () => {
        await sql.unsafe(s.expire, [queue, now, channel(queue)], prepare);
        const rows = await sql.unsafe(s.stats, [queue, now], prepare);
        const stats: QueueStats = { ...emptyCounts(), byType: {} };
        for (const r of rows) {
          const status = r.status as keyof StatusCounts;
          const n = r.n as number;
          stats[status] += n;
          (stats.byType[r.type as string] ??= emptyCounts())[status] += n;
        }
        return stats;
      });
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
      await Promise.allSettled([
        ...[...completes.keys()].map(flush),
        ...flushing,
      ]);
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
