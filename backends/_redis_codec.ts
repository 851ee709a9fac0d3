/**
 * Turns what the Redis scripts store and publish into backend records, and
 * records into script arguments. Field names are short on purpose: they are
 * stored once per job and sent on every claim.
 *
 * | field | JobRecord | field | JobRecord |
 * | --- | --- | --- | --- |
 * | i | id | s | status |
 * | t | type | pg | progress |
 * | d | data | m | message |
 * | p | priority | r | result (JSON text) |
 * | ma | maxAttempts | e | error (JSON text) |
 * | ra | runAt | a | attempt |
 * | ca | createdAt | ua | updatedAt |
 * | tl | ttl | sa | startedAt |
 * | ea | expiresAt | co | completedAt |
 * | k | key | lt, lu | lease token, until |
 * | md | metadata | v | version |
 * | q | enqueue sequence (internal) | | |
 *
 * A missing field means null.
 *
 * @module
 */

import type { JobRecord, NewJobRecord, UpdateRecord } from "../src/backend.ts";
import type { JobError, JobStatus } from "../src/types.ts";

const num = (v: string | undefined): number | null =>
  v === undefined ? null : Number(v);

function parseError(text: string | undefined): JobError | null {
  if (text === undefined) return null;
  try {
    return JSON.parse(text) as JobError;
  } catch {
    return { message: text };
  }
}

/**
 * Reads a job hash: a flat field/value array (HGETALL, as scripts return it;
 * later pairs win) or a map (HGETALL over RESP3).
 */
export function hashOf(reply: unknown): Record<string, string> {
  const h: Record<string, string> = {};
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) {
      h[String(reply[i])] = String(reply[i + 1]);
    }
  } else if (reply instanceof Map) {
    for (const [k, v] of reply) h[String(k)] = String(v);
  } else if (reply !== null && typeof reply === "object") {
    for (const [k, v] of Object.entries(reply)) h[k] = String(v);
  }
  return h;
}

/** Decodes a job hash (see {@linkcode hashOf}); null when there is no job. */
export function decodeHash(reply: unknown): JobRecord | null {
  return recordOf(hashOf(reply));
}

/** Decodes the fields of a job hash; null when there is no job. */
export function recordOf(h: Record<string, string>): JobRecord | null {
  if (h.i === undefined || h.s === undefined) return null;
  const status = h.s as JobStatus;
  return {
    id: h.i,
    type: h.t ?? "",
    data: h.d ?? "null",
    priority: Number(h.p),
    maxAttempts: Number(h.ma),
    runAt: Number(h.ra),
    createdAt: Number(h.ca),
    ttl: num(h.tl),
    expiresAt: num(h.ea),
    key: h.k ?? null,
    metadata: h.md ?? "{}",
    status,
    progress: Number(h.pg ?? 0),
    message: h.m ?? "",
    result: status === "complete" ? h.r ?? null : null,
    error: parseError(h.e),
    attempt: Number(h.a ?? 0),
    updatedAt: Number(h.ua),
    startedAt: num(h.sa),
    completedAt: num(h.co),
    lease: status === "processing" && h.lt !== undefined
      ? { token: h.lt, until: Number(h.lu) }
      : null,
    version: Number(h.v ?? 1),
  };
}

/**
 * The fields the claim script reads and returns for each job it claims, in
 * this order (positional, to spare field names on the hottest path).
 */
export const CLAIM_FIELDS: readonly string[] = [
  "s",
  "t",
  "d",
  "p",
  "ma",
  "ra",
  "ca",
  "tl",
  "ea",
  "k",
  "md",
  "pg",
  "m",
  "a",
  "v",
  "q",
  "e",
  "i",
];

/** Reads a claim script's positional reply into hash fields. */
export function claimedHash(
  values: readonly unknown[],
): Record<string, string> {
  const h: Record<string, string> = {};
  for (let i = 0; i < CLAIM_FIELDS.length; i++) {
    const v = values[i];
    if (v !== null && v !== undefined && v !== false) {
      h[CLAIM_FIELDS[i]!] = String(v);
    }
  }
  return h;
}

/** Appends one job's 11 enqueue arguments (see ENQUEUE in _redis_scripts.ts). */
export function pushJobArgs(args: string[], job: NewJobRecord): void {
  args.push(
    job.id,
    job.type,
    job.data,
    String(job.priority),
    String(job.maxAttempts),
    String(job.runAt),
    String(job.createdAt),
    job.ttl === null ? "" : String(job.ttl),
    job.expiresAt === null ? "" : String(job.expiresAt),
    job.key ?? "",
    job.metadata,
  );
}

type Packed = [
  string,
  string,
  JobStatus,
  number,
  string,
  number,
  number,
  number,
  string | null,
  string | null,
];

/**
 * Decodes one message of an update channel: a JSON array of
 * `[id, type, status, progress, message, attempt, at, version, result, error]`
 * with result and error as JSON text.
 */
export function decodeUpdates(message: string): UpdateRecord[] {
  const packed = JSON.parse(message) as Packed[];
  return packed.map((u) => ({
    jobId: u[0],
    type: u[1],
    status: u[2],
    progress: u[3],
    message: u[4],
    attempt: u[5],
    at: u[6],
    version: u[7],
    result: u[8],
    error: u[9] === null ? null : parseError(u[9]),
  }));
}
