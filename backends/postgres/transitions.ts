/**
 * The state transitions of the PostgreSQL backend: one statement per
 * transition (a few rounds where keys or expired leases ask for it), with
 * the Backend methods' own arguments; completions made together go out as
 * one statement, through the kit's batcher. It holds no lifecycle (`db.ts`
 * checks closing, runs migrations and wraps errors around every call) and
 * must never catch a store error it cannot resolve.
 *
 * @module
 */

import { batcher } from "../../src/backend/batch.ts";
import type {
  Backend,
  ClaimRequest,
  JobRecord,
  LeaseRef,
  UpdateRecord,
} from "../../src/backend/interface.ts";
import { LeaseLostError } from "../../src/errors.ts";
import type { Sql } from "./db.ts";
import { toRecord, toStats, toUpdate } from "./records.ts";
import type { Statements } from "./sql.ts";
import {
  type EnqueueTransitions,
  enqueueTransitions,
} from "./transitions_enqueue.ts";

/** The transitions of a job under a lease: claim it, then hold or end it. */
type LeaseTransitions = Pick<
  Backend,
  "claim" | "heartbeat" | "update" | "complete" | "fail" | "release"
>;

/** The transitions of a job by its id, and reads of the queue. */
type JobTransitions =
  & Pick<Backend, "cancel" | "retry" | "remove" | "get" | "list" | "stats">
  & {
    /**
     * A job's current state as an update (ignores TTL), or the final update
     * kept of one removed as it finished.
     */
    reread(queue: string, id: string): Promise<UpdateRecord | null>;
  };

/**
 * The transitions, with the arguments of the Backend methods of the same
 * name (the enqueues: transitions_enqueue.ts).
 */
export type Transitions =
  & LeaseTransitions
  & JobTransitions
  & EnqueueTransitions;

/** One completion, as the complete statement reads it. */
interface Completion {
  id: string;
  token: string;
  result: string;
  now: number;
}

const CANCELLED = "CancelledError";
/** The error of an unfinished flow job cancelled because it is removed. */
const REMOVED = JSON.stringify({ name: CANCELLED, message: "job removed" });
const prepare = { prepare: true } as const;

function leaseLost(ref: LeaseRef): never {
  throw new LeaseLostError(ref.id);
}

/** What every transition runs on. */
interface Context {
  sql: Sql;
  s: Statements;
  channel: (queue: string) => string;
  /** The client of a queue's claims (claim_lines.ts). */
  claimSql: (queue: string) => Sql;
}

/**
 * Makes the transitions over a client, a schema's statements and channels,
 * with the client of each queue's claims (db.ts, claimSql).
 */
export function createTransitions(
  sql: Sql,
  s: Statements,
  channel: (queue: string) => string,
  claimSql: (queue: string) => Sql,
): Transitions {
  const c: Context = { sql, s, channel, claimSql };
  return {
    ...enqueueTransitions(sql, s, channel),
    ...leaseTransitions(c),
    ...jobTransitions(c),
  };
}

/** Claims, and the transitions of a claimed job. */
function leaseTransitions(c: Context): LeaseTransitions {
  const { sql, s, channel } = c;
  // One statement of a queue on its way at a time, taking every completion
  // made meanwhile: the batches a worker's bursts make when sent once per
  // event-loop turn (several statements in flight make batches of one
  // burst each, and drain half as fast).
  const completions = batcher<Completion>(
    (queue, items) => completeAll(c, queue, items),
    (item, held) => {
      if (held !== true) throw new LeaseLostError(item.id);
    },
    { maxBatch: Infinity, maxInFlight: 1 },
  );

  return {
    claim: (queue, request) => claim(c, queue, request),

    async heartbeat(queue, ref, { leaseMs, now }) {
      const [row] = await sql.unsafe(s.heartbeat, [
        queue,
        ref.id,
        ref.token,
        now,
        leaseMs,
      ], prepare);
      return row === undefined ? leaseLost(ref) : row.until as number;
    },

    async update(queue, ref, { progress, message, now }) {
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
    },

    complete(queue, { id, token }, result, { now }) {
      return completions.add(queue, { id, token, result, now });
    },

    async fail(queue, ref, { error, retryAt, now }) {
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
    },

    async release(queue, refs, { now, runAt }) {
      if (refs.length === 0) return [];
      const rows = await sql.unsafe(s.release, [
        queue,
        now,
        channel(queue),
        JSON.stringify(refs.map(({ id, token }) => ({ id, token }))),
        runAt ?? null,
      ], prepare);
      return rows.map((r) => r.id as string);
    },
  };
}

