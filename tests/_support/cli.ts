/**
 * Running the `jobline` CLI in the tests: in-process through `main` with
 * captured output (`runCli`, `startCli` for `tail`), or as a real process
 * in the runtime that runs the test (`spawnCli`); and the backends the CLI
 * suite runs on (`Target`). Tests only; never imported by the library.
 *
 * @module
 */

import { execFile, spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { main } from "../../src/cli/mod.ts";
import type { CliIo } from "../../src/cli/types.ts";
import type { Queue, QueueOptions } from "../../src/queue_types.ts";
import { runArgs, type RunResult } from "./run_file.ts";

/** A backend the CLI suite runs on. */
export interface Target {
  /** The URL the CLI gets with `--url`. */
  url: string;
  /**
   * A queue of the library on the same store, to check the CLI against
   * (and to make jobs with a clock of its own).
   */
  library(options: QueueOptions & { name: string }): Queue;
  /** How the CLI opens its queue, when its URL alone would not share a store. */
  openQueue?: (url: string, name: string) => Queue;
}

/** What one in-process run printed, and its exit status. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of an in-process run. */
export interface CliOptions {
  /** The store and how to open it; without one, no URL is given. */
  target?: Target;
  /** Ends `tail`. */
  signal?: AbortSignal;
  /** Pretend standard error is a terminal. */
  tty?: boolean;
  /** The environment. */
  env?: Record<string, string>;
}

/** A run under way: its output so far, and its end. */
export interface StartedCli {
  stdout(): string;
  stderr(): string;
  done: Promise<CliRun>;
}

/** Starts `jobline ARGS` in this process (`--url` from the target). */
export function startCli(args: string[], options: CliOptions = {}): StartedCli {
  let stdout = "";
  let stderr = "";
  const { target, signal, tty = false, env = {} } = options;
  const io: CliIo = {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env,
    stderrIsTTY: tty,
    columns: 80,
    ...(signal ? { signal } : {}),
    ...(target?.openQueue ? { openQueue: target.openQueue } : {}),
  };
  const done = main(target ? [...args, "--url", target.url] : args, io).then(
    (code) => ({ code, stdout, stderr }),
  );
  return { stdout: () => stdout, stderr: () => stderr, done };
}

/** Runs `jobline ARGS` in this process to its end. */
export function runCli(
  args: string[],
  options: CliOptions = {},
): Promise<CliRun> {
  return startCli(args, options).done;
}

/** The CLI's process entry. */
export const CLI_FILE: string = fileURLToPath(
  new URL("../../src/cli/main.ts", import.meta.url),
);

/** The environment of a CLI process: JOBLINE_URL only if `env` sets it. */
function cliEnv(env: Record<string, string>): Record<string, string> {
  const base = { ...process.env } as Record<string, string>;
  delete base.JOBLINE_URL;
  return { ...base, ...env, NO_COLOR: "1" };
}

/**
 * Runs the real CLI as a process of this runtime (`deno run -A`, `node`,
 * `bun`) to its end.
 */
export function spawnCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...runArgs(CLI_FILE), ...args], {
      env: cliEnv(env),
      timeout: 60_000,
    }, (err, stdout, stderr) => {
      const code = err === null
        ? 0
        : typeof (err as { code?: unknown }).code === "number"
        ? (err as { code: number }).code
        : null;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Starts the real CLI as a process and leaves it running. */
export function startCliProcess(
  args: string[],
  env: Record<string, string> = {},
): { stdout(): string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [...runArgs(CLI_FILE), ...args], {
    env: cliEnv(env),
    stdio: ["ignore", "pipe", "inherit"],
  });
  let stdout = "";
  child.stdout!.on("data", (d) => (stdout += String(d)));
  const exit = new Promise<number | null>((resolve) =>
    child.once("close", (code) => resolve(code))
  );
  return { stdout: () => stdout, exit };
}

/** Makes `n` jobs of `type` that failed for good; returns their ids. */
export async function failedJobs(
  queue: Queue,
  type: string,
  n: number,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = await queue.enqueue(type, { i });
    const job = await queue.claim({ types: [type] });
    if (job?.id !== id) throw new Error(`claimed ${job?.id}, not ${id}`);
    await queue.fail(job, new Error(`boom ${i}`), { retry: false });
    ids.push(id);
  }
  return ids;
}

/** Makes `n` jobs of `type` that completed; returns their ids. */
export async function completedJobs(
  queue: Queue,
  type: string,
  n: number,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = await queue.enqueue(type, { i });
    const job = await queue.claim({ types: [type] });
    if (job?.id !== id) throw new Error(`claimed ${job?.id}, not ${id}`);
    await queue.complete(job, { ok: i });
    ids.push(id);
  }
  return ids;
}

/** A queue name of its own for each test, so tests share a store safely. */
let names = 0;
export function freshName(): string {
  return `cli-${Date.now().toString(36)}-${++names}`;
}
