/**
 * How the Redis backend runs its scripts: as functions of its Redis
 * Functions library (FCALL) on Redis 7, loaded again when a server lost it
 * (FUNCTION FLUSH mid-run, a restart, a Cluster's masters), beside another
 * version's library, and with EVALSHA where the user may not run Functions.
 * Every test starts its own redis-server (or Cluster) on free loopback
 * ports and stops it after.
 */

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "redis";
import { redisBackend } from "../backends/redis/mod.ts";
import { createQueue, createWorker, type Queue } from "../mod.ts";
import {
  type RedisCluster,
  type RedisServer,
  startRedis,
  startRedisCluster,
} from "./_support/redis_server.ts";
import { waitFor } from "./_support/time.ts";

/** What these tests need of a raw client. */
interface Client {
  sendCommand(args: string[]): Promise<unknown>;
  close(): Promise<unknown>;
}

const servers: RedisServer[] = [];
const clusters: RedisCluster[] = [];
const clients: Client[] = [];
after(async () => {
  for (const c of clients) await c.close().catch(() => {});
  for (const s of servers) await s.destroy();
  for (const c of clusters) await c.destroy();
});

async function server(): Promise<RedisServer> {
  const s = await startRedis();
  servers.push(s);
  return s;
}

/** A raw client of the test's own, to look at the server. */
async function raw(url: string): Promise<Client> {
  const c = createClient({ url });
  c.on("error", () => {});
  await c.connect();
  clients.push(c);
  return c;
}

/** The names of the server's Functions libraries. */
async function libraries(c: Client): Promise<string[]> {
  const list = await c.sendCommand(["FUNCTION", "LIST"]) as unknown[];
  // a map is an array of pairs in RESP2, an object in RESP3
  return list.map((lib) =>
    String(
      Array.isArray(lib)
        ? lib[lib.indexOf("library_name") + 1]
        : (lib as Record<string, unknown>)["library_name"],
    )
  ).sort();
}

