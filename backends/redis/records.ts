/**
 * Turns what the Redis scripts store and publish into backend records, and
 * records into script arguments; it never talks to Redis itself (that is
 * transitions.ts and events.ts). Field names are short on purpose: they are
 * stored once per job and sent on every claim. A new job's hash holds only
 * x, t and s (and ea, k when it has them, q when it is delayed or has a
 * group, g): the rest is written when it changes (q by the first claim).
 *
 * | field | JobRecord | field | JobRecord |
 * | --- | --- | --- | --- |
 * | x | what never changes (packed) | s | status |
 * | t | type | pg | progress (absent: 0) |
 * | ra | runAt (absent: x's) | m | message (absent: "") |
 * | ea | expiresAt | r | result (JSON text) |
 * | k | key | e | error (JSON text) |
 * | q | ready score (see qof) | a | attempt (absent: 0) |
 * | p | priority (absent: x's) | | |
 * | lt, lu | lease token, until | ua | updatedAt (absent: createdAt) |
 * | v | version (absent: 1) | sa | startedAt |
 * | kp | keep rules (absent: none) | co | completedAt |
 * | f | its flow link (absent: none) | g | group (absent: none) |
 * | lc | counted under limits (lua_limits.ts) | | |
 *
 * `x` is the job as enqueued, one line per field: `id type priority runAt
 * expiresAt maxAttempts createdAt ttl metadata data` (JSON text never holds
 * a raw newline; data, the last line, never needs to be split off). The
 * enqueue script gets it whole and stores it as it is. A missing field
 * means null. `kp` is the job's keep rules (see keepField); a job stored
 * before retention has none, and is kept. `f` is a flow job's link
 * (flowField; lua_flows.ts lists the other fields of a flow job).
 *
 * @module
 */

import type {
  JobRecord,
  KeepRecord,
  KeepRule,
  NewJobRecord,
  UpdateRecord,
} from "../../src/backend/interface.ts";
import type { FlowLink } from "../../src/backend/interface_flows.ts";
import type { JobError, JobStatus } from "../../src/types.ts";

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
  return toRecord(hashOf(reply));
}

/**
 * Packs a new job into the one string the enqueue script gets for it and
 * stores as its `x` field (see the table above).
 */
export function packJob(job: NewJobRecord): string {
  return `${job.id}\n${job.type}\n${job.priority}\n${job.runAt}\n${
    job.expiresAt ?? ""
  }\n${job.maxAttempts}\n${job.createdAt}\n${job.ttl ?? ""}\n${
    oneLine(job.metadata)
  }\n${oneLine(job.data)}`;
}

/**
 * JSON text on one line: a raw CR or LF in JSON text can only be whitespace
 * between tokens (the queue never writes any), so dropping it keeps the
 * value. Packed jobs are split on them.
 */
function oneLine(json: string): string {
  return json.includes("\n") || json.includes("\r")
    ? JSON.stringify(JSON.parse(json))
    : json;
}

/**
 * A job's keep rules as its `kp` field: `<age> <count>` once complete, then
 * once failed or cancelled, "-" for none (lua_retention.ts reads it); ""
 * (nothing stored) when every rule is none.
 */
export function keepField({ complete, failed }: KeepRecord): string {
  const rule = (r: KeepRule): string => `${r.age ?? "-"} ${r.count ?? "-"}`;
  const field = `${rule(complete)} ${rule(failed)}`;
  return field === "- - - -" ? "" : field;
}

/** Reads a `kp` field (see keepField); none: kept. */
function keepOf(field: string | undefined): KeepRecord {
  if (field === undefined) {
    return {
      complete: { age: null, count: null },
      failed: { age: null, count: null },
    };
  }
  const [ca, cc, fa, fc] = field.split(" ").map((v) =>
    v === "-" ? null : Number(v)
  );
  return {
    complete: { age: ca ?? null, count: cc ?? null },
    failed: { age: fa ?? null, count: fc ?? null },
  };
}

/** Decodes the fields of a job hash; null when there is no job. */
export function toRecord(h: Record<string, string>): JobRecord | null {
  const x = h.x;
  if (x === undefined || h.s === undefined) return null;
  // id t p ra ea ma createdAt ttl metadata data
  const cut: number[] = [];
  let at = -1;
  for (let i = 0; i < 9; i++) cut.push(at = x.indexOf("\n", at + 1));
  const part = (i: number) => x.slice(i === 0 ? 0 : cut[i - 1]! + 1, cut[i]);
  const ttl = part(7);
  const createdAt = Number(part(6));
  const status = h.s as JobStatus;
  return {
    id: part(0),
    type: h.t ?? part(1),
    data: x.slice(cut[8]! + 1),
    priority: Number(h.p ?? part(2)),
    maxAttempts: Number(part(5)),
    runAt: Number(h.ra ?? part(3)),
    createdAt,
    ttl: ttl === "" ? null : Number(ttl),
    expiresAt: num(h.ea),
    key: h.k ?? null,
    metadata: part(8),
    keep: keepOf(h.kp),
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
    ...(h.f === undefined ? {} : { flow: flowOf(h.f) }),
    ...(h.g === undefined ? {} : { group: h.g }),
  };
}

/**
 * A flow job's link as its `f` field: `<flow id>\n<ref>\n<onParentFailure>
 * \n<parents JSON>` (ids and refs never hold a newline; JSON text has none).
 */
export function flowField(link: FlowLink): string {
  return `${link.id}\n${link.ref}\n${link.onParentFailure}\n${
    JSON.stringify(link.parents)
  }`;
}

/** Reads an `f` field (see flowField). */
export function flowOf(field: string): FlowLink {
  const [id, ref, policy] = field.split("\n", 3) as [string, string, string];
  const parents = field.slice(id.length + ref.length + policy.length + 3);
  return {
    id,
    ref,
    parents: JSON.parse(parents) as Record<string, string>,
    onParentFailure: policy as FlowLink["onParentFailure"],
  };
}

/**
 * The fields the claim script reads and returns for each job it claims, in
 * this order (positional, to spare field names on the hottest path).
 */
export const CLAIM_FIELDS: readonly string[] = [
  // q comes back as the job's ready score (the claim reads it from R).
  "s",
  "t",
  "x",
  "ra",
  "ea",
  "k",
  "pg",
  "m",
  "a",
  "v",
  "q",
  "e",
  "p",
  "kp",
  "f",
  "g",
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

/**
 * One job as the enqueue helper takes it (lua_enqueue.ts): its keep field
 * (keepField), "\n", its group ("" for none), "\n", the packed job, "\r".
 */
export function enqueueEntry(job: NewJobRecord): string {
  return keepField(job.keep) + "\n" + (job.group ?? "") + "\n" +
    packJob(job) + "\r";
}

/**
 * The enqueue script's arguments (see ENQUEUE in lua_enqueue.ts): now, n,
 * the jobs, each as enqueueEntry makes it (no
 * field holds a raw CR: JSON text escapes it, and types and ids cannot hold
 * one), then (index, key) per job with a key.
 */
export function enqueueArgs(
  now: number,
  jobs: readonly NewJobRecord[],
): string[] {
  let packed = "";
  for (const job of jobs) packed += enqueueEntry(job);
  const args = [String(now), String(jobs.length), packed];
  for (let i = 0; i < jobs.length; i++) {
    const key = jobs[i]!.key;
    if (key !== null) args.push(String(i), key);
  }
  return args;
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
