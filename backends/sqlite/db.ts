/**
 * The SQLite database of one backend object: opening (pragmas, schema
 * migration), prepared statements, writes, reads after the writes asked for
 * before them, the housekeeping timer, and closing. It knows no transition
 * and no event format: the backend passes them in (DbHooks).
 *
 * Writes are grouped: the transitions asked for in one turn of the event
 * loop run in one `BEGIN IMMEDIATE` transaction (a commit costs far more
 * than a statement, and a worker completes its jobs in bursts), yet each
 * succeeds or fails on its own: one that throws a jobline error
 * (LeaseLostError) has written nothing, and when a statement fails the
 * transaction is rolled back and each transition runs again alone. Events
 * are logged in the same transaction and delivered only after the commit.
 * Each commit nudges the file's checkpoint thread (checkpoints.ts).
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { setImmediate } from "node:timers";
import { backendClosed } from "../../src/backend/closed.ts";
import { unrefTimer } from "../../src/backend/timers.ts";
import { backgroundCheckpoints } from "./checkpoints.ts";
import {
  BackendError,
  JoblineError,
  toBackendError,
} from "../../src/errors.ts";
import {
  META_GET,
  META_SET,
  META_TABLE,
  MIGRATIONS,
  PRAGMAS,
  SCHEMA_VERSION,
} from "./sql_migrations.ts";
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
  type Call = (...a: Param[]) => unknown;
  const p = prepared as unknown as Record<"run" | "get" | "all", Call>;
  return {
    run: (...a) => p.run(...a),
    get: (...a) => values(p.get(...a)),
    all: (...a) => (p.all(...a) as object[]).map((r) => Object.values(r)),
  };
}

function migrate(conn: Connection): void {
  const { db } = conn;
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec(META_TABLE);
    const row = conn.stmt(META_GET).get("schema_version");
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

type Text = string | null;

/** Events of a transaction, flat: queue, kind, job id, payload, ... */
export type Emitted = Text[];

/** What a transition sees inside its transaction. */
export interface Tx {
  /** The prepared statement of `sql`. */
  stmt(sql: string): Statement;
  /** Logs an event (see events.ts) and delivers it after the commit. */
  emit(queue: string, kind: string, jobId: Text, payload: Text): void;
  /** Runs the last `fn` given for `key` once, before the commit. */
  last(key: string, fn: () => void): void;
  /** Values kept for this transaction only (emptied as each begins). */
  readonly memo: Map<string, unknown>;
}

/** What the backend brings to its database. */
export interface DbHooks {
  /** Writes a transaction's events to the log before it commits; null: none. */
  log: ((tx: Tx, events: Emitted) => void) | null;
  /** Delivers a committed transaction's events in process. */
  deliver(events: Emitted): void;
  /** The periodic housekeeping, given each queue's latest `now`. */
  housekeep(tx: Tx, lastNow: ReadonlyMap<string, number>): void;
  /** Hear each housekeeping run that failed, or succeeded. */
  report(err: unknown): void;
  recovered(): void;
  /** Hear a failure that happens once (the checkpoint thread's). */
  alert(err: unknown): void;
}

/** The database of one backend object, opened on first use. */
export interface Db {
  /** The connection (opened now if need be); throws once closed. */
  connect(): Connection;
  /** Runs a transition in the next write transaction of `queue` at `now`. */
  write<T>(queue: string, now: number, op: (tx: Tx) => T): Promise<T>;
  /** Runs a read after the writes asked for before it. */
  read<T>(run: (c: Connection) => T): Promise<T>;
  /**
   * Runs the waiting writes, then closes the file; later calls fail.
   * Resolves once the checkpoint thread, if one started, closed its own.
   */
  close(): Promise<void>;
}