/** How many FCALL and EVALSHA/EVAL commands the server has run. */
async function calls(c: Client): Promise<{ fcall: number; evalsha: number }> {
  const info = String(await c.sendCommand(["INFO", "commandstats"]));
  const n = (cmd: string) =>
    [...info.matchAll(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`, "g"))]
      .reduce((sum, m) => sum + Number(m[1]), 0);
  return { fcall: n("fcall"), evalsha: n("evalsha") + n("eval") };
}

/** Enqueues `n` jobs, then claims and completes each; returns how many ran. */
async function cycle(queue: Queue, n: number): Promise<number> {
  await queue.enqueueMany(
    Array.from({ length: n }, (_, i) => ({ type: "t", data: i })),
  );
  let done = 0;
  for (let job = await queue.claim(); job; job = await queue.claim()) {
    await queue.complete(job, null);
    done++;
  }
  return done;
}

describe("redis scripts as Functions", () => {
  test("every call runs through FCALL of one versioned library, loaded once", async () => {
    const s = await server();
    const c = await raw(s.url);
    const backend = redisBackend({ url: s.url });
    const queue = createQueue({ backend, name: "once" });
    try {
      assert.equal(await cycle(queue, 20), 20);
      assert.equal((await queue.stats()).complete, 20);
      const libs = await libraries(c);
      assert.equal(libs.length, 1);
      assert.match(libs[0]!, /^jobline_[0-9a-f]{16}$/);
      const ran = await calls(c);
      assert.ok(ran.fcall >= 42, `fcall calls: ${ran.fcall}`);
      assert.equal(ran.evalsha, 0);
    } finally {
      await queue.close();
      await backend.close();
    }
  });

  test("a FUNCTION FLUSH while a worker drains: the library is loaded again and every job completes", async () => {
    const s = await server();
    const c = await raw(s.url);
    const backend = redisBackend({ url: s.url });
    const queue = createQueue({ backend, name: "flushed" });
    let seen = 0;
    const worker = createWorker(queue, {
      t: async () => {
        if (++seen === 50 || seen === 120) {
          await c.sendCommand(["FUNCTION", "FLUSH"]);
        }
        return null;
      },
    }, { concurrency: 10 });
    try {
      await queue.enqueueMany(
        Array.from({ length: 200 }, (_, i) => ({ type: "t", data: i })),
      );
      await waitFor(
        "every job to complete",
        async () => (await queue.stats()).complete === 200,
        { timeout: 30_000, interval: 25 },
      );
      const stats = await queue.stats();
      assert.equal(stats.pending + stats.processing + stats.failed, 0);
      assert.ok(seen >= 200);
      assert.equal((await libraries(c)).length, 1);
      assert.equal((await calls(c)).evalsha, 0);
    } finally {
      await worker.stop();
      await queue.close();
      await backend.close();
    }
  });

  test("after a server restart the library is loaded again", async () => {
    const s = await server();
    const backend = redisBackend({ url: s.url });
    const queue = createQueue({ backend, name: "restarted" });
    try {
      assert.equal(await cycle(queue, 5), 5);
      await s.stop();
      await s.start();
      const c = await raw(s.url);
      assert.deepEqual(await libraries(c), [], "nothing persisted");
      await waitFor("the backend to reconnect", async () => {
        try {
          return await cycle(queue, 5) === 5;
        } catch {
          return false;
        }
      }, { timeout: 15_000, interval: 50 });
      assert.equal((await libraries(c)).length, 1);
      assert.equal((await calls(c)).evalsha, 0);
    } finally {
      await queue.close();
      await backend.close();
    }
  });

  test("another version's library on the server is left as it is", async () => {
    const s = await server();
    const c = await raw(s.url);
    const other = "jobline_0000000000000000";
    await c.sendCommand([
      "FUNCTION",
      "LOAD",
      `#!lua name=${other}\nredis.register_function('${other}_claim', ` +
      `function(keys, args) return 'other' end)`,
    ]);
    const backend = redisBackend({ url: s.url });
    const queue = createQueue({ backend, name: "beside" });
    try {
      assert.equal(await cycle(queue, 5), 5);
      const libs = await libraries(c);
      assert.equal(libs.length, 2);
      assert.ok(libs.includes(other));
      assert.equal(
        await c.sendCommand(["FCALL", `${other}_claim`, "0"]),
        "other",
      );
    } finally {
      await queue.close();
      await backend.close();
    }
  });

  for (
    const [title, rules] of [
      ["may not run FCALL", ["-fcall", "-function"]],
      ["may not load a library", ["-function"]],
    ] as const
  ) {
    test(`a user who ${title} runs the scripts with EVALSHA`, async () => {
      const s = await server();
      const c = await raw(s.url);
      await c.sendCommand([
        "ACL",
        "SETUSER",
        "jl",
        "on",
        ">pw",
        "+@all",
        ...rules,
        "~*",
        "&*",
      ]);
      const backend = redisBackend({
        url: `redis://jl:pw@127.0.0.1:${s.port}`,
      });
      const queue = createQueue({ backend, name: "evalsha" });
      try {
        assert.equal(await cycle(queue, 20), 20);
        assert.equal((await queue.stats()).complete, 20);
        assert.deepEqual(await libraries(c), []);
        const ran = await calls(c);
        assert.ok(ran.fcall <= 1, "FCALL tried once at most");
        assert.ok(ran.evalsha >= 42);
      } finally {
        await queue.close();
        await backend.close();
      }
    });
  }

  test("on a Cluster every master gets the library, again after a FUNCTION FLUSH", async () => {
    const cluster = await startRedisCluster();
    clusters.push(cluster);
    const nodes = await Promise.all(cluster.nodes.map((n) => raw(n.url)));
    const backend = redisBackend({ url: cluster.url });
    // queues enough that each master serves some (slots by CRC16 of name)
    const queues = Array.from(
      { length: 24 },
      (_, i) => createQueue({ backend, name: `q${i}` }),
    );
    try {
      for (const q of queues) assert.equal(await cycle(q, 3), 3);
      for (const node of nodes) assert.equal((await libraries(node)).length, 1);
      for (const node of nodes) await node.sendCommand(["FUNCTION", "FLUSH"]);
      for (const q of queues) assert.equal(await cycle(q, 3), 3);
      for (const node of nodes) {
        assert.equal((await libraries(node)).length, 1);
        assert.equal((await calls(node)).evalsha, 0);
      }
    } finally {
      for (const q of queues) await q.close();
      await backend.close();
    }
  });
});
