/**
 * Input checks and JSON encoding: everything a caller hands in is checked
 * here, before anything reaches a backend. Throws ValidationError only.
 *
 * @module
 */

import { ValidationError } from "./errors.ts";
import type { ListOptions } from "./queue_types.ts";
import type { ClaimedJob, JobStatus, Priority } from "./types.ts";

const TYPE_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
// A Map, not an object literal: "toString" or "__proto__" must not be a name.
const PRIORITY_NAMES: ReadonlyMap<string, number> = new Map([
  ["low", 1],
  ["normal", 5],
  ["high", 10],
]);
const STATUSES: readonly JobStatus[] = [
  "waiting",
  "pending",
  "processing",
  "complete",
  "failed",
  "cancelled",
];

/** Makes the std-style message: "Cannot X as 'f' must be R: current value is V". */
export function invalid(
  action: string,
  field: string,
  rule: string,
  value: unknown,
): ValidationError {
  return new ValidationError(
    `Cannot ${action} as '${field}' must be ${rule}: current value is ${
      show(value)
    }`,
  );
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "symbol" || typeof value === "function") {
    return typeof value;
  }
  if (value !== null && typeof value === "object") return showObject(value);
  return String(value);
}

/** "an array", "an object", or "an instance of Date" for one that is not plain. */
function showObject(value: object): string {
  try {
    if (Array.isArray(value)) return "an array";
    const name = Object.getPrototypeOf(value)?.constructor?.name;
    return typeof name === "string" && name !== "" && name !== "Object"
      ? `an instance of ${name}`
      : "an object";
  } catch {
    return "an object"; // a revoked Proxy, or a getter that throws
  }
}

/** True for a valid job type, queue name, group or ref. */
export function isName(value: unknown): value is string {
  return typeof value === "string" && TYPE_PATTERN.test(value);
}

/** Checks a job type or queue name. */
export function checkName(
  value: unknown,
  action: string,
  field: string,
): string {
  if (typeof value !== "string" || !TYPE_PATTERN.test(value)) {
    throw invalid(
      action,
      field,
      "1 to 128 characters of [A-Za-z0-9_.:-]",
      value,
    );
  }
  return value;
}

/** Resolves a priority name or checks an integer priority. */
export function checkPriority(
  value: Priority | undefined,
  action: string,
): number {
  if (value === undefined) return 5;
  const named = typeof value === "string"
    ? PRIORITY_NAMES.get(value)
    : undefined;
  if (named !== undefined) return named;
  if (
    typeof value !== "number" || !Number.isInteger(value) || value < 1 ||
    value > 100
  ) {
    throw invalid(
      action,
      "priority",
      'an integer in 1..100 or "low", "normal", "high"',
      value,
    );
  }
  return value;
}

/** Checks a number of milliseconds or seconds: finite and at least `min`. */
export function checkNumber(
  value: unknown,
  action: string,
  field: string,
  { min = 0, exclusive = false, integer = false, max = Infinity } = {},
): number {
  const ok = typeof value === "number" && Number.isFinite(value) &&
    (exclusive ? value > min : value >= min) && value <= max &&
    (!integer || Number.isInteger(value));
  if (!ok) {
    const kind = integer ? "an integer" : "a finite number";
    const bound = exclusive ? `> ${min}` : `>= ${min}`;
    const upper = max === Infinity ? "" : ` and <= ${max}`;
    throw invalid(action, field, `${kind} ${bound}${upper}`, value);
  }
  return value as number;
}

/** Checks a progress fraction. */
export function checkProgress(value: unknown): number {
  if (
    typeof value !== "number" || !Number.isFinite(value) || value < 0 ||
    value > 1
  ) {
    throw invalid("update job", "progress", "a number in 0..1", value);
  }
  return value;
}

/** Checks a status filter. */
export function checkStatus(value: unknown, action: string): JobStatus {
  if (!STATUSES.includes(value as JobStatus)) {
    throw invalid(action, "status", `one of ${STATUSES.join(", ")}`, value);
  }
  return value as JobStatus;
}

/** Checks a string of bounded length that every store keeps as it is. */
export function checkString(
  value: unknown,
  action: string,
  field: string,
  maxLength: number,
  minLength = 0,
): string {
  if (
    typeof value !== "string" || value.length > maxLength ||
    value.length < minLength
  ) {
    throw invalid(
      action,
      field,
      `a string of ${minLength} to ${maxLength} characters`,
      value,
    );
  }
  if (!storable(value)) {
    throw invalid(action, field, "text without NUL or lone surrogates", value);
  }
  return value;
}

/** A lone half of a UTF-16 surrogate pair. */
const LONE =
  /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Whether every store keeps `text` as it is: no NUL (PostgreSQL refuses
 * it, SQLite cuts the text there) and no lone surrogate (UTF-8 has none:
 * two texts would be stored as one).
 */
function storable(text: string): boolean {
  return !text.includes("\0") && !LONE.test(text);
}

/** The length of `text` in UTF-8 bytes, without encoding it. */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff) i++, bytes += 2; // a surrogate pair: 4 bytes for 2 units
    else bytes += 2;
  }
  return bytes;
}