interface Op {
  op: (tx: Tx) => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** The write side of a Db: the grouped transactions and their events. */
interface Writes {
  conn: Connection | undefined;
  /** The writes asked for since the last flush. */
  waiting: Op[];
  scheduled: boolean;
  /** The events of the transaction under way. */
  emitted: Emitted;
  lasts: Map<string, () => void>;
  readonly tx: Tx;
  readonly connect: () => Connection;
  readonly hooks: DbHooks;
  readonly flush: () => void;
  /** After each commit. */
  readonly committed: () => void;
}

/** Makes the database of a backend object; nothing is opened yet. */
export function openDb(config: SqliteConfig, hooks: DbHooks): Db {
  const lastNow = new Map<string, number>();
  let closed = false;
  let housekeeping: ReturnType<typeof setInterval> | undefined;
  const checkpoints = config.path === ":memory:"
    ? null
    : backgroundCheckpoints(config, hooks.alert);

  function connect(): Connection {
    if (closed) throw backendClosed("sqlite");
    if (w.conn !== undefined) return w.conn;
    w.conn = openConnection(config);
    housekeeping = setInterval(housekeep, config.housekeepingInterval);
    unrefTimer(housekeeping);
    return w.conn;
  }

  const w: Writes = {
    conn: undefined,
    waiting: [],
    scheduled: false,
    emitted: [],
    lasts: new Map(),
    tx: {
      stmt: (sql) => w.conn!.stmt(sql),
      emit(queue, kind, jobId, payload) {
        w.emitted.push(queue, kind, jobId, payload);
      },
      last: (key, fn) => void w.lasts.set(key, fn),
      memo: new Map(),
    },
    connect,
    hooks,
    flush: () => flush(w),
    committed() {
      if (checkpoints === null) return;
      // After the commit: nothing here may fail what was committed.
      try {
        checkpoints.committed();
      } catch (err) {
        hooks.alert(err);
      }
    },
  };

  function housekeep(): void {
    if (closed) return;
    run(w, (tx) => hooks.housekeep(tx, lastNow)).then(
      hooks.recovered,
      hooks.report,
    );
  }

  return {
    connect,
    write(queue, now, op) {
      if (closed) return Promise.reject(backendClosed("sqlite"));
      // Kept per queue: background expiry goes by each queue's clock.
      if (!(now <= (lastNow.get(queue) ?? -Infinity))) lastNow.set(queue, now);
      return run(w, op);
    },
    read(fn) {
      try {
        flush(w);
        return Promise.resolve(fn(connect()));
      } catch (err) {
        return Promise.reject(toBackendError(err, "sqlite read"));
      }
    },
    close() {
      // Stopped first: the last writes below then start no thread.
      const stopped = checkpoints?.close() ?? Promise.resolve();
      if (closed) return stopped;
      try {
        flush(w);
      } finally {
        closed = true;
        clearInterval(housekeeping);
        try {
          w.conn?.db.close();
        } catch { /* closing is best effort */ }
        w.conn = undefined;
      }
      return stopped;
    },
  };
}

/** Runs `op` in the next write transaction (after this turn's others). */
function run<T>(w: Writes, op: (tx: Tx) => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    w.waiting.push({ op, resolve: resolve as (v: unknown) => void, reject });
    if (!w.scheduled) {
      w.scheduled = true;
      setImmediate(w.flush);
    }
  });
}

/** Runs what is waiting, in grouped transactions. */
function flush(w: Writes): void {
  w.scheduled = false;
  while (w.waiting.length > 0) {
    const ops = w.waiting;
    w.waiting = [];
    try {
      runBatch(w, ops);
    } catch (err) {
      // Unreachable by design; settled ops ignore a second settlement.
      for (const op of ops) op.reject(toBackendError(err, "sqlite write"));
    }
  }
}

/** Runs ops in one transaction; each alone when one statement fails. */
function runBatch(w: Writes, ops: Op[]): void {
  try {
    w.conn ??= w.connect();
    w.conn.db.exec("BEGIN IMMEDIATE");
  } catch (err) {
    for (const op of ops) op.reject(toBackendError(err, "sqlite write"));
    return;
  }
  const outcomes: Outcome[] = [];
  let failure: unknown;
  let committed = false;
  try {
    committed = attempt(w, ops, outcomes);
    if (!committed) {
      failure = (outcomes[outcomes.length - 1] as { error: unknown }).error;
    }
  } catch (err) {
    failure = err;
  }
  if (committed) {
    const events = w.emitted;
    // Settle first: nothing a listener does may leave a caller waiting.
    // (Callers resume in microtasks, so they still see the events first.)
    ops.forEach((op, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) op.resolve(outcome.value);
      else op.reject(toBackendError(outcome.error, "sqlite write"));
    });
    // Outside the rollback's reach: a committed transaction is never
    // rolled back nor run again, whatever delivering its events does.
    try {
      if (events.length > 0) w.hooks.deliver(events);
    } catch (err) {
      w.hooks.alert(err);
    }
    return;
  }
  rollback(w.conn);
  w.emitted = [];
  if (ops.length === 1) {
    ops[0]!.reject(toBackendError(failure, "sqlite write"));
    return;
  }
  // One transition failed: run each alone, so only that one fails.
  for (const op of ops) runBatch(w, [op]);
}

/** Runs ops in one transaction; false when a statement failed. */
function attempt(w: Writes, ops: Op[], outcomes: Outcome[]): boolean {
  w.emitted = [];
  w.lasts.clear();
  w.tx.memo.clear();
  for (const { op } of ops) {
    const mark = w.emitted.length;
    try {
      outcomes.push({ ok: true, value: op(w.tx) });
    } catch (error) {
      if (!(error instanceof JoblineError)) {
        outcomes.push({ ok: false, error });
        return false;
      }
      w.emitted.length = mark;
      outcomes.push({ ok: false, error });
    }
  }
  for (const fn of w.lasts.values()) fn(); // a failure fails the batch
  const { log } = w.hooks;
  if (log !== null && w.emitted.length > 0) log(w.tx, w.emitted);
  w.conn!.db.exec("COMMIT");
  w.committed();
  return true;
}

function rollback(conn: Connection): void {
  try {
    if (conn.db.isTransaction) conn.db.exec("ROLLBACK");
  } catch { /* the transaction is gone either way */ }
}
