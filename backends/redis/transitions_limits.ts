/**
 * The limit transitions of the Redis backend (SPEC §7.3): setLimits and
 * getLimits, each one script call (lua_limits.ts). The limits are stored
 * as JSON, for getLimits to read back as given, and flattened into the
 * fields the claim script reads.
 *
 * @module
 */

import type { BackendLimits } from "../../src/backend/interface_limits.ts";
import type { LimitRule, Limits } from "../../src/limits_types.ts";
import type { Scripts } from "./transitions.ts";

/** A rule's `B lim` fields under a prefix: `<p>c` and `<p>r`, plus a name. */
function ruleFields(rule: LimitRule, c: string, r: string): string[] {
  const out: string[] = [];
  if (rule.concurrency !== undefined) out.push(c, String(rule.concurrency));
  if (rule.rate !== undefined) {
    out.push(r, `${rule.rate.max} ${rule.rate.per}`);
  }
  return out;
}

/** The `B lim` fields of limits (see lua_limits.ts), as field, value pairs. */
export function limitFields(limits: Limits): string[] {
  const out = ruleFields(limits, "c", "r");
  for (const [type, rule] of Object.entries(limits.types ?? {})) {
    out.push(...ruleFields(rule, `tc${type}`, `tr${type}`));
  }
  if (limits.groups !== undefined) {
    out.push(...ruleFields(limits.groups, "gc", "gr"));
  }
  return out;
}

/** The limit calls of a Redis backend. */
export function limitCalls(s: Scripts): BackendLimits {
  return {
    async setLimits(queue, limits, { now }) {
      const none = Object.keys(limits).length === 0;
      await s.run("setLimits", queue, [
        String(now),
        none ? "" : JSON.stringify(limits),
        ...(none ? [] : limitFields(limits)),
      ]);
    },
    async getLimits(queue, { now }) {
      const reply = await s.run("getLimits", queue, [String(now)]);
      return typeof reply === "string" ? JSON.parse(reply) as Limits : {};
    },
  };
}
