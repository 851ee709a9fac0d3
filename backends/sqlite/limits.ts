/**
 * Limits in the SQLite backend (SPEC §7.3): storing and reading a queue's
 * limits, the rate windows of the claim log (sql_limits_schema.ts), the
 * step a transition ends with when it takes a job out of "processing"
 * (`stopped`; `dropExpired` for jobs deleted by their time to live), and
 * housekeeping's check of parked groups. The claim that enforces them is
 * transitions_limits.ts.
 *
 * Nothing here keeps a count: running jobs are read from the job counts
 * (sql_counts.ts) and, per group, from an index of running jobs, in the
 * transaction that changes them, so no way out of "processing" can leave a
 * count behind. `stopped` runs in the same transaction as the statement
 * that stopped the job, reading the limits that statement returned
 * (LIMITS_TAIL, sql.ts) or the transaction read once (`limitsText`): with
 * none set it returns at once. The groups it frees are freed together,
 * before the commit or the next claim (`freeStopped`).
 *
 * @module
 */

import type { Limits, RateLimit } from "../../src/limits_types.ts";
import type { Connection, Param, Tx } from "./db.ts";
import type { Row } from "./records.ts";
import * as SQL from "./sql_limits.ts";

const parsed = new Map<string, Limits>();

/** The limits of their JSON text (shared: never changed); null for none. */
export function limitsOf(text: unknown): Limits | null {
  if (typeof text !== "string") return null;
  let limits = parsed.get(text);
  if (limits === undefined) {
    if (parsed.size >= 64) parsed.clear();
    limits = JSON.parse(text) as Limits;
    parsed.set(text, limits);
  }
  return limits;
}

/** Whether any rate limit is set. */
export function anyRate(limits: Limits): boolean {
  if (limits.rate !== undefined || limits.groups?.rate !== undefined) {
    return true;
  }
  for (const rule of Object.values(limits.types ?? {})) {
    if (rule.rate !== undefined) return true;
  }
  return false;
}

/**
 * Replaces a queue's limits: forgets the claim log, parks the groups that
 * are full under the new limits and frees the others, and wakes workers
 * (a limit may have been raised).
 */
export function setLimits(
  tx: Tx,
  queue: string,
  limits: Limits,
  now: number,
): void {
  if (Object.keys(limits).length === 0) {
    tx.stmt(SQL.LIMITS_CLEAR).run(queue);
  } else {
    tx.stmt(SQL.LIMITS_SET).run(queue, JSON.stringify(limits));
  }
  // Holds start over below (by the running jobs): the frees of groups that
  // stopped under the old limits are moot.
  tx.memo.delete(`limits ${queue}`);
  tx.memo.delete(`stopped ${queue}`);
  tx.stmt(SQL.CLAIMS_FORGET).run(queue);
  tx.stmt(SQL.HOLDS_CLEAR).run(queue);
  const max = limits.groups?.concurrency;
  if (max !== undefined) tx.stmt(SQL.HOLDS_FULL).run(queue, max);
  tx.emit(queue, "w", null, String(now));
}

/** A queue's limits as stored; `{}` when none. */
export function getLimits(c: Connection, queue: string): Limits {
  const row = c.stmt(SQL.LIMITS_GET).get(queue);
  return row === undefined ? {} : JSON.parse(row[0] as string) as Limits;
}

/** Gives a job inserted due with a group (`seq`) its lane. */
export function laneFor(
  tx: Tx,
  queue: string,
  job: { group?: string; type: string; priority: number },
  seq: number,
): void {
  tx.stmt(SQL.LANE_ADD).run(queue, job.group!, job.type, job.priority, seq);
}

/** Jobs processing in the queue. */
export function running(tx: Tx, queue: string): number {
  return tx.stmt(SQL.RUNNING).get(queue)![0] as number;
}

/** Jobs of a type processing. */
export function runningType(tx: Tx, queue: string, type: string): number {
  const row = tx.stmt(SQL.RUNNING_TYPE).get(queue, type);
  return row === undefined ? 0 : row[0] as number;
}

