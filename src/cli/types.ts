/**
 * The shapes the CLI's parts share: where output goes (`CliIo`), what a
 * command gets (`CommandContext`) and what it is (`Command`), and the two
 * ways a command ends badly: `UsageError` (exit 2) and `Failure` (exit 1).
 * Types and two tiny error classes; no behaviour.
 *
 * @module
 */

import type { Queue } from "../queue_types.ts";

/**
 * Where the CLI reads its environment and writes its output. The process
 * entry (src/cli/main.ts) passes the real streams; tests pass strings.
 *
 * @example Capturing the output of one run
 * ```ts
 * import type { CliIo } from "./types.ts";
 * let out = "";
 * const io: CliIo = { stdout: (t) => (out += t), stderr: () => {}, env: {} };
 * ```
 */
export interface CliIo {
  /** Writes text to standard output (as given; lines end with "\n"). */
  stdout(text: string): void;
  /** Writes text to standard error. */
  stderr(text: string): void;
  /** The environment: `JOBLINE_URL` is read from it. */
  env: Record<string, string | undefined>;
  /**
   * True when standard error is a terminal: only then is a progress bar
   * drawn.
   * @default {false}
   */
  stderrIsTTY?: boolean;
  /**
   * The terminal's width in columns, for the progress bar.
   * @default {80}
   */
  columns?: number;
  /** Ends a running `tail` when it aborts (Ctrl-C, in the process entry). */
  signal?: AbortSignal;
  /**
   * Opens the queue a command works on. The default is
   * `createQueue(url, { name })`; tests give a queue over a backend they
   * share, since every `memory:` URL makes a store of its own.
   */
  openQueue?: (url: string, name: string) => Queue;
}

/** The values of the parsed options: strings, booleans, or absent. */
export type OptionValues = Record<string, string | boolean | undefined>;

/** What a command runs with. */
export interface CommandContext {
  /** The queue, opened lazily (no connection until the first call). */
  queue: Queue;
  /** The options given, by their long names. */
  values: OptionValues;
  /** The arguments after the command's name. */
  args: string[];
  /** True with `--json`: print JSON for scripts instead of tables. */
  json: boolean;
  /** Prints one line (or block) on standard output. */
  print(text: string): void;
  /** Prints one line on standard error, made printable. */
  note(text: string): void;
  /** Where the run's output goes. */
  io: CliIo;
}

/** One option of a command, as `node:util`'s parseArgs takes it. */
export interface OptionSpec {
  /** "string" takes a value; "boolean" is a switch. */
  type: "string" | "boolean";
  /** A one-letter alias. */
  short?: string;
  /** The value's name in the help text (string options). */
  value?: string;
  /** One line of help. */
  help: string;
}

/** What every command of the CLI has. */
interface CommandBase {
  /** The arguments, as the usage line shows them: "ID...", "[TYPE]". */
  usage: string;
  /** One line of help. */
  summary: string;
  /** Fewest and most arguments after the name (Infinity for no limit). */
  args: [number, number];
  /** Its own options (besides the global ones). */
  options: Record<string, OptionSpec>;
}

/**
 * A command of the CLI: one on the queue that `--url` and `--queue` name
 * (`run`), or one that takes its backend URLs as arguments and opens its
 * own queues (`standalone`: `migrate`).
 */
export type Command =
  & CommandBase
  & (
    | {
      /** Runs it; resolves with the exit code. */
      run(ctx: CommandContext): Promise<number>;
      standalone?: undefined;
    }
    | {
      run?: undefined;
      /** Runs it without a queue of `--url`; resolves with the exit code. */
      standalone(ctx: Omit<CommandContext, "queue">): Promise<number>;
    }
  );

/**
 * Bad usage: an unknown command or option, a bad value. Exit status 2.
 *
 * @example
 * ```ts
 * import { UsageError } from "./types.ts";
 * const err = new UsageError("bad duration for --older-than: \"5x\"");
 * console.log(err.name); // "UsageError"
 * ```
 */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * An operation that did not succeed: an unknown job, a retry of a job that
 * is not failed. Exit status 1.
 *
 * @example
 * ```ts
 * import { Failure } from "./types.ts";
 * const err = new Failure('no job "abc" in queue default');
 * console.log(err.name); // "Failure"
 * ```
 */
export class Failure extends Error {
  override name = "Failure";
}
