/**
 * The enqueue of the SQLite backend, run inside one write transaction (see
 * db.ts) like the transitions of transitions.ts: a batch of new jobs is
 * stored by multi-row inserts of up to CHUNK jobs each (one statement binds
 * a chunk: some half the CPU of one insert per job), a job whose key is
 * held making no row and answering with its holder's id. A chunk of plain
 * jobs (no key, time to live, group or count rule) binds only the columns
 * they set and returns nothing (sql_enqueue.ts). A job inserted
 * due with a group gets its lane after its chunk (no insert touches lanes,
 * so the order is the same as one by one), and the counts of each chunk's
 * jobs go in one write per type (tallies.ts). Events go out in the batch's
 * order, with one wake for all. The hand-off stores and then claims in the
 * same transaction, and wakes only for new jobs it left pending.
 *
 * @module
 */

import type {
  ClaimRequest,
  EnqueueOutcome,
  JobRecord,
  NewJobRecord,
} from "../../src/backend/interface.ts";
import type { Param, Tx } from "./db.ts";
import { claimJobs } from "./transitions_claim.ts";
import { dropExpired, laneFor } from "./limits.ts";
import { pendingPayload } from "./records.ts";
import * as SQL from "./sql.ts";
import {
  insertJobs,
  JOB_VALUES,
  KEY_HOLDER,
  PLAIN_VALUES,
} from "./sql_enqueue.ts";
import { TALLY_ENQUEUED } from "./sql_counts.ts";
import { tally } from "./tallies.ts";

/**
 * The most jobs one insert stores: 256 × JOB_VALUES (20) values, well under SQLite's
 * limit of 32,766 bound values per statement. A chunk is the largest power
 * of two left (1000 jobs: 256, 256, 256, 128, 64, 32, 8), so that at most
 * nine statements are ever prepared.
 */
const CHUNK = 256;

/** The statement text of each chunk size, made once. */
const inserts: string[] = [];

/** The same for chunks of plain jobs. */
const plainInserts: string[] = [];

/** Whether a job is plain: stored by insertJobs with `plain`. */
function plain(job: NewJobRecord): boolean {
  return job.key === null && job.ttl === null && job.expiresAt === null &&
    job.group === undefined && job.keep.complete.count === null &&
    job.keep.failed.count === null;
}

/**
 * Stores new jobs (skipping those whose key is held), then claims as
 * claimJobs does with `request` (the hand-off, src/handoff.ts): one wake,
 * for the new jobs left pending, if any.
 */
export function enqueueClaimJobs(
  tx: Tx,
  queue: string,
  jobs: readonly NewJobRecord[],
  request: ClaimRequest,
  token: string,
): { outcomes: EnqueueOutcome[]; claimed: JobRecord[] } {
  const outcomes = enqueueJobs(tx, queue, jobs, request.now, false);
  const claimed = claimJobs(tx, queue, request, token);
  const taken = new Set(claimed.map((job) => job.id));
  let wakeAt = Infinity;
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!;
    if (!outcomes[i]!.created || taken.has(job.id)) continue;
    if (job.runAt < wakeAt) wakeAt = job.runAt;
  }
  if (wakeAt !== Infinity) tx.emit(queue, "w", null, String(wakeAt));
  return { outcomes, claimed };
}

/**
 * Stores new jobs (skipping those whose key is held); one wake for all,
 * unless `wake` is false.
 */
export function enqueueJobs(
  tx: Tx,
  queue: string,
  jobs: readonly NewJobRecord[],
  now: number,
  wake = true,
): EnqueueOutcome[] {
  const outcomes: EnqueueOutcome[] = new Array(jobs.length);
  for (let from = 0; from < jobs.length;) {
    let size = CHUNK;
    while (size > jobs.length - from) size >>= 1;
    insertChunk(tx, queue, jobs, from, size, now, outcomes);
    from += size;
  }
  let wakeAt = Infinity;
  for (let i = 0; i < jobs.length; i++) {
    if (!outcomes[i]!.created) continue;
    const job = jobs[i]!;
    if (job.runAt < wakeAt) wakeAt = job.runAt;
    tx.emit(queue, "u", job.id, pendingPayload(job.type, job.createdAt));
  }
  if (wake && wakeAt !== Infinity) {
    tx.emit(queue, "w", null, String(wakeAt));
  }
  return outcomes;
}

/** Stores `jobs[from .. from + size]` in one insert; sets their outcomes. */
function insertChunk(
  tx: Tx,
  queue: string,
  jobs: readonly NewJobRecord[],
  from: number,
  size: number,
  now: number,
  outcomes: EnqueueOutcome[],
): void {
  let plainOnly = true;
  for (let i = from; i < from + size && plainOnly; i++) {
    plainOnly = plain(jobs[i]!);
  }
  const values: Param[] = new Array(
    size * (plainOnly ? PLAIN_VALUES : JOB_VALUES),
  );
  let v = 0;
  let lanes = false;
  for (let i = from; i < from + size; i++) {
    const job = jobs[i]!;
    // An expired job frees its key first (a job just stored never is).
    if (job.key !== null) {
      dropExpired(tx, queue, now, SQL.DROP_EXPIRED_HOLDER, job.key);
    }
    const due = job.runAt <= now;
    if (due && job.group !== undefined) lanes = true;
    const { complete, failed } = job.keep;
    values[v++] = queue;
    values[v++] = job.id;
    values[v++] = job.type;
    values[v++] = job.data;
    values[v++] = job.priority;
    values[v++] = job.maxAttempts;
    values[v++] = job.runAt;
    values[v++] = job.createdAt;
    values[v++] = job.metadata;
    values[v++] = due ? 0 : 1;
    values[v++] = job.createdAt;
    values[v++] = complete.age;
    values[v++] = failed.age;
    if (plainOnly) continue;
    values[v++] = job.ttl;
    values[v++] = job.expiresAt;
    values[v++] = job.key;
    values[v++] = job.key;
    values[v++] = complete.count;
    values[v++] = failed.count;
    values[v++] = job.group ?? null;
  }
  const statement = tx.stmt(
    (plainOnly ? plainInserts : inserts)[size] ??= insertJobs(size, plainOnly),
  );
  // A plain chunk returns no row: no job of it can conflict or has a lane.
  const rows = plainOnly
    ? (statement.run(...values), null)
    : statement.all(...values);
  // Every job stored and none needs its seq: the common case reads no row.
  const seqs = rows !== null && (rows.length < size || lanes)
    ? new Map(rows.map((r) => [r[0] as string, r[1] as number]))
    : null;
  const created: NewJobRecord[] = [];
  for (let i = from; i < from + size; i++) {
    const job = jobs[i]!;
    const seq = seqs === null ? 0 : seqs.get(job.id);
    if (seq === undefined) {
      const [holder] = tx.stmt(KEY_HOLDER).get(queue, job.key) as [string];
      outcomes[i] = { id: holder, created: false };
      continue;
    }
    outcomes[i] = { id: job.id, created: true };
    created.push(job);
    if (job.group !== undefined && job.runAt <= now) {
      laneFor(tx, queue, job, seq);
    }
  }
  // The rows are stored as counted by their caller (sql_counts.ts).
  tally(tx, queue, TALLY_ENQUEUED, created, (job) => job.type);
}
