/**
 * Retention input: turns `removeOnComplete` / `removeOnFail` (queue and
 * enqueue options) into the keep rules a backend applies as a job finishes,
 * and checks `clean()`'s options. Throws ValidationError only; it never
 * touches a backend (the backends apply the rules: src/backend/records.ts,
 * KeepRule).
 *
 * @module
 */

import type {
  CleanRequest,
  KeepRecord,
  KeepRule,
} from "./backend/interface.ts";
import type { CleanOptions } from "./control_types.ts";
import type { RemoveOption } from "./control_types.ts";
import { checkName, checkNumber, invalid } from "./validate.ts";

/** A day: how long a complete job is kept by default. */
export const KEEP_COMPLETE_MS = 86_400_000;
/** A week: how long a failed or cancelled job is kept by default. */
export const KEEP_FAILED_MS = 604_800_000;

/** The rules of a queue that sets neither option. */
export const DEFAULT_KEEP: KeepRecord = {
  complete: { age: KEEP_COMPLETE_MS, count: null },
  failed: { age: KEEP_FAILED_MS, count: null },
};

const REMOVE: KeepRule = { age: 0, count: null };
const KEEP: KeepRule = { age: null, count: null };

/**
 * Checks one `removeOnComplete` / `removeOnFail` value.
 *
 * @returns Its rule, or `fallback` when the value is undefined.
 */
export function checkRemoveOption(
  value: RemoveOption | undefined,
  action: string,
  field: string,
  fallback: KeepRule,
): KeepRule {
  if (value === undefined) return fallback;
  if (value === true) return REMOVE;
  if (value === false) return KEEP;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalid(action, field, "true, false or { age?, count? }", value);
  }
  for (const name of Object.keys(value)) {
    if (name !== "age" && name !== "count") {
      throw invalid(
        action,
        field,
        "true, false or { age?, count? }",
        value,
      );
    }
  }
  const { age, count } = value;
  return {
    age: age === undefined
      ? null
      : checkNumber(age, action, `${field}.age`, { integer: true }),
    count: count === undefined ? null : checkNumber(
      count,
      action,
      `${field}.count`,
      { integer: true, max: 1_000_000_000 },
    ),
  };
}

/** The queue's rules, from its options (the defaults where unset). */
export function checkKeep(
  options: { removeOnComplete?: RemoveOption; removeOnFail?: RemoveOption },
  action: string,
  fallback: KeepRecord = DEFAULT_KEEP,
): KeepRecord {
  const { removeOnComplete, removeOnFail } = options;
  if (removeOnComplete === undefined && removeOnFail === undefined) {
    return fallback;
  }
  return {
    complete: checkRemoveOption(
      removeOnComplete,
      action,
      "removeOnComplete",
      fallback.complete,
    ),
    failed: checkRemoveOption(
      removeOnFail,
      action,
      "removeOnFail",
      fallback.failed,
    ),
  };
}

const CLEANABLE = new Set(["pending", "complete", "failed", "cancelled"]);

/**
 * Checks clean()'s options.
 *
 * @returns The backend request but its `limit` (the queue deletes in
 *   batches) and `now`, and the most jobs to delete (Infinity: all).
 */
export function checkClean(
  options: CleanOptions,
  now: number,
): { request: Omit<CleanRequest, "limit">; max: number } {
  const act = "clean queue";
  if (options === null || typeof options !== "object") {
    throw invalid(act, "options", "an object with a 'status'", options);
  }
  const { status, olderThan = 0, type, limit } = options;
  if (typeof status !== "string" || !CLEANABLE.has(status)) {
    throw invalid(
      act,
      "status",
      '"pending", "complete", "failed" or "cancelled" (never "processing")',
      status,
    );
  }
  checkNumber(olderThan, act, "olderThan");
  return {
    request: {
      status: status as CleanRequest["status"],
      cutoff: now - olderThan,
      type: type === undefined ? null : checkName(type, act, "type"),
      now,
    },
    max: limit === undefined
      ? Infinity
      : checkNumber(limit, act, "limit", { min: 1, integer: true }),
  };
}
