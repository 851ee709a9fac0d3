/**
 * Running a TypeScript file the way a user would, in the runtime that runs
 * the test (Deno, Node or Bun), for the tests of the README and the
 * examples: `deno run -A file`, `node file`, `bun file`, or the runtime's
 * test runner; to its end, or started and left running. Tests only; never
 * imported by the library.
 *
 * @module
 */

import { type ChildProcess, execFile, spawn } from "node:child_process";
import process from "node:process";

/** What a finished run printed, and how it ended. */
export interface RunResult {
  /** The exit code, or null when a signal or the timeout ended it. */
  code: number | null;
  /** Everything printed on stdout. */
  stdout: string;
  /** Everything printed on stderr. */
  stderr: string;
}

/** Options of {@linkcode runFile}. */
export interface RunFileOptions {
  /** The working directory. */
  cwd: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Arguments after the file (startFile). */
  args?: string[];
  /** Run it with the runtime's test runner instead. */
  asTest?: boolean;
  /** Another executable of the same runtime (Node 22's `node`, say). */
  bin?: string;
  /**
   * Killed after this long, ms.
   * @default {60000}
   */
  timeout?: number;
}

/** The name of the runtime that runs this process. */
export const runtime: "deno" | "bun" | "node" = "Deno" in globalThis
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : "node";

/** The arguments that run `file` in this runtime (or its test runner). */
export function runArgs(file: string, asTest = false): string[] {
  if (runtime === "deno") {
    return asTest ? ["test", "-A", file] : ["run", "-A", file];
  }
  if (runtime === "bun") {
    return asTest ? ["test", "--timeout", "120000", file] : [file];
  }
  return asTest ? ["--test", file] : [file];
}

/**
 * Runs `file` to its end in this runtime.
 *
 * @example
 * ```ts ignore
 * import { runFile } from "./run_file.ts";
 * const { code } = await runFile("examples/demo.ts", { cwd: "." });
 * ```
 *
 * @param file The file, absolute or relative to `cwd`.
 * @param options Where and how.
 * @returns Its exit code and output.
 */
export function runFile(
  file: string,
  options: RunFileOptions,
): Promise<RunResult> {
  const { cwd, env = {}, asTest = false, timeout = 60_000 } = options;
  const bin = options.bin ?? process.execPath;
  const args = options.bin ? [file] : runArgs(file, asTest);
  return new Promise((resolve) => {
    execFile(bin, args, {
      cwd,
      env: { ...process.env, ...env, NO_COLOR: "1" },
      timeout,
      maxBuffer: 16 * 1024 * 1024,
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

/** A file started in this runtime and left running. */
export interface Started {
  /** The child process. */
  child: ChildProcess;
  /** The lines it printed on stdout so far. */
  lines(): string[];
  /** What it printed on stderr so far. */
  stderr(): string;
  /** Its exit code, once it ended (null when a signal ended it). */
  exit: Promise<number | null>;
}

/**
 * Starts `file` in this runtime and leaves it running.
 *
 * @example
 * ```ts ignore
 * import { startFile } from "./run_file.ts";
 * const worker = startFile("examples/worker.ts", { cwd: "." });
 * worker.child.kill("SIGTERM");
 * await worker.exit;
 * ```
 *
 * @param file The file, absolute or relative to `cwd`.
 * @param options Where and with what environment.
 * @returns The child and its output.
 */
export function startFile(
  file: string,
  options: Pick<RunFileOptions, "cwd" | "env" | "args">,
): Started {
  const args = [...runArgs(file), ...(options.args ?? [])];
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += String(d)));
  child.stderr!.on("data", (d) => (stderr += String(d)));
  const exit = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code))
  );
  return {
    child,
    lines: () => stdout.split("\n").filter(Boolean),
    stderr: () => stderr,
    exit,
  };
}

/**
 * Stops a started file with SIGTERM and resolves with whether it ended by
 * itself with code 0. Deno's node:child_process may report a child that
 * it signalled as ended by that signal (code null) although the child
 * exited 0, so under Deno a null code counts too: the caller checks what
 * the child printed to tell how it really ended.
 *
 * @example
 * ```ts ignore
 * import { startFile, terminate } from "./run_file.ts";
 * const ok = await terminate(startFile("examples/worker.ts", { cwd: "." }));
 * ```
 *
 * @param started The running file.
 * @returns True when it exited 0 (or null, under Deno).
 */
export async function terminate(started: Started): Promise<boolean> {
  started.child.kill("SIGTERM");
  const code = await started.exit;
  return code === 0 || (runtime === "deno" && code === null);
}
