/**
 * The Redis Streams backend's calls by job id and its reads: cancel,
 * retry, remove, get, list and stats. A call by id reads the job's type
 * first, so that its script can declare that type's stream and delayed
 * set (transitions.ts, byId).
 *
 * @module
 */

import type { JobRecord, ListRequest } from "../../src/backend/interface.ts";
import { countJobs, emptyStats } from "../../src/backend/counts.ts";
import type { JobStatus, QueueStats } from "../../src/types.ts";
import { toRecord } from "./records.ts";
import type { Runner } from "./scripts.ts";
import { byId } from "./transitions.ts";

/** Jobs the list script reads per call, at most. */
const LIST_BUDGET = 1_000;

/** Cancels a pending or processing job. */
export async function cancelJob(
  r: Runner,
  queue: string,
  id: string,
  reason: string,
  now: number,
): Promise<boolean> {
  const error = JSON.stringify({ name: "CancelledError", message: reason });
  const reply = await byId(
    r,
    queue,
    id,
    (type) => r.run("cancel", { queue, now, types: [type], args: [id, error] }),
  );
  return Number(reply) === 1;
}

/** Puts a failed or cancelled job back to pending. */
export async function retryJob(
  r: Runner,
  queue: string,
  id: string,
  now: number,
): Promise<boolean> {
  const reply = await byId(
    r,
    queue,
    id,
    (type) => r.run("retry", { queue, now, types: [type], args: [id] }),
  );
  return Number(reply) === 1;
}

/** Deletes a job whatever its status. */
export async function removeJob(
  r: Runner,
  queue: string,
  id: string,
  now: number,
): Promise<boolean> {
  const reply = await byId(
    r,
    queue,
    id,
    (type) => r.run("remove", { queue, now, types: [type], args: [id] }),
  );
  return Number(reply) === 1;
}

/** Reads a job; null when unknown or expired. */
export async function getJob(
  r: Runner,
  queue: string,
  id: string,
  now: number,
): Promise<JobRecord | null> {
  const reply = await r.run("get", { queue, now, types: [], args: [id] });
  if (!Array.isArray(reply)) return null;
  const [state, x, key, error, result] = reply as unknown[];
  const record = toRecord(id, state, x, key, error, result);
  if (
    record === null ||
    (record.expiresAt !== null && record.expiresAt <= now)
  ) return null;
  return record;
}

/** Lists live jobs by id, one budget of scanned jobs per script call. */
export async function listJobs(
  r: Runner,
  queue: string,
  { status, type, limit, now, after }: ListRequest,
): Promise<JobRecord[]> {
  const out: JobRecord[] = [];
  let from = after ?? "";
  for (;;) {
    const [last, scanned, jobs] = await r.run("list", {
      queue,
      now,
      types: [],
      args: [
        from,
        status ?? "",
        type ?? "",
        String(limit - out.length),
        String(LIST_BUDGET),
      ],
    }) as [string, number, unknown[][]];
    for (const [id, state, x, key, error, result] of jobs) {
      const record = toRecord(String(id), state, x, key, error, result);
      if (record !== null) out.push(record);
    }
    if (out.length >= limit || Number(scanned) < LIST_BUDGET) return out;
    from = String(last);
  }
}

/** Counts live jobs by status and type (the `<status>:<type>` counts). */
export async function readStats(
  r: Runner,
  queue: string,
  now: number,
): Promise<QueueStats> {
  const reply = await r.run("stats", {
    queue,
    now,
    types: [],
    args: [],
  }) as unknown[];
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
