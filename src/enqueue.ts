/**
 * Enqueue input: checks one job's type, data and options and turns them into
 * the record a backend stores (id, defaults, JSON text). Throws
 * ValidationError only; never touches a backend.
 *
 * @module
 */

import type { KeepRecord, NewJobRecord } from "./backend/interface.ts";
import { TIMEOUT_KEY } from "./codec.ts";
import { ValidationError } from "./errors.ts";
import { newId } from "./id.ts";
import type { EnqueueOptions } from "./queue_types.ts";
import { checkKeep } from "./retention.ts";
import {
  checkName,
  checkNumber,
  checkPriority,
  checkString,
  encodeJson,
  encodeObject,
  invalid,
} from "./validate.ts";

/** The queue's defaults a new job takes. */
export interface JobDefaults {
  /** Claims a job may have. */
  maxAttempts: number;
  /** Largest data or metadata, in bytes of UTF-8 JSON. */
  maxPayloadBytes: number;
  /** Seconds to live when a job has no `ttl`. */
  defaultTtl: number | undefined;
  /** How long finished jobs are kept, when a job does not say. */
  keep: KeepRecord;
}

/**
 * The longest ttl, in seconds: 100 years of 365.25 days. Above it a job's
 * `expiresAt` would stop being a time every backend can hold (1e308 gives
 * Infinity), so it is a ValidationError; for a job that never expires, give
 * no ttl.
 */
export const MAX_TTL_SECONDS = 3_155_760_000;

/** Checks a ttl (or a queue's `defaultTtl`): seconds in (0, MAX_TTL_SECONDS]. */
export function checkTtl(
  value: unknown,
  action: string,
  field: string,
): number {
  const ttl = checkNumber(value, action, field, { min: 0, exclusive: true });
  if (ttl > MAX_TTL_SECONDS) {
    throw invalid(
      action,
      field,
      `at most ${MAX_TTL_SECONDS} seconds (100 years)`,
      ttl,
    );
  }
  return ttl;
}

/** Checks one job and makes its record; `now` is its creation time. */
export function prepareJob(
  type: unknown,
  data: unknown,
  options: EnqueueOptions<unknown> | undefined,
  now: number,
  defaults: JobDefaults,
): NewJobRecord {
  const act = "enqueue job";
  if (
    options !== undefined && (options === null || typeof options !== "object")
  ) {
    throw invalid(act, "options", "an object", options);
  }
  const o = options ?? {};
  checkName(type, act, "type");
  const priority = checkPriority(o.priority, act);
  if (o.delay !== undefined && o.runAt !== undefined) {
    throw new ValidationError(
      "Cannot enqueue job with both 'delay' and 'runAt'",
    );
  }
  let runAt = now;
  if (o.delay !== undefined) runAt = now + checkNumber(o.delay, act, "delay");
  if (o.runAt !== undefined) {
    const at = o.runAt instanceof Date ? o.runAt.getTime() : o.runAt;
    runAt = Math.max(now, checkNumber(at, act, "runAt"));
  }
  const ttl = o.ttl ?? defaults.defaultTtl;
  if (ttl !== undefined) checkTtl(ttl, act, "ttl");
  const key = o.key === undefined
    ? null
    : checkString(o.key, act, "key", 512, 1);
  const attempts = o.maxAttempts === undefined
    ? defaults.maxAttempts
    : checkNumber(o.maxAttempts, act, "maxAttempts", {
      min: 1,
      integer: true,
      max: 1_000_000,
    });
  const record: NewJobRecord = {
    id: newId(now),
    type: type as string,
    data: encodeJson(data, act, "data", defaults.maxPayloadBytes),
    priority,
    maxAttempts: attempts,
    runAt,
    createdAt: now,
    ttl: ttl ?? null,
    expiresAt: ttl === undefined ? null : now + Math.round(ttl * 1000),
    key,
    metadata: metadataOf(o, defaults.maxPayloadBytes),
    keep: checkKeep(o, act, defaults.keep),
  };
  if (o.group !== undefined) record.group = checkName(o.group, act, "group");
  return record;
}

/**
 * The metadata text of a new job: the caller's object, and the job's own
 * `timeout` under a reserved key (TIMEOUT_KEY), so that it travels with the
 * job to whichever worker claims it.
 */
function metadataOf(o: EnqueueOptions<unknown>, maxBytes: number): string {
  const act = "enqueue job";
  const text = encodeObject(o.metadata, act, "metadata", maxBytes);
  if (o.metadata !== undefined && Object.hasOwn(o.metadata, TIMEOUT_KEY)) {
    throw new ValidationError(
      `Cannot enqueue job as metadata key '${TIMEOUT_KEY}' is reserved: use the 'timeout' option`,
    );
  }
  if (o.timeout === undefined) return text;
  const timeout = checkNumber(o.timeout, act, "timeout", {
    min: 0,
    exclusive: true,
  });
  const own = `{"${TIMEOUT_KEY}":${JSON.stringify(timeout)}`;
  return text === "{}" ? `${own}}` : `${own},${text.slice(1)}`;
}
