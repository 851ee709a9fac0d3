/**
 * The CLI's arguments: the global options, the split of a command line into
 * command, options and arguments by `node:util`'s `parseArgs` (never a
 * parser of our own), and the checks of option values: durations ("90s",
 * "15m", "1h", "7d"), integers and JSON. Every bad value is a
 * {@linkcode UsageError} (exit status 2); nothing here opens a queue.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { JsonValue } from "../types.ts";
import { type OptionSpec, type OptionValues, UsageError } from "./types.ts";

/** The options every command takes. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  url: {
    type: "string",
    value: "URL",
    help: "the backend URL (default: $JOBLINE_URL)",
  },
  queue: {
    type: "string",
    short: "q",
    value: "NAME",
    help: 'the queue (default "default")',
  },
  json: { type: "boolean", help: "print JSON for scripts instead of tables" },
  help: { type: "boolean", short: "h", help: "show help" },
  version: { type: "boolean", short: "V", help: "print the version" },
};

/** A command line split into its parts. */
export interface ParsedLine {
  /** The options, by long name. */
  values: OptionValues;
  /** The arguments that are not options; the command's name first. */
  positionals: string[];
}

type ParseConfig = Record<
  string,
  { type: "string" | "boolean"; short?: string }
>;

function config(options: Record<string, OptionSpec>): ParseConfig {
  const out: ParseConfig = {};
  for (const [name, { type, short }] of Object.entries(options)) {
    out[name] = short === undefined ? { type } : { type, short };
  }
  return out;
}

/**
 * Splits a command line by the options given. With `strict`, an unknown
 * option or a missing value is a UsageError; without, unknown options are
 * kept (to find the command's name before its options are known).
 *
 * @example
 * ```ts
 * import { GLOBAL_OPTIONS, splitLine } from "./args.ts";
 * const { positionals } = splitLine(["--json", "get", "abc"], GLOBAL_OPTIONS, true);
 * console.log(positionals); // ["get", "abc"]
 * ```
 */
export function splitLine(
  args: string[],
  options: Record<string, OptionSpec>,
  strict: boolean,
): ParsedLine {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: config(options),
      strict,
      allowPositionals: true,
    });
    return { values: values as OptionValues, positionals };
  } catch (err) {
    throw new UsageError(usageMessage(err));
  }
}

/** parseArgs' message, cut to its first sentence and one line. */
function usageMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const first = text.split("\n")[0]!.replace(/\. To specify .*$/, "");
  return first.charAt(0).toLowerCase() + first.slice(1);
}

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * Parses a duration such as "90s", "15m", "1h", "7d" (also "500ms", "2w",
 * "1.5h") into milliseconds.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./args.ts";
 * console.log(parseDuration("15m", "--older-than")); // 900000
 * ```
 *
 * @param text The duration.
 * @param what The option's name, for the message.
 * @returns Milliseconds, a whole number of them.
 * @throws {UsageError} for anything else.
 */
export function parseDuration(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  const ms = m ? Math.round(Number(m[1]) * UNITS[m[2]!]!) : NaN;
  if (!Number.isSafeInteger(ms)) {
    throw new UsageError(
      `bad duration for ${what}: ${
        JSON.stringify(text)
      } (use a number and ms, s, m, h, d or w, as in 90s, 15m, 1h, 7d)`,
    );
  }
  return ms;
}

/**
 * Parses a whole number within bounds.
 *
 * @example
 * ```ts
 * import { parseInteger } from "./args.ts";
 * console.log(parseInteger("50", "--limit", 1, 10_000)); // 50
 * ```
 *
 * @throws {UsageError} when it is not one.
 */
export function parseInteger(
  text: string,
  what: string,
  min: number,
  max: number,
): number {
  const n = /^-?\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(
      `bad value for ${what}: ${
        JSON.stringify(text)
      } (a whole number from ${min} to ${max})`,
    );
  }
  return n;
}

/**
 * Parses JSON given on the command line.
 *
 * @example
 * ```ts
 * import { parseJson } from "./args.ts";
 * console.log(parseJson('{"url":"a.png"}', "data")); // { url: "a.png" }
 * ```
 *
 * @throws {UsageError} when it is not JSON.
 */
export function parseJson(text: string, what: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    const why = err instanceof Error ? err.message.split("\n")[0] : "";
    throw new UsageError(`bad JSON for ${what}: ${why}`);
  }
}

/**
 * The string value of an option, or undefined when it was not given.
 *
 * @example
 * ```ts
 * import { stringOption } from "./args.ts";
 * console.log(stringOption({ type: "resize" }, "type")); // "resize"
 * ```
 */
export function stringOption(
  values: OptionValues,
  name: string,
): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}
