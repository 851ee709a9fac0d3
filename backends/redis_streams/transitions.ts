/**
 * The state transitions of the Redis Streams backend: each one script call
 * (lua.ts), with its arguments and declared types built here and its reply
 * decoded; completions of a queue go together in one call (the kit's
 * batcher). The types a call declares come from what it is given: the jobs
 * (enqueue), the claim's filter (or the types that have work, read first,
 * for a claim of every type), a lease token (which names its job's type),
 * or, for a call by id, the job's type read first.
 *
 * It must not write keys itself: every change is a script, so it stays
 * atomic on a server and on a Cluster.
 *
 * @module
 */

import type {
  ClaimRequest,
  EnqueueOutcome,
  JobRecord,
  LeaseRef,
  NewJobRecord,
} from "../../src/backend/interface.ts";
import { type Batcher, batcher } from "../../src/backend/batch.ts";
import { LeaseLostError } from "../../src/errors.ts";
import type { JobError } from "../../src/types.ts";
import { enqueueArgs, toRecord, typeOfToken } from "./records.ts";
import type { Runner } from "./scripts.ts";

/** One completion: id, token, result, now. */
type Completion = [string, string, string, string];

/** What the transitions run on. */
export interface Parts {
  /** The script runner. */
  r: Runner;
  /** Per queue, the types a claim of every type declares (what it saw). */
  known: Map<string, string[]>;
  /** Completions, sent together per queue. */
  completions: Batcher<Completion>;
}

/** Makes the parts of one backend. */
export function createParts(r: Runner): Parts {
  const completions = batcher<Completion>(
    (queue, items) =>
      r.run("complete", {
        queue,
        now: Number(items[0]![3]),
        types: typesOf(items.map((i) => i[1])),
        args: items.flat(),
      }),
    (item, reply) => {
      if (reply === 0) throw new LeaseLostError(item[0]);
    },
  );
  return { r, completions, known: new Map() };
}

/** The distinct types the tokens name (bad tokens name none). */
function typesOf(tokens: readonly string[]): string[] {
  const out = new Set<string>();
  for (const token of tokens) {
    const t = typeOfToken(token);
    if (t !== null) out.add(t);
  }
  return [...out];
}

/** The type a lease's token names; a token naming none was never ours. */
function leaseType({ id, token }: LeaseRef): string {
  const t = typeOfToken(token);
  if (t === null) throw new LeaseLostError(id);
  return t;
}

function lost(reply: unknown, id: string): void {
  if (reply === 0 || reply === "0") throw new LeaseLostError(id);
}

/** A job's type, or null when there is no such job. */
async function typeOfJob(
  r: Runner,
  queue: string,
  id: string,
): Promise<string | null> {
  const st = await r.send(queue, ["HGET", `${r.ns(queue)}st`, id], "get");
  return typeof st === "string" ? st.slice(0, st.indexOf(" ")) : null;
}

/**
 * Runs a script on one job by id, declaring its type; again if the job
 * turned out to have another type (-1). Returns the script's reply, or 0
 * when there is no such job.
 */
export async function byId(
  r: Runner,
  queue: string,
  id: string,
  run: (type: string) => Promise<unknown>,
): Promise<unknown> {
  for (let i = 0; i < 3; i++) {
    const type = await typeOfJob(r, queue, id);
    if (type === null) return 0;
    const reply = await run(type);
    if (Number(reply) !== -1) return reply;
  }
  return 0;
}

/** Stores new jobs; a job whose key is held names the holder instead. */
export async function enqueueJobs(
  { r }: Parts,
  queue: string,
  jobs: readonly NewJobRecord[],
  now: number,
): Promise<EnqueueOutcome[]> {
  if (jobs.length === 0) return [];
  const types = [...new Set(jobs.map((j) => j.type))];
  const reply = await r.run("enqueue", {
    queue,
    now,
    types,
    args: enqueueArgs(jobs),
  }) as unknown[];
  const out: EnqueueOutcome[] = jobs.map((job) => ({
    id: job.id,
    created: true,
  }));
  for (let i = 0; i + 1 < reply.length; i += 2) {
    out[Number(reply[i])] = { id: String(reply[i + 1]), created: false };
  }
  return out;
}

