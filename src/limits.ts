/**
 * The queue's limit calls (SPEC §7.3): setLimits checks the limits and
 * stores them in one backend call, in a canonical form (only the keys
 * given, in a fixed order); getLimits reads them back. It must never hold
 * state of its own: limits live in the backend, which enforces them at
 * claim.
 *
 * @module
 */

import type { BackendLimits } from "./backend/interface_limits.ts";
import type { Backend } from "./backend/interface.ts";
import { ValidationError } from "./errors.ts";
import type { LimitRule, Limits, QueueLimits } from "./limits_types.ts";
import type { BackendHandle } from "./queue_handle.ts";
import { checkName, checkNumber, invalid } from "./validate.ts";

/** The largest concurrency or rate `max`. */
const MAX_COUNT = 1_000_000;
/** The longest rate window: a year of ms. */
const MAX_PER = 31_536_000_000;

/** What the calls need of the queue. */
export interface LimitsContext<Tx> {
  name: string;
  clock: () => number;
  handle: BackendHandle<Tx>;
}

/** Makes the limit calls of a queue. */
export function limitCalls<Tx>(c: LimitsContext<Tx>): QueueLimits {
  const { name, clock, handle } = c;
  return {
    async setLimits(limits) {
      const checked = checkLimits(limits);
      await handle.call(
        "setLimits",
        (b) => limitsOf(b).setLimits(name, checked, { now: clock() }),
      );
    },
    getLimits: () =>
      handle.call(
        "getLimits",
        (b) => limitsOf(b).getLimits(name, { now: clock() }),
      ),
  };
}

/**
 * The limit transitions of a backend.
 *
 * @throws {ValidationError} for a backend without them.
 */
export function limitsOf(backend: Backend<unknown>): BackendLimits {
  if (backend.capabilities.limits === false) {
    throw new ValidationError(
      `Cannot use limits as the ${backend.name} backend does not support them`,
    );
  }
  return backend;
}

/**
 * Checks limits and returns them in canonical form: only the keys given,
 * in the order concurrency, rate, types (by name), groups.
 *
 * @throws {ValidationError} for anything else.
 */
export function checkLimits(value: unknown): Limits {
  const act = "set limits";
  const record = objectOf(value, act, "limits", [
    "concurrency",
    "rate",
    "types",
    "groups",
  ]);
  const out: Limits = checkRule(record, act, "limits");
  if (record.types !== undefined) {
    const types = objectOf(record.types, act, "types", null);
    out.types = {};
    for (const type of Object.keys(types).sort()) {
      checkName(type, act, "types");
      const field = `types.${type}`;
      out.types[type] = checkRule(
        objectOf(types[type], act, field, ["concurrency", "rate"]),
        act,
        field,
      );
    }
  }
  if (record.groups !== undefined) {
    out.groups = checkRule(
      objectOf(record.groups, act, "groups", ["concurrency", "rate"]),
      act,
      "groups",
    );
  }
  return out;
}

function checkRule(
  record: Record<string, unknown>,
  act: string,
  field: string,
): LimitRule {
  const out: LimitRule = {};
  if (record.concurrency !== undefined) {
    out.concurrency = count(record.concurrency, act, `${field}.concurrency`);
  }
  if (record.rate !== undefined) {
    const rate = objectOf(record.rate, act, `${field}.rate`, ["max", "per"]);
    out.rate = {
      max: count(rate.max, act, `${field}.rate.max`),
      per: checkNumber(rate.per, act, `${field}.rate.per`, {
        min: 1,
        max: MAX_PER,
        integer: true,
      }),
    };
  }
  return out;
}

const count = (value: unknown, act: string, field: string): number =>
  checkNumber(value, act, field, { min: 1, max: MAX_COUNT, integer: true });

/** A plain object whose keys are among `keys` (any keys when null). */
function objectOf(
  value: unknown,
  act: string,
  field: string,
  keys: readonly string[] | null,
): Record<string, unknown> {
  const shape = keys === null ? "an object" : `an object of ${keys.join(", ")}`;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalid(act, field, shape, value);
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (keys !== null && !keys.includes(key)) {
      throw new ValidationError(
        `Cannot ${act} as '${field}' has an unknown key '${key}': it takes ${
          keys.join(", ")
        }`,
      );
    }
  }
  return record;
}
