/**
 * The enqueue transitions of the PostgreSQL backend: a batch inserted in
 * one statement (a few rounds where keys are held), in the caller's
 * transaction or not, and the hand-off, an insert and then a claim in one
 * statement (src/handoff.ts). Like transitions.ts, it holds no lifecycle
 * (`db.ts` wraps every call) and catches no store error.
 *
 * @module
 */

import type {
  Backend,
  ClaimRequest,
  EnqueueOutcome,
  JobRecord,
  NewJobRecord,
} from "../../src/backend/interface.ts";
import { BackendError } from "../../src/errors.ts";
import type { Sql } from "./db.ts";
import { insertArgs, toRecord } from "./records.ts";
import type { Statements } from "./sql.ts";

/** The enqueues, with the arguments of the Backend methods. */
export interface EnqueueTransitions {
  /** Backend.enqueue, inserting with `db`: the client, or the caller's transaction. */
  enqueue(
    db: Sql,
    queue: string,
    jobs: readonly NewJobRecord[],
    now: number,
  ): Promise<EnqueueOutcome[]>;
  enqueueClaim: NonNullable<Backend["enqueueClaim"]>;
}

/** What the enqueues run on. */
interface Context {
  sql: Sql;
  s: Statements;
  channel: (queue: string) => string;
}

const prepare = { prepare: true } as const;

/** Makes the enqueues over a client, a schema's statements and channels. */
export function enqueueTransitions(
  sql: Sql,
  s: Statements,
  channel: (queue: string) => string,
): EnqueueTransitions {
  const c: Context = { sql, s, channel };
  return {
    enqueue: (db, queue, jobs, now) => enqueue(c, db, queue, jobs, now),
    enqueueClaim: (queue, jobs, request) =>
      enqueueClaim(c, queue, jobs, request),
  };
}

/**
 * An enqueue and then a claim in one statement (the hand-off). A batch
 * with a key goes as a plain enqueue (its rounds take several statements),
 * claiming nothing; so does a batch whose statement the server refused
 * (nothing of it was stored: a lock or statement timeout of the claim's
 * part must not fail the enqueue).
 */
async function enqueueClaim(
  c: Context,
  queue: string,
  jobs: readonly NewJobRecord[],
  { types, limit, leaseMs, now }: ClaimRequest,
): Promise<{ outcomes: EnqueueOutcome[]; claimed: JobRecord[] }> {
  const alone = async () => ({
    outcomes: await enqueue(c, c.sql, queue, jobs, now),
    claimed: [],
  });
  if (jobs.length === 0) return { outcomes: [], claimed: [] };
  if (jobs.some((job) => job.key !== null)) return await alone();
  let rows;
  try {
    rows = await c.sql.unsafe(
      jobs.length === 1 ? c.s.insertOneClaim : c.s.insertClaim,
      [
        queue,
        c.channel(queue),
        ...insertArgs(jobs),
        now,
        types === null ? null : JSON.stringify(types),
        limit,
        leaseMs,
      ],
      prepare,
    );
  } catch (err) {
    // The server refused the statement (an ERROR, not a lost connection):
    // its transaction stored nothing, so the batch goes again, alone.
    if ((err as { severity?: string }).severity !== "ERROR") throw err;
    return await alone();
  }
  const claimed: JobRecord[] = [];
  for (const r of rows) if (r.id !== null) claimed.push(toRecord(r));
  return {
    outcomes: jobs.map((job) => ({ id: job.id, created: true })),
    claimed,
  };
}

/**
 * Inserts jobs with `db` (the backend's client or the caller's transaction).
 * A batch without keys is plain inserts; with keys, each job either takes
 * its key or names the live job that holds it.
 */
async function enqueue(
  { s, channel }: Context,
  db: Sql,
  queue: string,
  jobs: readonly NewJobRecord[],
  now: number,
): Promise<EnqueueOutcome[]> {
  const keys = [...new Set(jobs.flatMap((j) => j.key === null ? [] : [j.key]))];
  if (keys.length === 0) {
    // No key can conflict: plain inserts, and only a count comes back.
    await db.unsafe(
      jobs.length === 1 ? s.insertOneAll : s.insertAll,
      [queue, channel(queue), ...insertArgs(jobs)],
      prepare,
    );
    return jobs.map((job) => ({ id: job.id, created: true }));
  }
  await db.unsafe(s.dropExpiredHolders, [
    queue,
    now,
    JSON.stringify(keys),
  ], prepare);
  const outcomes: (EnqueueOutcome | undefined)[] = jobs.map(() => undefined);
  let todo = jobs.map((job, i) => ({ job, i }));
  for (let round = 0; todo.length > 0; round++) {
    const rows = await db.unsafe(todo.length === 1 ? s.insertOne : s.insert, [
      queue,
      channel(queue),
      ...insertArgs(todo.map((t) => t.job)),
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
    ) holders.set(r.heldkey as string, r.id as string);
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
}