/**
 * Claims up to `limit` jobs, best first, in one statement, over the
 * queue's claim line (claim_lines.ts): the claim function (migration 4)
 * picks after it has expired leases, so the jobs it put back to pending
 * are claimable in the same call.
 */
async function claim(
  { claimSql, s, channel }: Context,
  queue: string,
  { types, limit, leaseMs, now }: ClaimRequest,
): Promise<JobRecord[]> {
  const rows = await claimSql(queue).unsafe(s.claim, [
    queue,
    now,
    channel(queue),
    types === null ? null : JSON.stringify(types),
    limit,
    leaseMs,
  ], prepare);
  const out: JobRecord[] = [];
  for (const r of rows) if (r.id !== null) out.push(toRecord(r));
  return out;
}

/**
 * Runs one batch of completions in one statement (a batch of one in the
 * statement made for it, which starts up faster); true for each that held
 * its lease. A job completed twice in one batch has its later completions
 * in a later statement, which finds the job complete (their lease lost).
 */
async function completeAll(
  { sql, s, channel }: Context,
  queue: string,
  items: readonly Completion[],
): Promise<boolean[]> {
  const done: boolean[] = [];
  for (let todo = items.map((_, i) => i); todo.length > 0;) {
    const seen = new Set<string>();
    const first: number[] = [];
    const later: number[] = [];
    for (const i of todo) {
      const id = items[i]!.id;
      if (seen.has(id)) later.push(i);
      else (seen.add(id), first.push(i));
    }
    if (first.length === 1) {
      const { id, token, result, now } = items[first[0]!]!;
      const [row] = await sql.unsafe(s.completeOne, [
        queue,
        channel(queue),
        id,
        token,
        result,
        now,
      ], prepare);
      done[first[0]!] = row!.done === 1;
    } else {
      const [row] = await sql.unsafe(s.complete, [
        queue,
        channel(queue),
        JSON.stringify(first.map((i) => items[i])),
      ], prepare);
      const lost = new Set(JSON.parse(row!.lost as string) as string[]);
      for (const i of first) done[i] = !lost.has(items[i]!.id);
    }
    todo = later;
  }
  return done;
}

/** Transitions of jobs by id, and reads. */
function jobTransitions({ sql, s, channel }: Context): JobTransitions {
  return {
    async cancel(queue, id, { reason, now }) {
      const [row] = await sql.unsafe(s.cancel, [
        queue,
        id,
        now,
        channel(queue),
        JSON.stringify({ name: CANCELLED, message: reason }),
      ], prepare);
      return row?.changed === 1;
    },

    async retry(queue, id, { now }) {
      const args = [queue, id, now, channel(queue), true];
      for (let attempt = 1;; attempt++) {
        try {
          return (await sql.unsafe(s.retry, args, prepare)).length > 0;
        } catch (err) {
          const code = (err as { code?: string }).code;
          // Another job took the key at the same moment: retry without it.
          if (code === "23505" && args[4] === true) args[4] = false;
          // A deadlock victim (a retry of a flow job crossed another step
          // of its flow): nothing was changed, so the step runs again.
          else if (code !== "40P01" || attempt >= 3) throw err;
        }
      }
    },

    async remove(queue, id, { now }) {
      const [row] = await sql.unsafe(s.remove, [
        queue,
        id,
        now,
        channel(queue),
        REMOVED,
      ], prepare);
      return row?.live === true;
    },

    async get(queue, id, { now }) {
      const [row] = await sql.unsafe(s.get, [queue, id, now], prepare);
      return row === undefined ? null : toRecord(row);
    },

    async list(queue, { status, type, limit, after, now }) {
      const rows = await sql.unsafe(s.list, [
        queue,
        now,
        status,
        type,
        after,
        limit,
      ], prepare);
      return rows.map(toRecord);
    },

    async stats(queue, { now }) {
      await sql.unsafe(s.expire, [queue, now, channel(queue)], prepare);
      return toStats(await sql.unsafe(s.stats, [queue, now], prepare));
    },

    async reread(queue, id) {
      const [row] = await sql.unsafe(s.reread, [queue, id], prepare);
      return row === undefined ? null : toUpdate(row);
    },
  };
}
