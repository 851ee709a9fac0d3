/**
 * The PostgreSQL backend, on npm `postgres` (porsager's client). One jobs
 * table per schema serves every queue of the backend (a `queue` column);
 * claims use `FOR UPDATE SKIP LOCKED`; updates and wake-ups travel by
 * LISTEN/NOTIFY on one channel per queue. Every transition is one statement.
 *
 * This file owns the factory, its options and their checks, the
 * capabilities, listen and close; `calls.ts` adapts the other Backend
 * methods to the transitions (limits: `transitions_limits.ts`). The
 * connection, migrations and closing are
 * in `db.ts`, the SQL in `sql.ts` (the enqueue's insert in
 * `sql_enqueue.ts`, the migrations in `sql_migrations.ts`, the claim
 * function in `sql_claim.ts`, retention's columns and the complete and
 * clean functions in `sql_retention.ts`, fail and cancel in `sql_fail.ts`,
 * their shared pieces in `sql_finish.ts`, final updates in
 * `sql_final.ts`, schedules in `sql_schedule.ts`, the import in
 * `sql_import.ts`, flows in `sql_flows*.ts`), row mapping in
 * `records.ts`, notifications in `events.ts`, who watches a queue's
 * updates in `watchers.ts` (its SQL in `sql_watchers.ts`), URLs in
 * `url.ts`. It must never end a client the user passed in.
 *
 * @module
 */

import type { Sql, TransactionSql } from "postgres";
import type { Backend } from "../../src/backend/interface.ts";
import type { BackendFlows } from "../../src/backend/interface_flows.ts";
import type { BackendLimits } from "../../src/backend/interface_limits.ts";
import { toBackendError, ValidationError } from "../../src/errors.ts";
import type { BackendCapabilities } from "../../src/types.ts";
import { backendCalls } from "./calls.ts";
import { type DbConfig, openDb } from "./db.ts";
import { createEvents, type ListenClient } from "./events.ts";
import { createTransitions } from "./transitions.ts";
import { createControlTransitions } from "./transitions_control.ts";
import { createFlowTransitions } from "./transitions_flows.ts";
import { createImport } from "./transitions_import.ts";
import { createLimitCalls } from "./transitions_limits.ts";
import { createScheduleTransitions } from "./transitions_schedule.ts";
import { parsePostgresUrl, SCHEMA, SYSTEM_SCHEMA } from "./url.ts";
import { ident } from "./sql.ts";
import { watcherStatements } from "./sql_watchers.ts";
import { createWatcher } from "./watchers.ts";

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
export type PostgresClient = Sql<any>;

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
export type PostgresTransaction = TransactionSql<any>;

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
   * LISTEN). From 5 on, one in five (two at most) is kept for the claims of
   * one queue each, the first queues to claim: a queue's claims then follow
   * each other on one connection.
   * @default {10}
   */
  poolSize?: number;
  /**
   * How often (ms) expired (TTL) jobs are deleted in the background, in
   * batches of 1,000 (the same sweep drops the kept results of flows whose
   * last jobs two transactions deleted at once).
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
): Backend<PostgresTransaction> & BackendFlows & BackendLimits {
  const config = configOf(options);
  const db = openDb(config);
  const transitions = createTransitions(
    db.sql,
    db.statements,
    db.channel,
    db.claimSql,
  );
  const flow = createControlTransitions(
    db.sql,
    config.schema,
    db.statements,
    db.channel,
  );
  const events = createEvents(
    db.sql as unknown as ListenClient,
    (queue, id) => transitions.reread(queue, id),
  );
  const schedules = createScheduleTransitions(
    db.sql,
    config.schema,
    transitions.enqueue,
  );
  const importJobs = createImport(
    db.sql,
    config.schema,
    db.statements,
    db.channel,
  );
  const flows = createFlowTransitions(db.sql, config.schema, db.channel);
  const watcher = createWatcher(
    watcherStatements(ident(config.schema)),
    (queue, fn) => db.run("listen", queue, -Infinity, fn),
    db.sql,
    (queue) => events.resync(queue),
  );
  return {
    name: "postgres",
    capabilities: { ...capabilities },
    ...backendCalls(db, events, {
      jobs: transitions,
      control: flow,
      schedules,
      importJobs,
      flows,
    }),
    ...createLimitCalls(db, config.schema),
    async listen(queue, topic, listener) {
      db.checkOpen();
      let stop: () => Promise<void>;
      try {
        stop = await events.listen(queue, db.channel(queue), topic, listener);
      } catch (err) {
        throw toBackendError(err, "postgres listen");
      }
      // A worker hears wake-ups and cancels, which are always sent; anyone
      // else hears updates, which claims and completions send only while
      // the queue is watched (sql_watchers.ts): watch it, LISTEN being
      // active already, before saying listening is in place.
      if (topic === "worker") return stop;
      let unwatch: () => Promise<void>;
      try {
        unwatch = await watcher.watch(queue);
      } catch (err) {
        await stop();
        throw toBackendError(err, "postgres listen");
      }
      return async () => {
        await stop();
        await unwatch();
      };
    },

    close: () =>
      db.close(async () => {
        await watcher.close();
        await events.close();
      }),
  };
}

const capabilities: BackendCapabilities = {
  persistence: true,
  multiProcess: true,
  crossProcessEvents: true,
  clustering: false,
  wakeups: true,
  transactionalEnqueue: true,
};

function invalid(why: string): ValidationError {
  return new ValidationError(`Cannot create postgres backend ${why}`);
}

/** Checks the options (before any client is made) and resolves them. */
function configOf(options: PostgresBackendOptions): DbConfig {
  if (options === null || typeof options !== "object") {
    throw invalid("as 'options' must be an object");
  }
  const { poolSize = 10, sweepInterval = 30_000 } = options;
  let schema = options.schema;
  let client: DbConfig["client"];
  if (options.sql !== undefined) {
    if (typeof options.sql?.unsafe !== "function") {
      throw invalid("as 'sql' must be a client of npm 'postgres'");
    }
    client = { sql: options.sql };
  } else {
    if (typeof options.url !== "string") {
      throw invalid("without 'url' or 'sql'");
    }
    if (!Number.isInteger(poolSize) || poolSize < 1) {
      throw invalid(
        `as 'poolSize' must be a positive integer: current value is ${poolSize}`,
      );
    }
    const parsed = parsePostgresUrl(options.url);
    client = { url: parsed.url, poolSize };
    schema ??= parsed.schema;
  }
  schema ??= "jobline";
  if (typeof schema !== "string" || !SCHEMA.test(schema)) {
    throw invalid(
      `as 'schema' must be a plain identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63): current value is ${
        JSON.stringify(schema)
      }`,
    );
  }
  if (SYSTEM_SCHEMA.test(schema)) {
    throw invalid(
      `as 'schema' must not name a system schema (information_schema or pg_*): current value is ${
        JSON.stringify(schema)
      }`,
    );
  }
  if (
    typeof sweepInterval !== "number" || !(sweepInterval > 0) ||
    sweepInterval > 2 ** 31 - 1
  ) {
    throw invalid(
      `as 'sweepInterval' must be a positive number of ms: current value is ${sweepInterval}`,
    );
  }
  return { client, schema, sweepInterval };
}