/**
 * A queue's limits as JSON (null: none), read once per transaction: no
 * other connection can change them while it holds the write lock, and
 * setLimits forgets what it read. A finishing statement's RETURNING
 * without this subquery costs a grouped drain some 10%.
 */
export function limitsText(tx: Tx, queue: string): unknown {
  const key = `limits ${queue}`;
  let text = tx.memo.get(key);
  if (text === undefined) {
    text = tx.stmt(SQL.LIMITS_GET).get(queue)?.[0] ?? null;
    tx.memo.set(key, text);
  }
  return text;
}

/**
 * After a job left "processing" (`row[at..]`: LIMITS_TAIL, its type, group,
 * the queue's limits as JSON and whether a lane of its group is parked as
 * full; a row that ends after the group reads the limits with limitsText):
 * its group's lanes parked as full are claimable again (workers are woken
 * then: see freeStopped), and workers are woken when a type or queue
 * concurrency limit it counted in was full.
 */
export function stopped(
  tx: Tx,
  queue: string,
  row: Row,
  at: number,
  now: number,
): void {
  const limits = limitsOf(
    row.length > at + 2 ? row[at + 2] : limitsText(tx, queue),
  );
  if (limits === null) return;
  const type = row[at] as string;
  const group = row[at + 1] as string | null;
  const typeMax = limits.types?.[type]?.concurrency;
  const groupMax = group === null ? undefined : limits.groups?.concurrency;
  // Unless the stopping statement found no such lane (row[at + 3] is 0).
  if (groupMax !== undefined && row[at + 3] !== 0) {
    stopping(tx, queue, group!, groupMax, now);
  }
  if (typeMax === undefined && limits.concurrency === undefined) return;
  const s = counted(tx, queue, type);
  if (s.woke) return;
  // The running counts already leave out every job this transaction
  // stopped before this one, and a statement that stops a batch (completions,
  // expired jobs) every job of it: counted with them, was the limit full?
  const full = (typeMax !== undefined &&
    runningType(tx, queue, type) + s.types.get(type)! >= typeMax) ||
    (limits.concurrency !== undefined &&
      running(tx, queue) + s.all >= limits.concurrency);
  if (full) {
    // At the end of the transaction: an op that throws has its own events
    // dropped, and a wake it emitted must not stand for the others'.
    s.woke = true;
    tx.last(`wake ${queue}`, () => tx.emit(queue, "w", null, String(now)));
  }
}

/**
 * A queue's jobs that left "processing" in a transaction, and whether it
 * woke workers.
 */
interface Stops {
  all: number;
  types: Map<string, number>;
  woke: boolean;
}

/** Counts a stop of a job of `type` in this transaction. */
function counted(tx: Tx, queue: string, type: string): Stops {
  const key = `stops ${queue}`;
  let s = tx.memo.get(key) as Stops | undefined;
  if (s === undefined) {
    tx.memo.set(key, s = { all: 0, types: new Map(), woke: false });
  }
  s.all++;
  s.types.set(type, (s.types.get(type) ?? 0) + 1);
  return s;
}

/**
 * Runs a statement that deletes expired jobs of `queue` at `now` (`sql`,
 * bound to queue, now and `arg`, returning EXPIRED of each:
 * DELETE_EXPIRED, DROP_EXPIRED_HOLDER, DROP_EXPIRED_HOLDER_OF): a job it
 * deleted while processing leaves "processing" there, so it stops as a
 * finished one does (`stopped`), freeing its group's slot and waking
 * workers a full limit held back.
 */
export function dropExpired(
  tx: Tx,
  queue: string,
  now: number,
  sql: string,
  arg: Param,
): void {
  for (const [processing, type, group] of tx.stmt(sql).all(queue, now, arg)) {
    if (processing === 1) stopped(tx, queue, [type, group], 0, now);
  }
}

