/**
 * The SQLite connection of one backend object: opening (pragmas, schema
 * migration), prepared statements, and the writer that runs every state
 * transition inside a `BEGIN IMMEDIATE` transaction.
 *
 * The writer groups the transitions asked for in the same turn of the event
 * loop into one transaction (group commit): a commit costs far more than a
 * statement, and a worker completes its jobs in bursts. Each transition
 * still succeeds or fails on its own: one that throws a jobline error
 * (LeaseLostError) has written nothing, and when a statement fails the
 * transaction is rolled back and every transition is run again alone.
 * Events are logged in the same transaction and delivered in process only
 * after the commit.
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { setImmediate } from "node:timers";
import {
  BackendError,
  JoblineError,
  toBackendError,
} from "../../src/errors.ts";
import { logText } from "./events.ts";
import {
  EVENTS_INSERT,
  META_GET,
  META_SET,
  META_TABLE,
  MIGRATIONS,
  PRAGMAS,
  SCHEMA_VERSION,
} from "./sql.ts";
import type { SqliteConfig } from "./url.ts";

/** A bound value. */
export type Param = string | number | null;

/** A prepared statement whose rows are arrays (`setReturnArrays`). */
export interface Statement {
  run(...params: Param[]): unknown;
  get(...params: Param[]): readonly unknown[] | undefined;
  all(...params: Param[]): unknown[][];
}

/** One open database with a statement cache. */
export interface Connection {
  readonly db: DatabaseSync;
  /** The prepared statement of `sql` (prepared once). */
  stmt(sql: string): Statement;
}

/** Opens the file, sets the pragmas and brings the schema up to date. */
export function openConnection(config: SqliteConfig): Connection {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(config.path);
  } catch (err) {
    throw toBackendError(err, `sqlite open ${JSON.stringify(config.path)}`);
  }
  const cache = new Map<string, Statement>();
  const conn: Connection = {
    db,
    stmt(sql) {
      let s = cache.get(sql);
      if (s === undefined) {
        s = arrays(db.prepare(sql));
        cache.set(sql, s);
      }
      return s;
    },
  };
  try {
    db.exec(PRAGMAS(config.busyTimeout, config.synchronous));
    migrate(conn);
  } catch (err) {
    try {
      db.close();
    } catch { /* already failing: keep the first error */ }
    throw toBackendError(err, `sqlite open ${JSON.stringify(config.path)}`);
  }
  return conn;
}

/** Rows as arrays; older Node 22 releases lack setReturnArrays. */
function arrays(prepared: StatementSync): Statement {
  if (typeof prepared.setReturnArrays === "function") {
    prepared.setReturnArrays(true);
    return prepared as unknown as Statement;
  }
  const values = (row: unknown) =>
    row === undefined ? undefined : Object.values(row as object);
  const p = prepared as unknown as {
    run(...a: Param[]): unknown;
    get(...a: Param[]): unknown;
    all(...a: Param[]): unknown[];
  };
  return {
    run: (...a) => p.run(...a),
    get: (...a) => values(p.get(...a)),
    all: (...a) => p.all(...a).map((r) => Object.values(r as object)),
  };
}

function migrate(conn: Connection): void {
  const { db } = conn;
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec(META_TABLE);
    const row = conn.stmt(META_GET).get("schema_version") as
      | [string]
      | undefined;
    const current = row === undefined ? 0 : Number(row[0]);
    if (current > SCHEMA_VERSION) {
      throw new BackendError(
        `The SQLite file has jobline schema ${current}, newer than this ` +
          `release knows (${SCHEMA_VERSION}): upgrade jobline`,
      );
    }
    for (let v = current + 1; v <= SCHEMA_VERSION; v++) {
      db.exec(MIGRATIONS[v]!);
    }
    if (current < SCHEMA_VERSION) {
      conn.stmt(META_SET).run("schema_version", String(SCHEMA_VERSION));
    }
    db.exec("COMMIT");
  } catch (err) {
    db.exec("ROLLBACK");
    throw err;
  }
}

