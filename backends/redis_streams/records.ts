/**
 * Turns what the Redis Streams scripts store into backend records, and
 * records into script arguments; it never talks to Redis (transitions.ts
 * does). A job is five fields of five per-queue hashes (a claim script
 * cannot declare a per-job key: it learns the ids as it reads the
 * streams):
 *
 * - `st`: its state, one string of fields by position, spaces between,
 *   the message last (the table in lua_prelude.ts);
 * - `job`: what never changes, `createdAt ttl metadata data` by lines
 *   (JSON text on one line; data last);
 * - `kid`: its idempotency key; `err`: its error; `res`: its result
 *   (JSON text), each only when it has one.
 *
 * @module
 */

import type {
  JobRecord,
  KeepRecord,
  KeepRule,
  NewJobRecord,
} from "../../src/backend/interface.ts";
import type { JobError, JobStatus } from "../../src/types.ts";

/** The separators of packed jobs (no JSON text holds a raw one). */
const FIELD = "\x01";
const END = "\x02";

const num = (v: string | undefined): number | null =>
  v === undefined || v === "" ? null : Number(v);

function parseError(text: unknown): JobError | null {
  if (typeof text !== "string") return null;
  try {
    return JSON.parse(text) as JobError;
  } catch {
    return { message: text };
  }
}

/**
 * JSON text on one line: a raw CR or LF in JSON text can only be whitespace
 * between tokens, so dropping it keeps the value.
 */
function oneLine(json: string): string {
  return json.includes("\n") || json.includes("\r")
    ? JSON.stringify(JSON.parse(json))
    : json;
}

/** A job's keep rules as state field 17: `<age>,<count>,<age>,<count>`. */
export function keepField({ complete, failed }: KeepRecord): string {
  const rule = (r: KeepRule): string => `${r.age ?? "-"},${r.count ?? "-"}`;
  const field = `${rule(complete)},${rule(failed)}`;
  return field === "-,-,-,-" ? "" : field;
}

function keepOf(field: string): KeepRecord {
  if (field === "") {
    return {
      complete: { age: null, count: null },
      failed: { age: null, count: null },
    };
  }
  const [ca, cc, fa, fc] = field.split(",").map((v) =>
    v === "-" ? null : Number(v)
  );
  return {
    complete: { age: ca ?? null, count: cc ?? null },
    failed: { age: fa ?? null, count: fc ?? null },
  };
}

/** What never changes of a job: its `job` field. */
function packX(job: NewJobRecord): string {
  return `${job.createdAt}\n${job.ttl ?? ""}\n${oneLine(job.metadata)}\n${
    oneLine(job.data)
  }`;
}

/** Splits a state string into its 18 fields (the message may hold spaces). */
export function stateFields(state: string): string[] {
  const f: string[] = [];
  let at = 0;
  for (let i = 0; i < 17; i++) {
    const next = state.indexOf(" ", at);
    f.push(state.slice(at, next));
    at = next + 1;
  }
  f.push(state.slice(at));
  return f;
}

/**
 * Decodes a job from its stored fields (the values of a get, list or claim
 * reply: false or null where a field is absent); null without a state.
 */
export function toRecord(
  id: string,
  state: unknown,
  x: unknown,
  key: unknown,
  error: unknown,
  result: unknown,
): JobRecord | null {
  if (typeof state !== "string" || typeof x !== "string") return null;
  const f = stateFields(state);
  const cut1 = x.indexOf("\n");
  const cut2 = x.indexOf("\n", cut1 + 1);
  const cut3 = x.indexOf("\n", cut2 + 1);
  const ttl = x.slice(cut1 + 1, cut2);
  const status = f[1] as JobStatus;
  return {
    id,
    type: f[0]!,
    data: x.slice(cut3 + 1),
    priority: Number(f[6]),
    maxAttempts: Number(f[15]),
    runAt: Number(f[5]),
    createdAt: Number(x.slice(0, cut1)),
    ttl: ttl === "" ? null : Number(ttl),
    expiresAt: num(f[14]),
    key: typeof key === "string" ? key : null,
    metadata: x.slice(cut2 + 1, cut3),
    keep: keepOf(f[16]!),
    status,
    progress: Number(f[4]),
    message: f[17]!,
    result: status === "complete" && typeof result === "string" ? result : null,
    error: parseError(error),
    attempt: Number(f[2]),
    updatedAt: Number(f[7]),
    startedAt: num(f[8]),
    completedAt: num(f[9]),
    lease: status === "processing" && f[10] !== ""
      ? { token: f[10]!, until: Number(f[11]) }
      : null,
    version: Number(f[3]),
  };
}

/**
 * The enqueue script's arguments after the common ones (lua_enqueue.ts):
 * the packed jobs, then (index, key) per job with a key.
 */
export function enqueueArgs(jobs: readonly NewJobRecord[]): string[] {
  let packed = "";
  for (const job of jobs) {
    packed += [
      job.id,
      job.type,
      job.priority,
      job.runAt,
      job.expiresAt ?? "",
      job.maxAttempts,
      keepField(job.keep),
      job.createdAt,
      packX(job),
    ].join(FIELD) + END;
  }
  const args = [packed];
  for (let i = 0; i < jobs.length; i++) {
    const key = jobs[i]!.key;
    if (key !== null) args.push(String(i), key);
  }
  return args;
}

/**
 * The import script's six values of a job (lua_enqueue.ts): id, state, x,
 * key, error, result. A job is written as it is, with no lease: one that
 * was processing (migrate() never sends one) goes back to pending.
 */
export function importArgs(job: JobRecord): string[] {
  const finished = job.status === "complete" || job.status === "failed" ||
    job.status === "cancelled";
  const f = [
    job.type,
    finished ? job.status : "pending",
    job.attempt,
    job.version,
    job.progress,
    job.runAt,
    job.priority,
    job.updatedAt,
    job.startedAt ?? "",
    job.completedAt ?? "",
    "",
    "",
    "",
    "",
    job.expiresAt ?? "",
    job.maxAttempts,
    keepField(job.keep),
    job.message,
  ];
  return [
    job.id,
    f.join(" "),
    packX(job),
    job.key ?? "",
    job.error === null ? "" : JSON.stringify(job.error),
    job.status === "complete" ? job.result ?? "" : "",
  ];
}

/** The type a lease token names (`<type>/<random>`), or null. */
export function typeOfToken(token: string): string | null {
  const slash = typeof token === "string" ? token.indexOf("/") : -1;
  return slash > 0 ? token.slice(0, slash) : null;
}