/** Groups whose parked lanes a transaction is to free (see freeStopped). */
interface Stopping {
  groups: Set<string>;
  max: number;
  now: number;
}

/** Notes a group whose job stopped, to free before the commit. */
function stopping(
  tx: Tx,
  queue: string,
  group: string,
  max: number,
  now: number,
): void {
  const key = `stopped ${queue}`;
  let s = tx.memo.get(key) as Stopping | undefined;
  if (s === undefined) {
    tx.memo.set(key, s = { groups: new Set(), max, now });
    tx.last(key, () => freeStopped(tx, queue));
  }
  s.groups.add(group);
  s.max = max;
  s.now = now;
}

/**
 * Frees the parked lanes of the groups whose jobs stopped in this
 * transaction and are below their limit, in one statement (a worker
 * completes its jobs in bursts), and wakes workers if it freed one: they
 * are what a worker waits on for those groups. It runs before the commit,
 * and before a claim in the same transaction (transitions_limits.ts), so
 * that no claim sees a lane parked that a stop before it freed.
 */
export function freeStopped(tx: Tx, queue: string): void {
  const key = `stopped ${queue}`;
  const s = tx.memo.get(key) as Stopping | undefined;
  if (s === undefined || s.groups.size === 0) return;
  const groups = JSON.stringify([...s.groups]);
  s.groups.clear();
  if (freed(tx.stmt(SQL.GROUPS_STOPPED).run(queue, groups, s.max))) {
    tx.emit(queue, "w", null, String(s.now));
  }
}

/** Whether a statement's run changed a row. */
function freed(result: unknown): boolean {
  return Number((result as { changes: number | bigint }).changes) > 0;
}

/**
 * Housekeeping of a queue with limits: groups parked as full that no
 * longer are (a running job deleted by its time to live) are claimable
 * again, and wake workers as a stop that frees them does (a job's stop in
 * the same transaction leaves that to this check: it finds the lane freed
 * already), and the claim log drops what left its window.
 */
export function checkLimits(tx: Tx, queue: string, now: number): void {
  const row = tx.stmt(SQL.LIMITS_GET).get(queue);
  if (row === undefined) return;
  const limits = limitsOf(row[0])!;
  const max = limits.groups?.concurrency;
  if (max !== undefined && freed(tx.stmt(SQL.HOLDS_FREED).run(queue, max))) {
    tx.emit(queue, "w", null, String(now));
  }
  if (anyRate(limits)) tx.stmt(SQL.CLAIMS_TRIM).run(queue, now);
}

/** The claims of one scope in the window of its rate. */
export interface Window {
  readonly scope: string;
  readonly rate: RateLimit;
  /** Claims the window allows now. */
  left: number;
  /** The count after the last row logged, 0 when none. */
  n: number;
  /** When the last row logged leaves the window, 0 when none. */
  last: number;
  /** When the first row in the window leaves it, null when none. */
  first: number | null;
}

/** The window of a scope ('' the queue, 't:' a type, 'g:' a group). */
export function windowOf(
  tx: Tx,
  queue: string,
  scope: string,
  rate: RateLimit,
  now: number,
): Window {
  const [n, last, n0, first] = tx.stmt(SQL.CLAIMS_WINDOW).get(
    queue,
    scope,
    now,
  ) as [number | null, number | null, number | null, number | null];
  const used = n0 === null ? 0 : n! - n0;
  return {
    scope,
    rate,
    left: rate.max - used,
    n: n ?? 0,
    last: last ?? 0,
    first,
  };
}

/**
 * Logs `k` claims made at `now` in a window; returns when the window lets
 * the next claim through (0: at once).
 */
export function logClaims(
  tx: Tx,
  queue: string,
  w: Window,
  k: number,
  now: number,
): number {
  const until = Math.max(now + w.rate.per, w.last);
  if (k > 0) {
    tx.stmt(SQL.CLAIMS_ADD).run(queue, w.scope, until, w.n, w.n + k);
  }
  if (w.left - k > 0) return 0;
  return w.first ?? until;
}
