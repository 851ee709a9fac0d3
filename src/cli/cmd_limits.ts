/**
 * The CLI's `limits` command (SPEC §7.3): prints the queue's stored limits
 * (the whole queue, each type, each group key), or replaces them with
 * `--set JSON` (checked as `setLimits` checks them) or `--clear`.
 *
 * @module
 */

import type { LimitRule, Limits } from "../limits_types.ts";
import { parseJson, stringOption } from "./args.ts";
import { table, toJson } from "./format.ts";
import { type Command, UsageError } from "./types.ts";

/** One row of the limits table. */
function row(scope: string, rule: LimitRule): string[] {
  return [
    scope,
    rule.concurrency === undefined ? "-" : String(rule.concurrency),
    rule.rate === undefined ? "-" : `${rule.rate.max}/${rule.rate.per}ms`,
  ];
}

/** The limits as a table, or a line saying there are none. */
export function limitsTable(limits: Limits): string {
  const rows: string[][] = [];
  if (limits.concurrency !== undefined || limits.rate !== undefined) {
    rows.push(row("(queue)", limits));
  }
  for (const [type, rule] of Object.entries(limits.types ?? {})) {
    rows.push(row(`type ${type}`, rule));
  }
  if (limits.groups !== undefined) {
    rows.push(row("(each group)", limits.groups));
  }
  return rows.length === 0
    ? "no limits"
    : table(["SCOPE", "CONCURRENCY", "RATE"], rows);
}

const limits: Command = {
  usage: "",
  summary: "show the queue's limits, or replace them (--set JSON, --clear)",
  args: [0, 0],
  options: {
    set: {
      type: "string",
      value: "JSON",
      help:
        'the limits, as setLimits takes them: {"types":{"email":{"rate":{"max":100,"per":1000}}}}',
    },
    clear: { type: "boolean", help: "remove every limit" },
  },
  async run(ctx) {
    const set = stringOption(ctx.values, "set");
    const clear = ctx.values.clear === true;
    if (set !== undefined && clear) {
      throw new UsageError("--set and --clear cannot go together");
    }
    if (clear) await ctx.queue.setLimits({});
    if (set !== undefined) {
      await ctx.queue.setLimits(parseJson(set, "--set") as Limits);
    }
    const now = await ctx.queue.getLimits();
    ctx.print(ctx.json ? toJson(now) : limitsTable(now));
    return 0;
  },
};

/** The commands of this file, by name. */
export const LIMIT_COMMANDS: Record<string, Command> = { limits };
