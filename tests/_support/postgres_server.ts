/**
 * A throwaway PostgreSQL 15 cluster for tests and benchmarks: `initdb` as the
 * `postgres` user in a temp directory, listening on a free loopback port and
 * a socket in that directory. It must never touch a cluster it did not
 * create, and it stops (by its own pg_ctl, fast mode; immediate mode for a
 * crash restart) and deletes the directory when asked.
 */

import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { freePort } from "./ports.ts";

/** Where Debian's postgresql-15 package puts the server binaries. */
export const PG_BIN: string = process.env.JOBLINE_PG_BIN ??
  "/usr/lib/postgresql/15/bin";

/** A running test cluster. */
export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:PORT/jobline_test` */
  url: string;
  /** The TCP port. */
  port: number;
  /** The data directory. */
  dir: string;
  /** Fast shutdown (the cluster may be started again). */
  stop(): void;
  /** Starts a stopped cluster again on the same port. */
  start(): void;
  /**
   * A crash and a restart: `pg_ctl stop -m immediate` (no shutdown
   * checkpoint, so the next start runs crash recovery, which resets the
   * cumulative statistics) and a start on the same port.
   */
  crashRestart(): void;
  /** Stops the cluster and deletes its directory. */
  destroy(): void;
}

/** True when the PostgreSQL 15 binaries are installed. */
export function postgresInstalled(): boolean {
  return existsSync(join(PG_BIN, "initdb")) &&
    existsSync(join(PG_BIN, "pg_ctl"));
}

export { freePort };

function asPostgres(): string[] {
  // Tests run as root in CI; initdb refuses root, so run as `postgres`.
  return process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--"] : [];
}

function run(cmd: string, args: string[]): void {
  const prefix = asPostgres();
  const argv = [...prefix, cmd, ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), {
    encoding: "utf8",
    timeout: 60_000,
  });
  if (r.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout}`,
    );
  }
}

/**
 * Starts a fresh cluster with a `jobline_test` database.
 *
 * @param settings Extra server settings (`-c name=value`).
 */
export async function startPostgres(
  settings: Record<string, string> = {},
): Promise<PostgresServer> {
  if (!postgresInstalled()) {
    throw new Error(
      `PostgreSQL 15 is not installed in ${PG_BIN} (apt-get install postgresql-15)`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "jobline-pg-"));
  chmodSync(dir, 0o777);
  const data = join(dir, "data");
  if (process.getuid?.() === 0) {
    execFileSync("chown", ["postgres:postgres", dir]);
  }
  try {
    run(join(PG_BIN, "initdb"), [
      "-D",
      data,
      "-U",
      "postgres",
      "--auth=trust",
      "--no-sync",
      "-E",
      "UTF8",
      "--locale=C",
    ]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const port = await freePort();
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses=127.0.0.1",
    "-c max_connections=200",
    "-c shared_buffers=128MB",
    ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`),
  ].join(" ");
  const log = join(dir, "server.log");
  const start = () =>
    run(join(PG_BIN, "pg_ctl"), [
      "start",
      "-D",
      data,
      "-w",
      "-t",
      "60",
      "-l",
      log,
      "-o",
      options,
    ]);
  const stop = (mode = "fast") => {
    if (existsSync(join(data, "postmaster.pid"))) {
      run(join(PG_BIN, "pg_ctl"), ["stop", "-D", data, "-m", mode, "-w"]);
    }
  };
  try {
    start();
    run(join(PG_BIN, "psql"), [
      "-h",
      dir,
      "-p",
      String(port),
      "-U",
      "postgres",
      "-q",
      "-c",
      "CREATE DATABASE jobline_test",
    ]);
  } catch (err) {
    try {
      stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    throw err;
  }
  // A safety net: a test process that dies of an uncaught error still stops
  // its cluster (a SIGKILL cannot be caught; nothing else is left running).
  const onExit = () => {
    try {
      stop();
    } catch {
      // Already stopped.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", onExit);
  // Deno does not emit "exit" when an uncaught error ends the process.
  const target = globalThis as {
    addEventListener?: (type: string, fn: () => void) => void;
    removeEventListener?: (type: string, fn: () => void) => void;
  };
  const denoOnly = "Deno" in globalThis;
  if (denoOnly) {
    target.addEventListener?.("error", onExit);
    target.addEventListener?.("unhandledrejection", onExit);
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/jobline_test`,
    port,
    dir,
    stop: () => stop(),
    start,
    crashRestart() {
      stop("immediate");
      start();
    },
    destroy() {
      process.off("exit", onExit);
      if (denoOnly) {
        target.removeEventListener?.("error", onExit);
        target.removeEventListener?.("unhandledrejection", onExit);
      }
      try {
        stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
