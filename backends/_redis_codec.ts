/**
 * Turns what the Redis scripts store and publish into backend records, and
 * records into script arguments. Field names are short on purpose: they are
 * stored once per job and sent on every claim.
 *
 * | field | JobRecord | field | JobRecord |
 * | --- | --- | --- | --- |
 * | x | id, createdAt, ttl, metadata, data (packed) | s | status |
 * | t | type | pg | progress (absent: 0) |
 * | p | priority | m | message (absent: "") |
 * | ma | maxAttempts | r | result (JSON text) |
 * | ra | runAt | e | error (JSON text) |
 * | ea | expiresAt | a | attempt (absent: 0) |
 * | k | key | ua | updatedAt (absent: createdAt) |
 * | q | enqueue sequence | sa | startedAt |
 * | lt, lu | lease token, until | co | completedAt |
 * | v | version (absent: 1) | | |
 *
 * `x` is `id \n createdAt \n ttl \n metadata \n data`: fields only the
 * client reads travel as one string (JSON text never holds a raw newline).
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

/** Packs the fields only the client reads (see the table above). */
export function packJob(job: NewJobRecord): string {
  return `${job.id}\n${job.createdAt}\n${
    job.ttl ?? ""
  }\n${job.metadata}\n${job.data}`;
}

/** Decodes the fields of a job hash; null when there is no job. */
export function recordOf(h: Record<string, string>): JobRecord | null {
  const x = h.x;
  if (x === undefined || h.s === undefined) return null;
  const a = x.indexOf("\n");
  const b = x.indexOf("\n", a + 1);
  const c = x.indexOf("\n", b + 1);
  const d = x.indexOf("\n", c + 1);
  const ttl = x.slice(b + 1, c);
  const createdAt = Number(x.slice(a + 1, b));
  const status = h.s as JobStatus;
  return {
    id: x.slice(0, a),
    type: h.t ?? "",
    data: x.slice(d + 1),
    priority: Number(h.p),
    maxAttempts: Number(h.ma),
    runAt: Number(h.ra),
    createdAt,
    ttl: ttl === "" ? null : Number(ttl),
    expiresAt: num(h.ea),
    key: h.k ?? null,
    metadata: x.slice(c + 1, d),
    status,
    progress: Number(h.pg ?? 0),
    message: h.m ?? "",
    result: status === "complete" ? h.r ?? null : null,
    error: parseError(h.e),
    attempt: Number(h.a ?? 0),
    updatedAt: h.ua === undefined ? createdAt : Number(h.ua),
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
  "x",
  "p",
  "ma",
  "ra",
  "ea",
  "k",
  "pg",
  "m",
  "a",
  "v",
  "q",
  "e",
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

/** Appends one job's 9 enqueue arguments (see ENQUEUE in _redis_scripts.ts). */
export function pushJobArgs(args: string[], job: NewJobRecord): void {
  args.push(
    job.id,
    job.type,
    packJob(job),
    String(job.priority),
    String(job.maxAttempts),
    String(job.runAt),
    String(job.createdAt),
    job.expiresAt === null ? "" : String(job.expiresAt),
    job.key ?? "",
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
