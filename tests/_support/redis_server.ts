/**
 * Throwaway Redis servers for tests and benchmarks: `redis-server` (Debian's
 * package) on free loopback ports, each in its own temp directory, and a
 * three-master Redis Cluster made with `redis-cli --cluster create`.
 *
 * It must never touch a server it did not start: it stops its own children
 * by their handles and deletes their directories when asked.
 */

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import process from "node:process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep, waitFor } from "./time.ts";
import { freePort } from "./ports.ts";

/** A running test server. */
export interface RedisServer {
  /** `redis://127.0.0.1:PORT` */
  url: string;
  /** The TCP port. */
  port: number;
  /** The server's directory (AOF and RDB files live here). */
  dir: string;
  /** The server's process id while it runs. */
  readonly pid: number | undefined;
  /** Shuts the server down (SIGTERM: it persists what it is configured to). */
  stop(): Promise<void>;
  /** Kills the server at once (SIGKILL). */
  kill(): Promise<void>;
  /** Starts a stopped server again on the same port and directory. */
  start(): Promise<void>;
  /** Stops the server and deletes its directory. */
  destroy(): Promise<void>;
}

/** A running three-master test cluster. */
export interface RedisCluster {
  /** `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3` */
  url: string;
  /** The nodes. */
  nodes: RedisServer[];
  /** Stops every node and deletes their directories. */
  destroy(): Promise<void>;
}

/** True when `redis-server` is on the PATH. */
export function redisInstalled(): boolean {
  return ["/usr/bin", "/usr/local/bin", "/bin"].some((d) =>
    existsSync(join(d, "redis-server"))
  );
}

export { freePort };

function cli(args: string[], timeout = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("redis-cli", args, { timeout }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-cli ${args.join(" ")}: ${stderr}`));
      else resolve(String(stdout));
    });
  });
}

/** A child and a promise of its exit, taken when it was spawned. */
interface Child {
  proc: ChildProcess;
  exit: Promise<void>;
  done: boolean;
}

function launch(args: string[], cwd: string): Child {
  const proc = spawn("redis-server", args, { cwd, stdio: "ignore" });
  proc.on("error", () => {});
  const child: Child = { proc, exit: Promise.resolve(), done: false };
  child.exit = new Promise((resolve) =>
    proc.once("exit", () => {
      child.done = true;
      resolve();
    })
  );
  return child;
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Signals a child and waits until it is gone. Deno's node:child_process sets
 * `signalCode` as soon as kill() is called, so only the exit event and the
 * pid itself are trusted.
 */
async function end(child: Child, signal: "SIGTERM" | "SIGKILL"): Promise<void> {
  if (!child.done) child.proc.kill(signal);
  await child.exit;
  const deadline = Date.now() + 10_000;
  while (alive(child.proc.pid) && Date.now() < deadline) await sleep(10);
}

/**
 * Starts a fresh redis-server. A server that exits as it starts (another
 * one took its port first, or a cluster node's bus port, port + 10000) is
 * started again on another port, up to five times.
 *
 * @param config Extra settings (`--name value`), such as
 *   `{ appendonly: "yes", appendfsync: "always" }`.
 */
export async function startRedis(
  config: Record<string, string> = {},
  dir?: string,
): Promise<RedisServer> {
  const home = dir ?? mkdtempSync(join(tmpdir(), "jobline-redis-"));
  for (let attempt = 1;; attempt++) {
    const server = serverOn(await freePort(), home, config, dir === undefined);
    try {
      await server.start();
      return server;
    } catch (err) {
      await server.kill();
      const exited = err instanceof Error && err.message === EXITED;
      if (exited && attempt < 5) continue;
      await server.destroy();
      throw err;
    }
  }
}

/** What start() throws when the server exits before it answers. */
const EXITED = "redis-server exited";

/**
 * A redis-server on `port` with its files in `home` (removed by destroy()
 * when `owned`), not started.
 */
function serverOn(
  port: number,
  home: string,
  config: Record<string, string>,
  owned: boolean,
): RedisServer {
  const settings: Record<string, string> = {
    port: String(port),
    bind: "127.0.0.1",
    dir: home,
    save: "",
    appendonly: "no",
    logfile: join(home, "redis.log"),
    "protected-mode": "no",
    ...config,
  };
  const args = Object.entries(settings).flatMap(([k, v]) => [`--${k}`, v]);
  let child: Child | undefined;

  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir: home,
    get pid() {
      return child !== undefined && !child.done ? child.proc.pid : undefined;
    },
    async start() {
      if (server.pid !== undefined) return;
      const c = launch(args, home);
      child = c;
      await waitFor(`redis-server on port ${port}`, async () => {
        if (c.done) throw new Error(EXITED);
        const out = await cli(["-p", String(port), "ping"], 2_000)
          .catch(() => "");
        return out.trim() === "PONG";
      }, { timeout: 20_000, interval: 50 });
    },
    async stop() {
      const c = child;
      if (c === undefined) return;
      await end(c, "SIGTERM");
      child = undefined;
    },
    async kill() {
      const c = child;
      if (c === undefined) return;
      await end(c, "SIGKILL");
      child = undefined;
    },
    async destroy() {
      await server.kill();
      if (owned) rmSync(home, { recursive: true, force: true });
    },
  };
  return server;
}

/** Starts three cluster-enabled masters and joins them into one cluster. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const home = mkdtempSync(join(tmpdir(), "jobline-redis-cluster-"));
  const nodes: RedisServer[] = [];
  const destroy = async () => {
    for (const node of nodes) await node.destroy();
    rmSync(home, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) {
      const dir = join(home, `node${i}`);
      mkdirSync(dir);
      nodes.push(
        await startRedis({
          "cluster-enabled": "yes",
          "cluster-config-file": join(dir, "nodes.conf"),
          "cluster-node-timeout": "5000",
        }, dir),
      );
    }
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    await cli([
      "--cluster",
      "create",
      ...addresses,
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ], 60_000);
    for (const node of nodes) {
      await waitFor("the cluster", async () => {
        const info = await cli(["-p", String(node.port), "cluster", "info"])
          .catch(() => "");
        return info.includes("cluster_state:ok");
      }, { timeout: 30_000, interval: 50 });
    }
    return { url: `redis+cluster://${addresses.join(",")}`, nodes, destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}
