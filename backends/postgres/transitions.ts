/**
 * The data side of the PostgreSQL backend: runs one statement per
 * transition and turns rows into records. Owns the batching of completions
 * (all made in one tick go out as one statement). It holds no lifecycle:
 * the factory in `postgres.ts` checks closing, runs migrations and wraps
 * errors; this file must never catch a store error it cannot resolve.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import type postgres from "postgres";
import type {
  EnqueueOutcome,
  JobRecord,
  LeaseRef,
  NewJobRecord,
  UpdateRecord,
} from "../../src/backend/interface.ts";
import { updateRecordOf } from "../../src/codec.ts";
import {
  BackendError,
  LeaseLostError,
  toBackendError,
} from "../../src/errors.ts";
import type {
  JobError,
  JobStatus,
  QueueStats,
  StatusCounts,
} from "../../src/types.ts";
import { emptyCounts, jobsJson, toRecord } from "./records.ts";
import type { Statements } from "./sql.ts";

/** A porsager client or transaction. */
// deno-lint-ignore no-explicit-any
type Sql = postgres.Sql<any>;

interface Pending {
  id: string;
  token: string;
  result: string;
  now: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const CANCELLED = "CancelledError";
const prepare = { prepare: true } as const;

function leaseLost(ref: LeaseRef): never {
  throw new LeaseLostError(ref.id);
}

/** The transitions, on one client and one schema's statements. */
export interface Store {
  enqueue(
    db: Sql,
    queue: string,
    jobs: readonly NewJobRecord[],
    now: number,
  ): Promise<EnqueueOutcome[]>;
  claim(
    queue: string,
    types: readonly string[] | null,
    limit: number,
    leaseMs: number,
    now: number,
  ): Promise<JobRecord[]>;
  heartbeat(
    queue: string,
    ref: LeaseRef,
    leaseMs: number,
    now: number,
  ): Promise<number>;
  update(
    queue: string,
    ref: LeaseRef,
    progress: number | undefined,
    message: string | undefined,
    now: number,
  ): Promise<void>;
  complete(
    queue: string,
    ref: LeaseRef,
    result: string,
    now: number,
  ): Promise<void>;
  fail(
    queue: string,
    ref: LeaseRef,
    error: JobError,
    retryAt: number | null,
    now: number,
  ): Promise<"pending" | "failed">;
  release(
    queue: string,
    refs: readonly LeaseRef[],
    now: number,
  ): Promise<string[]>;
  cancel(
    queue: string,
    id: string,
    reason: string,
    now: number,
  ): Promise<boolean>;
  retry(queue: string, id: string, now: number): Promise<boolean>;
  remove(queue: string, id: string, now: number): Promise<boolean>;
  get(queue: string, id: string, now: number): Promise<JobRecord | null>;
  list(
    queue: string,
    status: JobStatus | null,
    type: string | null,
    limit: number,
    after: string | null,
    now: number,
  ): Promise<JobRecord[]>;
  stats(queue: string, now: number): Promise<QueueStats>;
  /** A job's current state as an update (ignores TTL). */
  reread(queue: string, id: string): Promise<UpdateRecord | null>;
  /** Deletes up to `limit` expired jobs; returns how many. */
  sweep(queue: string, now: number, limit: number): Promise<number>;
  /** Sends every batched completion now; resolves when all are settled. */
  flushAll(): Promise<void>;
}

/** Makes the store over a client, a schema's statements and channel names. */
export function createStore(
  sql: Sql,
  s: Statements,
  channel: (queue: string) => string,
): Store {
  const completes = new Map<string, Pending[]>();
  const flushing = new Set<Promise<void>>();

  async function flush(queue: string): Promise<void> {
    const batch = completes.get(queue);
    completes.delete(queue);
    if (batch === undefined || batch.length === 0) return;
    try {
      const [row] = await sql.unsafe(s.complete, [
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
      const lost = new Set(JSON.parse(row!.lost as string) as string[]);
      for (const p of batch) {
        if (lost.has(p.id)) p.reject(new LeaseLostError(p.id));
        else p.resolve();
      }
    } catch (err) {
      const error = toBackendError(err, "postgres complete");
      for (const p of batch) p.reject(error);
    }
  }

  function track(f: Promise<void>): void {
    flushing.add(f);
    void f.finally(() => flushing.delete(f));
  }

  function scheduleFlush(queue: string): void {
    setImmediate(() => track(flush(queue)));
  }

  return {
    async enqueue(db, queue, jobs, now) {
      const keys = [
        ...new Set(jobs.flatMap((j) => j.key === null ? [] : [j.key])),
      ];
      if (keys.length === 0) {
        // No key can conflict: plain inserts, and only a count comes back.
        await db.unsafe(
          s.insertAll,
          [queue, channel(queue), jobsJson(jobs)],
          prepare,
        );
        return jobs.map((job) => ({ id: job.id, created: true }));
      }
      await db.unsafe(s.dropExpiredHolders, [
        queue,
        now,
        JSON.stringify(keys),
      ], prepare);
      const outcomes: (EnqueueOutcome | undefined)[] = jobs.map(() =>
        undefined
      );
      let todo = jobs.map((job, i) => ({ job, i }));
      for (let round = 0; todo.length > 0; round++) {
        const rows = await db.unsafe(s.insert, [
          queue,
          channel(queue),
          jobsJson(todo.map((t) => t.job)),
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
    },

    async claim(queue, types, limit, leaseMs, now) {
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
    },

    async heartbeat(queue, ref, leaseMs, now) {
      const [row] = await sql.unsafe(s.heartbeat, [
        queue,
        ref.id,
        ref.token,
        now,
        leaseMs,
      ], prepare);
      return row === undefined ? leaseLost(ref) : row.until as number;
    },

    async update(queue, ref, progress, message, now) {
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

    complete(queue, ref, result, now) {
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
    },

    async fail(queue, ref, error, retryAt, now) {
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

    async release(queue, refs, now) {
      if (refs.length === 0) return [];
      const rows = await sql.unsafe(s.release, [
        queue,
        now,
        channel(queue),
        JSON.stringify(refs.map(({ id, token }) => ({ id, token }))),
      ], prepare);
      return rows.map((r) => r.id as string);
    },

    async cancel(queue, id, reason, now) {
      const [row] = await sql.unsafe(s.cancel, [
        queue,
        id,
        now,
        channel(queue),
        JSON.stringify({ name: CANCELLED, message: reason }),
      ], prepare);
      return row?.changed === 1;
    },

    async retry(queue, id, now) {
      const args = [queue, id, now, channel(queue), true];
      try {
        return (await sql.unsafe(s.retry, args, prepare)).length > 0;
      } catch (err) {
        // Another job took the key at the same moment: retry without it.
        if ((err as { code?: string }).code !== "23505") throw err;
        args[4] = false;
        return (await sql.unsafe(s.retry, args, prepare)).length > 0;
      }
    },

    async remove(queue, id, now) {
      const [row] = await sql.unsafe(s.remove, [
        queue,
        id,
        now,
        channel(queue),
      ], prepare);
      return row?.live === true;
    },

    async get(queue, id, now) {
      const [row] = await sql.unsafe(s.get, [queue, id, now], prepare);
      return row === undefined ? null : toRecord(row);
    },

    async list(queue, status, type, limit, after, now) {
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

    async stats(queue, now) {
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
    },

    async reread(queue, id) {
      const [row] = await sql.unsafe(s.reread, [queue, id], prepare);
      return row === undefined ? null : updateRecordOf(toRecord(row));
    },

    async sweep(queue, now, limit) {
      const [row] = await sql.unsafe(s.sweep, [queue, now, limit], prepare);
      return (row?.n as number) ?? 0;
    },

    async flushAll() {
      for (const queue of [...completes.keys()]) track(flush(queue));
      await Promise.allSettled([...flushing]);
    },
  };
}