/**
 * Runs the claim script. A claim of every type declares the types last
 * seen with work in the queue; when the script names more, again with
 * those (at most a few times: types come and go).
 */
async function runClaim(
  { r, known }: Parts,
  queue: string,
  types: readonly string[] | null,
  args: string[],
  now: number,
): Promise<unknown[][]> {
  if (types !== null) {
    return await r.run("claim", {
      queue,
      now,
      types,
      args: [...args, "0"],
    }) as unknown[][];
  }
  for (let i = 0;; i++) {
    const reply = await r.run("claim", {
      queue,
      now,
      types: known.get(queue) ?? [],
      args: [...args, i < 3 ? "1" : "0"],
    }) as unknown[];
    if (reply[0] !== "types") return reply as unknown[][];
    if (known.size >= 1_000) known.clear();
    known.set(queue, reply.slice(1).map(String));
  }
}

/** Claims up to `limit` jobs. */
export async function claimJobs(
  p: Parts,
  queue: string,
  { types, limit, leaseMs, now }: ClaimRequest,
): Promise<JobRecord[]> {
  const until = now + leaseMs;
  // Random per claim: a token tells nothing of its job's id or order.
  const prefix = `${crypto.randomUUID()}.`;
  const reply = await runClaim(
    p,
    queue,
    types,
    [String(limit), String(until), prefix],
    now,
  );
  const out: JobRecord[] = [];
  for (const [id, state, x, key, error] of reply) {
    const record = toRecord(String(id), state, x, key, error, null);
    if (record === null) continue;
    out.push(record);
  }
  return out;
}

/** Extends a lease to `until`. */
export async function extendLease(
  { r }: Parts,
  queue: string,
  { id, token }: LeaseRef,
  until: number,
  now: number,
): Promise<number> {
  lost(
    await r.run("heartbeat", {
      queue,
      now,
      types: [],
      args: [id, token, String(until)],
    }),
    id,
  );
  return until;
}

/** Sets progress and/or message of a processing job. */
export async function setProgress(
  { r }: Parts,
  queue: string,
  { id, token }: LeaseRef,
  { progress, message, now }: {
    progress?: number;
    message?: string;
    now: number;
  },
): Promise<void> {
  lost(
    await r.run("update", {
      queue,
      now,
      types: [],
      args: [
        id,
        token,
        progress === undefined ? "" : String(progress),
        message === undefined ? "0" : "1",
        message ?? "",
      ],
    }),
    id,
  );
}

/** Completes a processing job, together with the queue's other completions. */
export function completeJob(
  p: Parts,
  queue: string,
  { id, token }: LeaseRef,
  result: string,
  now: number,
): Promise<void> {
  return p.completions.add(queue, [id, token, result, String(now)]);
}

/** Records a failed attempt: pending again at `retryAt`, or failed. */
export async function failJob(
  { r }: Parts,
  queue: string,
  lease: LeaseRef,
  { error, retryAt, now }: {
    error: JobError;
    retryAt: number | null;
    now: number;
  },
): Promise<"pending" | "failed"> {
  const reply = await r.run("fail", {
    queue,
    now,
    types: [leaseType(lease)],
    args: [
      lease.id,
      lease.token,
      JSON.stringify(error),
      retryAt === null ? "" : String(retryAt),
    ],
  });
  lost(reply, lease.id);
  return String(reply) as "pending" | "failed";
}

/**
 * Gives claimed jobs back unstarted (due at `runAt` if given: a snooze);
 * returns the ids given back.
 */
export async function releaseJobs(
  { r }: Parts,
  queue: string,
  leases: readonly LeaseRef[],
  now: number,
  runAt?: number,
): Promise<string[]> {
  if (leases.length === 0) return [];
  const args = [runAt === undefined ? "" : String(runAt)];
  for (const { id, token } of leases) args.push(id, token);
  return (await r.run("release", {
    queue,
    now,
    types: typesOf(leases.map((l) => l.token)),
    args,
  }) as unknown[]).map(String);
}
