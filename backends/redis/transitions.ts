/**
 * The state transitions of the Redis backend: each one Lua script call (see
 * lua.ts), with its arguments built and its reply decoded here; completions
 * of a queue go together in one call (the kit's batcher). A transition whose
 * lease no longer holds rejects with LeaseLostError; the script has then
 * changed nothing.
 *
 * It must not read or write keys itself beyond a job's hash (`get`): every
 * change is a script, so it stays atomic on a server and on a Cluster.
 *
 * @module
 */

import type {
  ClaimRequest,
  EnqueueOutcome,
  JobRecord,
  LeaseRef,
  ListRequest,
  NewJobRecord,
} from "../../src/backend/interface.ts";
import { type Batcher, batcher } from "../../src/backend/batch.ts";
import { backendClosed } from "../../src/backend/closed.ts";
import { countJobs, emptyStats } from "../../src/backend/counts.ts";
import { LeaseLostError, toBackendError } from "../../src/errors.ts";
import type { JobError, JobStatus, QueueStats } from "../../src/types.ts";
import type { Connection } from "./connection.ts";
import type { ScriptName } from "./lua.ts";
import { claimedHash, decodeHash, enqueueArgs, toRecord } from "./records.ts";

/** Jobs the list script reads per call, at most. */
const LIST_BUDGET = 1_000;

/** One completion: id, token, result, now. */
type Completion = [string, string, string, string];

/** What the transitions run on: one backend's scripts. */
export interface Scripts {
  /** Runs a script in a queue's namespace; rejects with BackendError. */
  run(name: ScriptName, queue: string, args: string[]): Promise<unknown>;
  /** Reads a job's hash as the driver returns it. */
  hash(queue: string, id: string): Promise<unknown>;
  /** A queue's namespace. */
  ns(queue: string): string;
  /** Completions, sent together per queue. */
  completions: Batcher<Completion>;
}

/**
 * Makes the script runner of one backend on its connection; every call
 * rejects with a BackendError once `isClosed()`.
 */
export function createScripts(
  conn: Connection,
  ns: (queue: string) => string,
  isClosed: () => boolean,
): Scripts {
  async function run(
    name: ScriptName,
    queue: string,
    args: string[],
  ): Promise<unknown> {
    if (isClosed()) throw backendClosed("redis");
    try {
      return await conn.run(name, ns(queue), args);
    } catch (err) {
      throw toBackendError(err, `redis ${name}`);
    }
  }

  const completions = batcher<Completion>(
    (queue, items) =>
      run("complete", queue, [
        items[0]![3],
        String(items.length),
        ...items.flat(),
      ]),
    (item, reply) => {
      if (reply === 0) throw new LeaseLostError(item[0]);
    },
  );

  return {
    run,
    ns,
    completions,
    async hash(queue, id) {
      if (isClosed()) throw backendClosed("redis");
      const key = ns(queue);
      try {
        return await conn.send(key, ["HGETALL", `${key}j:${id}`]);
      } catch (err) {
        throw toBackendError(err, "redis get");
      }
    },
  };
}

function lost(reply: unknown, id: string): void {
  if (reply === 0 || reply === "0") throw new LeaseLostError(id);
}

/** Stores new jobs; a job whose key is held names the holder instead. */
export async function enqueueJobs(
  s: Scripts,
  queue: string,
  jobs: readonly NewJobRecord[],
  now: number,
): Promise<EnqueueOutcome[]> {
  if (jobs.length === 0) return [];
  const reply = await s.run(
    "enqueue",
    queue,
    enqueueArgs(now, jobs),
  ) as unknown[];
  const out: EnqueueOutcome[] = jobs.map((job) => ({
    id: job.id,
    created: true,
  }));
  for (let i = 0; i + 1 < reply.length; i += 2) {
    out[Number(reply[i])] = { id: String(reply[i + 1]), created: false };
  }
  return out;
}

/** Claims up to `limit` jobs; the script returns them as they were. */
export async function claimJobs(
  s: Scripts,
  queue: string,
  { types, limit, leaseMs, now }: ClaimRequest,
): Promise<JobRecord[]> {
  const until = now + leaseMs;
  // Random per claim: a token tells nothing of its job's id or order.
  const prefix = `${crypto.randomUUID()}.`;
  const args = [
    String(now),
    String(limit),
    String(until),
    prefix,
    String(types?.length ?? 0),
  ];
  if (types !== null) args.push(...types);
  const reply = await s.run("claim", queue, args) as unknown[];
  const out: JobRecord[] = [];
  for (let i = 0; i < reply.length; i++) {
    const h = claimedHash(reply[i] as unknown[]);
    const record = toRecord(h);
    if (record === null) continue;
    // The script returns the job as it was; apply the claim here.
    record.status = "processing";
    record.attempt++;
    record.version++;
    record.startedAt = now;
    record.updatedAt = now;
    record.lease = { token: prefix + (i + 1), until };
    out.push(record);
  }
  return out;
}