/** What a transition sees inside its transaction. */
export interface Tx {
  /** The prepared statement of `sql`. */
  stmt(sql: string): Statement;
  /**
   * Logs an event (kind "u" update, "w" wake, "c" cancel; see
   * _sqlite_events.ts) and delivers it in process after the commit.
   */
  emit(
    queue: string,
    kind: string,
    jobId: string | null,
    payload: string | null,
  ): void;
}

/** Runs transitions in grouped write transactions. */
export interface Writer {
  /** Runs `op` in the next write transaction. */
  run<T>(op: (tx: Tx) => T): Promise<T>;
  /** Runs what is waiting now (before close). */
  flush(): void;
}

interface Op {
  op: (tx: Tx) => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Events of a transaction, flat: queue, kind, job id, payload, ... */
export type Emitted = (string | null)[];

/**
 * Makes the writer of a connection. `origin` marks the log rows of this
 * backend object (null: nobody else can read the log, so none is written);
 * `deliver` hears each event after its commit.
 */
export function createWriter(
  connect: () => Connection,
  origin: number | null,
  deliver: (events: Emitted) => void,
): Writer {
  let waiting: Op[] = [];
  let scheduled = false;
  let emitted: Emitted = [];
  let conn: Connection | undefined;
  const tx: Tx = {
    stmt: (sql) => conn!.stmt(sql),
    emit(queue, kind, jobId, payload) {
      emitted.push(queue, kind, jobId, payload);
    },
  };

  function log(events: Emitted): void {
    if (origin === null || events.length === 0) return;
    conn!.stmt(EVENTS_INSERT).run(origin, logText(events));
  }

  function rollback(): void {
    try {
      if (conn!.db.isTransaction) conn!.db.exec("ROLLBACK");
    } catch { /* the transaction is gone either way */ }
  }

  /** Runs ops in one transaction; false when a statement failed. */
  function attempt(ops: Op[], outcomes: Outcome[]): boolean {
    emitted = [];
    for (const { op } of ops) {
      const mark = emitted.length;
      try {
        outcomes.push({ ok: true, value: op(tx) });
      } catch (error) {
        if (!(error instanceof JoblineError)) {
          outcomes.push({ ok: false, error });
          return false;
        }
        emitted.length = mark;
        outcomes.push({ ok: false, error });
      }
    }
    log(emitted);
    conn!.db.exec("COMMIT");
    return true;
  }

  function settle(ops: Op[], outcomes: Outcome[], events: Emitted): void {
    // Settle first: nothing a listener does may leave a caller waiting.
    // (Callers resume in microtasks, so they still see the events first.)
    ops.forEach((op, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) op.resolve(outcome.value);
      else op.reject(toBackendError(outcome.error, "sqlite write"));
    });
    if (events.length > 0) deliver(events);
  }

  function runBatch(ops: Op[]): void {
    try {
      conn ??= connect();
      conn.db.exec("BEGIN IMMEDIATE");
    } catch (err) {
      for (const op of ops) op.reject(toBackendError(err, "sqlite write"));
      return;
    }
    const outcomes: Outcome[] = [];
    let failure: unknown;
    try {
      if (attempt(ops, outcomes)) return settle(ops, outcomes, emitted);
      failure = (outcomes[outcomes.length - 1] as { error: unknown }).error;
    } catch (err) {
      failure = err;
    }
    rollback();
    emitted = [];
    if (ops.length === 1) {
      ops[0]!.reject(toBackendError(failure, "sqlite write"));
      return;
    }
    // One transition failed: run each alone, so only that one fails.
    for (const op of ops) runBatch([op]);
  }

  const writer: Writer = {
    run<T>(op: (tx: Tx) => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        waiting.push({
          op,
          resolve: resolve as (value: unknown) => void,
          reject,
        });
        if (!scheduled) {
          scheduled = true;
          setImmediate(writer.flush);
        }
      });
    },
    flush() {
      scheduled = false;
      while (waiting.length > 0) {
        const ops = waiting;
        waiting = [];
        try {
          runBatch(ops);
        } catch (err) {
          // Unreachable by design; settled ops ignore a second settlement.
          for (const op of ops) op.reject(toBackendError(err, "sqlite write"));
        }
      }
    },
  };
  return writer;
}
