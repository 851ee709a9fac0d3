/**
 * The Redis backend under faults: worker processes killed mid-job, a server
 * restarted with AOF persistence, a server stopped while a worker runs, a
 * server that is not there yet, and subscriber connections that drop (on a
 * server and on a user's Cluster client). Every test starts its own
 * redis-server (or Cluster) on free loopback ports and stops it after.
 * Prefixes, user's clients and bad options are in redis_options.test.ts.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createCluster } from "redis";
import { redisBackend } from "../backends/redis/mod.ts";
import type { BackendEvent } from "../src/backend/interface.ts";
import {
  BackendError,
  createQueue,
  createWorker,
  type Queue,
  subscribe,
} from "../mod.ts";
import {
  type RedisServer,
  startRedis,
  startRedisCluster,
} from "./_support/redis_server.ts";
import { sleep, waitFor } from "./_support/time.ts";

/** Polls every 25 ms for up to `timeout` ms. */
const within = (timeout: number) => ({ timeout, interval: 25 });

function redisCli(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("redis-cli", ["-p", String(port), ...args]);
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("exit", () => resolve(out));
  });
}

const servers: RedisServer[] = [];
const children: ChildProcess[] = [];
async function server(config?: Record<string, string>): Promise<RedisServer> {
  const s = await startRedis(config);
  servers.push(s);
  return s;
}
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  for (const s of servers) await s.destroy();
});

// Records unhandled rejections while this file runs (and only then: Bun runs
// every test file in one process).
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => void rejections.push(reason);
process.on("unhandledRejection", onRejection);
after(() => void process.off("unhandledRejection", onRejection));