/**
 * Encodes a value as JSON text, rejecting what JSON would silently lose or
 * cannot hold: functions, symbols, BigInt, cycles, NaN and Infinity at any
 * depth, and `undefined` as the value itself. An `undefined` property is
 * dropped, as JSON.stringify does.
 */
export function encodeJson(
  value: unknown,
  action: string,
  field: string,
  maxBytes: number,
): string {
  if (value === undefined) {
    throw invalid(action, field, "a JSON value (use null for no data)", value);
  }
  if (value === null) return "null";
  let text: string | undefined;
  try {
    text = JSON.stringify(value, function (key, v) {
      const t = typeof v;
      if (t === "function" || t === "symbol" || t === "bigint") {
        throw invalid(action, field, `JSON, but ${keyOf(key)} holds a ${t}`, v);
      }
      if (t === "number" && !Number.isFinite(v)) {
        throw invalid(action, field, `JSON, but ${keyOf(key)} holds ${v}`, v);
      }
      return v;
    });
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError(
      `Cannot ${action} as '${field}' must be JSON: ${
        err instanceof Error ? err.message : String(err)
      }`,
      { cause: err },
    );
  }
  if (text === undefined) {
    throw invalid(action, field, "a JSON value", value);
  }
  if (text.length * 3 > maxBytes) {
    const size = text.length > maxBytes ? text.length : utf8Length(text);
    if (size > maxBytes) {
      throw new ValidationError(
        `Cannot ${action} as '${field}' must be at most ${maxBytes} bytes of JSON: current size is ${
          text.length > maxBytes ? "over " + maxBytes : size
        } bytes`,
      );
    }
  }
  return text;
}

function keyOf(key: string): string {
  return key === "" ? "the value" : `key '${key}'`;
}

/**
 * Checks that a value is a plain object (its prototype Object.prototype or
 * null, so not a Date, a Map, an array nor a class instance) and encodes it
 * as JSON.
 */
export function encodeObject(
  value: unknown,
  action: string,
  field: string,
  maxBytes: number,
): string {
  if (value === undefined) return "{}";
  if (!isPlainObject(value)) {
    throw invalid(action, field, "a JSON object", value);
  }
  return encodeJson(value, action, field, maxBytes);
}

function isPlainObject(value: unknown): boolean {
  if (value === null || typeof value !== "object") return false;
  try {
    // Object.prototype of any realm (a plain object from a vm context or
    // iframe too) is itself the end of its chain.
    const proto = Object.getPrototypeOf(value);
    return proto === null || Object.getPrototypeOf(proto) === null;
  } catch {
    return false; // a revoked Proxy
  }
}

/** Checks a job handed back to the queue: one claim() returned. */
export function checkClaimed(
  job: ClaimedJob,
  action: string,
): { id: string; token: string } {
  if (
    job === null || typeof job !== "object" || typeof job.id !== "string" ||
    typeof job.lease?.token !== "string"
  ) {
    throw invalid(action, "job", "a job returned by claim()", job);
  }
  return { id: job.id, token: job.lease.token };
}

/** Checks a job id. */
export function checkId(id: unknown, action: string): string {
  return checkString(id, action, "id", 256, 1);
}

/**
 * Checks a claim's type filter; null when there is none. A type named twice
 * is kept once: a backend counts each name it is given (a type's
 * concurrency allowance, say), and the filter means the same either way.
 */
export function checkTypes(
  types: unknown,
  action: string,
): readonly string[] | null {
  if (types === undefined || types === null) return null;
  if (!Array.isArray(types) || types.length === 0) {
    throw invalid(action, "types", "a non-empty array of job types", types);
  }
  for (const t of types) checkName(t, action, "types");
  if (types.length === 1) return types;
  const once = [...new Set<string>(types)];
  return once.length === types.length ? types : once;
}

/** Checks a lease length in ms; `fallback` when it is not given. */
export function checkLeaseMs(
  value: number | undefined,
  action: string,
  fallback: number,
): number {
  return value === undefined
    ? fallback
    : checkNumber(value, action, "leaseMs", { min: 0, exclusive: true });
}

/** Checks an update of a claimed job's progress and message. */
export function checkChange(
  change: { progress?: number; message?: string },
): { progress?: number; message?: string } {
  if (change === null || typeof change !== "object") {
    throw invalid("update job", "change", "an object", change);
  }
  const c: { progress?: number; message?: string } = {};
  if (change.progress !== undefined) {
    c.progress = checkProgress(change.progress);
  }
  if (change.message !== undefined) {
    c.message = checkString(change.message, "update job", "message", 4096);
  }
  return c;
}

/** Checks list() options and fills in the defaults. */
export function checkListOptions(options: ListOptions): {
  status: JobStatus | null;
  type: string | null;
  limit: number;
  after: string | null;
} {
  const act = "list jobs";
  const limit = options.limit ?? 100;
  checkNumber(limit, act, "limit", { min: 1, integer: true, max: 10_000 });
  const status = options.status === undefined
    ? null
    : checkStatus(options.status, act);
  const type = options.type === undefined
    ? null
    : checkName(options.type, act, "type");
  const after = options.cursor === undefined || options.cursor === null
    ? null
    : checkString(options.cursor, act, "cursor", 256, 1);
  return { status, type, limit, after };
}
