/**
 * The CLI's help text and version, made from the command table so that a
 * command's options are described where they are declared.
 *
 * @module
 */

import { GLOBAL_OPTIONS } from "./args.ts";
import type { Command, OptionSpec } from "./types.ts";

/**
 * The version the CLI prints: the package's, as in deno.json (a test
 * checks that they agree).
 */
export const VERSION = "0.1.0";

function optionLines(options: Record<string, OptionSpec>): string[] {
  const heads = Object.entries(options).map(([name, o]) =>
    `${o.short ? `-${o.short}, ` : "    "}--${name}${
      o.value ? ` ${o.value}` : ""
    }`
  );
  const width = Math.max(...heads.map((h) => h.length));
  return Object.values(options).map((o, i) =>
    `  ${heads[i]!.padEnd(width)}  ${o.help}`
  );
}

/**
 * The general help: usage, commands, global options, exit statuses.
 *
 * @example
 * ```ts
 * import { generalHelp } from "./help.ts";
 * console.log(generalHelp({}).startsWith("jobline")); // true
 * ```
 */
export function generalHelp(commands: Record<string, Command>): string {
  const rows: [string, string][] = [
    ...Object.entries(commands).map(([name, c]): [string, string] => [
      `${name} ${c.usage}`.trim(),
      c.summary,
    ]),
  ];
  const width = Math.max(...rows.map(([u]) => u.length));
  return [
    `jobline ${VERSION}: look into and manage a jobline queue`,
    "",
    "Usage: jobline COMMAND [ARGS] [--url URL] [--queue NAME] [--json]",
    "",
    "Commands:",
    ...rows.map(([u, s]) => `  ${u.padEnd(width)}  ${s}`),
    "",
    "Options of every command:",
    ...optionLines(GLOBAL_OPTIONS),
    "",
    "URLs: memory:, sqlite://PATH, redis://HOST:PORT/DB, postgres://USER@HOST/DB",
    "Durations: 90s, 15m, 1h, 7d (also ms and w).",
    "Exit status: 0 success, 1 failed operation, 2 bad usage.",
    'Run "jobline help COMMAND" for the options of a command.',
  ].join("\n");
}

/**
 * The help of one command: its usage line and options.
 *
 * @example
 * ```ts
 * import { commandHelp } from "./help.ts";
 * const text = commandHelp("get", {
 *   usage: "ID", summary: "show a job", args: [1, 1], options: {},
 *   run: () => Promise.resolve(0),
 * });
 * console.log(text.split("\n")[0]); // "Usage: jobline get ID [options]"
 * ```
 */
export function commandHelp(name: string, command: Command): string {
  const own = Object.keys(command.options).length > 0;
  return [
    `Usage: jobline ${`${name} ${command.usage}`.trim()} [options]`,
    "",
    `${command.summary.charAt(0).toUpperCase()}${command.summary.slice(1)}.`,
    ...(own ? ["", "Options:", ...optionLines(command.options)] : []),
    "",
    "Options of every command:",
    ...optionLines(GLOBAL_OPTIONS),
  ].join("\n");
}