describe("redis backend", () => {
  test("three worker processes drain 1,000 jobs though one is killed mid-job", async () => {
    const s = await server();
    const backend = redisBackend({ url: s.url });
    const name = `kill-${Date.now()}`;
    const queue = createQueue({ backend, name });
    const leaseMs = 1500;
    try {
      const ids = await queue.enqueueMany(
        Array.from({ length: 1000 }, (_, i) => ({ type: "work", data: { i } })),
      );
      const file = fileURLToPath(
        new URL("./fixtures/redis_worker.ts", import.meta.url),
      );
      const argv = "Deno" in globalThis ? ["run", "-A", file] : [file];
      const outputs: string[] = [];
      for (let i = 0; i < 3; i++) {
        const child = spawn(
          process.execPath,
          [...argv, s.url, name, String(leaseMs)],
          { stdio: ["ignore", "pipe", "inherit"] },
        );
        children.push(child);
        outputs.push("");
        child.stdout!.on("data", (d) => (outputs[i] += String(d)));
      }
      const victim = children[children.length - 3]!;
      const index = 0;
      // Kill the first worker once it has done some jobs and holds others.
      await waitFor(
        "the first worker to be busy",
        () => (outputs[index]!.match(/^done /gm)?.length ?? 0) >= 20,
        within(30_000),
      );
      victim.kill("SIGKILL");
      const killedAt = Date.now();
      await new Promise((r) => victim.once("exit", r));
      const lines = outputs[index]!.split("\n");
      const started = new Set(
        lines.filter((l) => l.startsWith("start ")).map((l) => l.slice(6)),
      );
      for (const l of lines) {
        if (l.startsWith("done ")) started.delete(l.slice(5));
      }
      assert.ok(started.size > 0, "the killed worker held jobs");
      // Its jobs run again within the lease plus a few seconds.
      await waitFor("the killed worker's jobs to complete", async () => {
        for (const id of started) {
          if ((await queue.get(id))?.status !== "complete") return false;
        }
        return true;
      }, within(leaseMs + 5_000));
      assert.ok(Date.now() - killedAt < leaseMs + 5_000);
      await waitFor(
        "every job to complete",
        async () => (await queue.stats()).complete === 1000,
        within(30_000),
      );
      const stats = await queue.stats();
      assert.equal(stats.pending + stats.processing + stats.failed, 0);
      for (const id of started) {
        const job = await queue.get(id);
        assert.equal(job?.status, "complete");
      }
      assert.equal(new Set(ids).size, 1000);
    } finally {
      for (const c of children) {
        if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
      }
      await Promise.all(
        children.map((c) =>
          c.exitCode !== null || c.signalCode !== null
            ? undefined
            : new Promise((r) => c.once("exit", r))
        ),
      );
      await queue.close();
      await backend.close();
    }
  });

  test("no acknowledged job is lost when an appendfsync-always server is shut down, killed and restarted", async () => {
    const s = await server({ appendonly: "yes", appendfsync: "always" });
    const backend = redisBackend({ url: s.url });
    const queue = createQueue({ backend, name: "aof" });
    try {
      const ids: string[] = [];
      ids.push(
        ...await queue.enqueueMany(
          Array.from(
            { length: 300 },
            (_, i) => ({ type: "work", data: { i } }),
          ),
        ),
      );
      for (let i = 0; i < 50; i++) ids.push(await queue.enqueue("work", { i }));
      // A clean shutdown first, then a crash.
      await s.stop();
      await assert.rejects(queue.stats(), BackendError);
      await s.start();
      await waitFor("the client to reconnect", async () => {
        return (await queue.stats().catch(() => null))?.pending === ids.length;
      }, within(10_000));
      for (let i = 0; i < 50; i++) ids.push(await queue.enqueue("work", { i }));
      await s.kill();
      await assert.rejects(queue.stats(), BackendError);
      await s.start();
      let done = 0;
      // Its first claims may fail while the client reconnects: not reported.
      const worker = createWorker(queue, { work: () => void done++ }, {
        concurrency: 10,
        onError: () => {},
      });
      try {
        await waitFor("the queue to drain", async () => {
          const stats = await queue.stats().catch(() => null);
          return stats?.complete === ids.length;
        }, within(20_000));
      } finally {
        await worker.stop();
      }
      for (const id of ids) {
        assert.equal((await queue.get(id))?.status, "complete");
      }
      assert.equal(done, ids.length);
    } finally {
      await queue.close();
      await backend.close();
    }
  });

  test("a worker reports BackendError while the server is down and finishes the queue when it returns", async () => {
    const s = await server({ appendonly: "yes", appendfsync: "always" });
    const backend = redisBackend({ url: s.url });
    const queue: Queue = createQueue({
      backend,
      name: "outage",
      leaseMs: 1000,
    });
    const errors: unknown[] = [];
    try {
      await queue.enqueueMany(
        Array.from({ length: 200 }, (_, i) => ({ type: "work", data: { i } })),
      );
      const worker = createWorker(queue, {
        work: () => sleep(5),
      }, { concurrency: 4, pollInterval: 100, onError: (e) => errors.push(e) });
      try {
        await waitFor(
          "some jobs to complete",
          async () => (await queue.stats()).complete >= 20,
          within(10_000),
        );
        await s.stop();
        await waitFor(
          "an error report",
          () => errors.length > 0,
          within(5_000),
        );
        assert.ok(
          errors.some((e) => e instanceof BackendError),
          "a BackendError reached the worker's error reporting",
        );
        await sleep(500);
        await s.start();
        await waitFor("the queue to drain", async () => {
          const stats = await queue.stats().catch(() => null);
          return stats?.complete === 200;
        }, within(20_000));
      } finally {
        await worker.stop();
      }
      assert.deepEqual(rejections, []);
    } finally {
      await queue.close();
      await backend.close();
    }
  });

  test("listeners get resync and an idle worker still starts new work after its subscriber connection drops", async () => {
    const s = await server();
    const backend = redisBackend({ url: s.url });
    const queue = createQueue({ backend, name: "resync" });
    try {
      const events: BackendEvent[] = [];
      const stop = await backend.listen(
        "resync",
        "worker",
        (e) => events.push(e),
      );
      let ran = 0;
      const worker = createWorker(queue, { work: () => void ran++ }, {
        pollInterval: 60_000,
      });
      try {
        await sleep(100);
        await redisCli(s.port, "client", "kill", "type", "pubsub");
        await queue.enqueue("work", null);
        await waitFor(
          "a resync event",
          () => events.some((e) => e.kind === "resync"),
          within(5_000),
        );
        await waitFor("the job to run", () => ran === 1, within(3_000));
        // Once resubscribed, wake-ups arrive again.
        const id = await queue.enqueue("work", null);
        await waitFor("the second job to run", () => ran === 2, within(3_000));
        const updates = [];
        for await (const u of subscribe(queue, id)) updates.push(u.status);
        assert.equal(updates.at(-1), "complete");
      } finally {
        await worker.stop();
        await stop();
      }
    } finally {
      await queue.close();
      await backend.close();
    }
  });

  test("a connection that cannot be made rejects with BackendError, and the next call tries again", async () => {
    const s = await server();
    const port = s.port;
    await s.stop();
    const queue = createQueue(`redis://127.0.0.1:${port}`, { name: "later" });
    try {
      await assert.rejects(queue.enqueue("work", null), BackendError);
      await s.start();
      const id = await queue.enqueue("work", null);
      assert.equal((await queue.get(id))?.status, "pending");
    } finally {
      await queue.close();
    }
  });

  test("a cluster client of the user's works, and its subscriber resyncs after a drop", async () => {
    const cluster = await startRedisCluster();
    const client = createCluster({
      rootNodes: cluster.nodes.map((n) => ({ url: n.url })),
    });
    client.on("error", () => {});
    try {
      const backend = redisBackend({ client });
      const queue = createQueue({ backend, name: "clustered" });
      const id = await queue.enqueue("work", null);
      const job = await queue.claim();
      assert.equal(job?.id, id);
      await queue.complete(job!, 42);
      assert.equal((await queue.get(id))?.result, 42);
      // A dropped sharded subscriber connection is followed by a resync.
      const events: BackendEvent[] = [];
      const stop = await backend.listen("clustered", "queue", (e) => {
        events.push(e);
      });
      for (const node of cluster.nodes) {
        await redisCli(node.port, "client", "kill", "type", "pubsub");
      }
      await waitFor(
        "a resync event",
        () => events.some((e) => e.kind === "resync"),
        within(10_000),
      );
      const second = await queue.enqueue("work", null);
      await waitFor(
        "the update of a new job",
        () =>
          events.some((e) => e.kind === "update" && e.update.jobId === second),
        within(5_000),
      );
      await stop();
      await queue.close();
      await backend.close();
      assert.ok(client.isOpen);
    } finally {
      await client.close();
      await cluster.destroy();
    }
  });
});
