/**
 * The `jobline` command line as a function: `main(args, io)` parses the
 * arguments, opens the queue the URL names, runs one command and resolves
 * with the exit status (0 success, 1 a failed operation, 2 bad usage, each
 * failure with a one-line message on standard error). It never exits the
 * process nor touches its streams: src/cli/main.ts does that, and tests
 * call `main` in-process with captured output.
 *
 * @module
 */

import { JoblineError, ValidationError } from "../errors.ts";
import { open } from "./open.ts";
import { GLOBAL_OPTIONS, splitLine, stringOption } from "./args.ts";
import { COMMANDS } from "./commands.ts";
import { printable } from "./format.ts";
import { commandHelp, generalHelp, VERSION } from "./help.ts";
import {
  type CliIo,
  type Command,
  type CommandContext,
  Failure,
  type OptionSpec,
  UsageError,
} from "./types.ts";

export type { CliIo } from "./types.ts";

/** Every option of every command: enough to find the command's name. */
const ALL_OPTIONS: Record<string, OptionSpec> = Object.assign(
  {},
  GLOBAL_OPTIONS,
  ...Object.values(COMMANDS).map((c) => c.options),
);

/**
 * Runs the `jobline` command line.
 *
 * @example Counting the jobs of a SQLite queue
 * ```ts
 * import { main } from "./mod.ts";
 * let out = "";
 * const code = await main(["stats", "--url", "sqlite::memory:"], {
 *   stdout: (text) => (out += text),
 *   stderr: (text) => (out += text),
 *   env: {},
 * });
 * console.log(code, out.startsWith("queue default")); // 0 true
 * ```
 *
 * @param args The arguments after the program's name.
 * @param io Where output goes, the environment, and the signal that ends
 *   `tail`.
 * @returns The exit status.
 */
export async function main(args: string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(args, io);
  } catch (err) {
    const [code, message] = describe(err);
    io.stderr(`jobline: ${message}\n`);
    return code;
  }
}

async function dispatch(args: string[], io: CliIo): Promise<number> {
  const first = splitLine(args, ALL_OPTIONS, false);
  const [name, ...rest] = first.positionals;
  if (first.values.version === true) {
    io.stdout(`jobline ${VERSION}\n`);
    return 0;
  }
  if (name === "help" || first.values.help === true) {
    return help(name === "help" ? rest[0] : name, io);
  }
  if (name === undefined) {
    throw new UsageError('missing command: run "jobline --help"');
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    splitLine(args, ALL_OPTIONS, true); // an unknown option says more
    throw new UsageError(
      `unknown command ${JSON.stringify(name)}: run "jobline --help"`,
    );
  }
  const line = splitLine(args, { ...GLOBAL_OPTIONS, ...command.options }, true);
  const given = line.positionals.slice(1);
  const [min, max] = command.args;
  if (given.length < min || given.length > max) {
    throw new UsageError(
      `usage: jobline ${name} ${command.usage}`.trim() +
        ` (run "jobline help ${name}")`,
    );
  }
  if (command.standalone !== undefined) {
    return await command.standalone(context(io, line.values, given));
  }
  const url = stringOption(line.values, "url") ?? io.env.JOBLINE_URL;
  if (url === undefined || url === "") {
    throw new UsageError("no backend URL: pass --url or set JOBLINE_URL");
  }
  const queue = open(io, url, stringOption(line.values, "queue") ?? "default");
  try {
    return await command.run({ ...context(io, line.values, given), queue });
  } finally {
    await queue.close();
  }
}

function help(name: string | undefined, io: CliIo): number {
  if (name === undefined) {
    io.stdout(generalHelp(COMMANDS) + "\n");
    return 0;
  }
  const command: Command | undefined = COMMANDS[name];
  if (command === undefined) {
    throw new UsageError(
      `unknown command ${JSON.stringify(name)}: run "jobline --help"`,
    );
  }
  io.stdout(commandHelp(name, command) + "\n");
  return 0;
}

function context(
  io: CliIo,
  values: CommandContext["values"],
  args: string[],
): Omit<CommandContext, "queue"> {
  return {
    values,
    args,
    json: values.json === true,
    print: (text) => io.stdout(text + "\n"),
    note: (text) => io.stderr(printable(text) + "\n"),
    io,
  };
}

/**
 * The exit status and one-line message of an error: bad usage (ours, or
 * the library's ValidationError: a bad type, status or priority) is 2,
 * everything else 1.
 */
function describe(err: unknown): [number, string] {
  if (err instanceof UsageError) return [2, printable(err.message)];
  if (err instanceof Failure) return [1, printable(err.message)];
  const message = err instanceof Error
    ? err.message.split("\n")[0]!
    : String(err);
  if (err instanceof ValidationError) return [2, printable(message)];
  const cause = err instanceof JoblineError && err.cause instanceof Error
    ? `: ${err.cause.message.split("\n")[0]}`
    : "";
  return [1, printable(message + (message.includes(cause) ? "" : cause))];
}