/** Extends a lease to `until`. */
export async function extendLease(
  s: Scripts,
  queue: string,
  { id, token }: LeaseRef,
  until: number,
  now: number,
): Promise<number> {
  lost(
    await s.run("heartbeat", queue, [String(now), id, token, String(until)]),
    id,
  );
  return until;
}

/** Sets progress and/or message of a processing job. */
export async function setProgress(
  s: Scripts,
  queue: string,
  { id, token }: LeaseRef,
  { progress, message, now }: {
    progress?: number;
    message?: string;
    now: number;
  },
): Promise<void> {
  lost(
    await s.run("update", queue, [
      String(now),
      id,
      token,
      progress === undefined ? "" : String(progress),
      message === undefined ? "0" : "1",
      message ?? "",
    ]),
    id,
  );
}

/** Completes a processing job, together with the queue's other completions. */
export function completeJob(
  s: Scripts,
  queue: string,
  { id, token }: LeaseRef,
  result: string,
  now: number,
): Promise<void> {
  return s.completions.add(queue, [id, token, result, String(now)]);
}

/** Records a failed attempt: pending again at `retryAt`, or failed. */
export async function failJob(
  s: Scripts,
  queue: string,
  { id, token }: LeaseRef,
  { error, retryAt, now }: {
    error: JobError;
    retryAt: number | null;
    now: number;
  },
): Promise<"pending" | "failed"> {
  const reply = await s.run("fail", queue, [
    String(now),
    id,
    token,
    JSON.stringify(error),
    retryAt === null ? "" : String(retryAt),
  ]);
  lost(reply, id);
  return String(reply) as "pending" | "failed";
}

/** Gives claimed jobs back unstarted (due at runAt: a snooze); their ids. */
export async function releaseJobs(
  s: Scripts,
  queue: string,
  leases: readonly LeaseRef[],
  now: number,
  runAt?: number,
): Promise<string[]> {
  if (leases.length === 0) return [];
  const args = [String(now), runAt === undefined ? "" : String(runAt)];
  for (const { id, token } of leases) args.push(id, token);
  return (await s.run("release", queue, args) as unknown[]).map(String);
}

/** Cancels a pending or processing job. */
export async function cancelJob(
  s: Scripts,
  queue: string,
  id: string,
  reason: string,
  now: number,
): Promise<boolean> {
  const error = JSON.stringify({ name: "CancelledError", message: reason });
  return Number(await s.run("cancel", queue, [String(now), id, error])) === 1;
}

/** Puts a failed or cancelled job back to pending. */
export async function retryJob(
  s: Scripts,
  queue: string,
  id: string,
  now: number,
): Promise<boolean> {
  return Number(await s.run("retry", queue, [String(now), id])) === 1;
}

/** Deletes a job whatever its status. */
export async function removeJob(
  s: Scripts,
  queue: string,
  id: string,
  now: number,
): Promise<boolean> {
  return Number(await s.run("remove", queue, [String(now), id])) === 1;
}

/** Reads a job; null when unknown or expired. */
export async function getJob(
  s: Scripts,
  queue: string,
  id: string,
  now: number,
): Promise<JobRecord | null> {
  const record = decodeHash(await s.hash(queue, id));
  if (
    record === null ||
    (record.expiresAt !== null && record.expiresAt <= now)
  ) return null;
  return record;
}

/** Lists live jobs by id, one budget of scanned jobs per script call. */
export async function listJobs(
  s: Scripts,
  queue: string,
  { status, type, limit, now, after }: ListRequest,
): Promise<JobRecord[]> {
  const out: JobRecord[] = [];
  let from = after ?? "";
  for (;;) {
    const [last, scanned, jobs] = await s.run("list", queue, [
      String(now),
      from,
      status ?? "",
      type ?? "",
      String(limit - out.length),
      String(LIST_BUDGET),
    ]) as [string, number, unknown[]];
    for (const flat of jobs) {
      const record = decodeHash(flat);
      if (record !== null) out.push(record);
    }
    if (out.length >= limit || Number(scanned) < LIST_BUDGET) return out;
    from = String(last);
  }
}

/** Counts live jobs by status and type (the script's `<status>:<type>` counts). */
export async function readStats(
  s: Scripts,
  queue: string,
  now: number,
): Promise<QueueStats> {
  const reply = await s.run("stats", queue, [String(now)]) as unknown[];
  const stats = emptyStats();
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const field = String(reply[i]);
    const n = Number(reply[i + 1]);
    const colon = field.indexOf(":");
    const status = field.slice(0, colon) as JobStatus;
    if (n === 0 || !(status in stats)) continue;
    countJobs(stats, field.slice(colon + 1), status, n);
  }
  return stats;
}
