/**
 * The Redis backend in its own setting: prefixes that keep queues apart, a
 * node-redis client of the user's, and options that are rejected. One
 * redis-server, started on a free loopback port for this file and stopped
 * after it, serves every test (each under its own prefix).
 */

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "redis";
import { redisBackend } from "../backends/redis/mod.ts";
import {
  createQueue,
  createWorker,
  subscribe,
  ValidationError,
} from "../mod.ts";
import { type RedisServer, startRedis } from "./_support/redis_server.ts";
import { sleep } from "./_support/time.ts";

let s: RedisServer;
before(async () => {
  s = await startRedis();
});
after(async () => {
  await s?.destroy();
});

describe("redis backend", () => {
  test("queues under different prefixes never see each other's jobs", async () => {
    const a = redisBackend({ url: s.url, prefix: "alpha" });
    const b = redisBackend({ url: s.url, prefix: "beta" });
    const qa = createQueue({ backend: a, name: "shared" });
    const qb = createQueue({ backend: b, name: "shared" });
    try {
      const seen: string[] = [];
      const stop = await qb.listen("queue", (e) => {
        if (e.kind === "update") seen.push(e.update.jobId);
      });
      const id = await qa.enqueue("work", { n: 1 }, { key: "k" });
      assert.equal(await qb.get(id), null);
      assert.equal((await qb.stats()).pending, 0);
      assert.equal(await qb.claim(), null);
      assert.deepEqual((await qb.list()).jobs, []);
      const other = await qb.enqueue("work", { n: 2 }, { key: "k" });
      assert.notEqual(other, id, "the same key is free under another prefix");
      assert.equal((await qa.claim())?.id, id);
      assert.equal((await qb.claim())?.id, other);
      await sleep(50);
      assert.deepEqual(seen.filter((x) => x === id), []);
      await stop();
    } finally {
      await qa.close();
      await qb.close();
      await a.close();
      await b.close();
    }
  });

  test("a client of the user's is used as given and left open by close()", async () => {
    const client = createClient({ url: s.url });
    client.on("error", () => {});
    const backend = redisBackend({ client, prefix: "mine" });
    const queue = createQueue({ backend, name: "own" });
    try {
      const id = await queue.enqueue("work", { n: 1 });
      const updates: string[] = [];
      const worker = createWorker(queue, { work: () => "ok" });
      for await (const u of subscribe(queue, id)) updates.push(u.status);
      await worker.stop();
      assert.equal(updates.at(-1), "complete");
      await queue.close();
      await backend.close();
      assert.ok(client.isOpen, "the user's client stays open");
      assert.equal(
        await client.sendCommand(["HEXISTS", "mine:{own}:keys", "none"]),
        0,
      );
      const keys = await client.sendCommand(["KEYS", "mine:{own}:*"]);
      assert.ok(Array.isArray(keys) && keys.includes("mine:{own}:ids"));
    } finally {
      await client.close();
    }
  });

  test("bad options are rejected with ValidationError", () => {
    assert.throws(() => redisBackend({ prefix: "a{b}" }), ValidationError);
    assert.throws(() => redisBackend({ prefix: "" }), ValidationError);
    assert.throws(() => redisBackend({ url: "http://x" }), ValidationError);
    assert.throws(
      () => redisBackend({ url: "redis+cluster://a:1,nope" }),
      ValidationError,
    );
    assert.throws(
      () => redisBackend({ url: "redis://x", client: createClient() }),
      ValidationError,
    );
    assert.throws(
      () => redisBackend({ client: {} as never }),
      ValidationError,
    );
  });
});
