/**
 * migrate() through the Redis backend (SPEC §10; the other backends' hops
 * are in tests/migrate.test.ts): memory → Redis → memory keeps every field
 * of jobs of every status and their claim order, and a key stays held by
 * its job, on one redis-server and on a three-master Redis Cluster, both
 * started for this file on free loopback ports and stopped after it.
 *
 * @module
 */

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { memoryBackend } from "../backends/memory/mod.ts";
import { redisBackend } from "../backends/redis/mod.ts";
import type { Backend } from "../src/backend/interface.ts";
import { migrate } from "../src/migrate.ts";
import { createQueue } from "../src/queue.ts";
import {
  type RedisCluster,
  type RedisServer,
  startRedis,
  startRedisCluster,
} from "./_support/redis_server.ts";

const T = Date.parse("2026-05-01T12:00:00.000Z");
const HOUR = 3_600_000;

let server: RedisServer;
let cluster: RedisCluster;
let n = 0;

before(async () => {
  [server, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
});
after(async () => {
  await server?.destroy();
  await cluster?.destroy();
});

/**
 * migrate() memory → Redis (`b`) → memory: a queue with one job of every
 * kind keeps every field and its claim order, and its key stays held.
 */
async function migrateThrough(b: Backend): Promise<void> {
  let now = T;
  const clock = () => now;
  const source = memoryBackend();
  const home = memoryBackend();
  const first = createQueue({ backend: source, name: "trip", clock });
  const mid = createQueue({ backend: b, name: `m${++n}`, clock });
  const last = createQueue({ backend: home, name: "home", clock });
  try {
    await first.enqueue("plain", { n: 1 });
    await first.enqueue("urgent", { n: 2 }, { priority: "high" });
    await first.enqueue("later", { n: 3 }, { delay: HOUR, ttl: 86_400_000 });
    await first.enqueue("keyed", { n: 4 }, {
      key: "order-42",
      metadata: { tenant: "t1" },
      removeOnComplete: { age: 5_000, count: 10 },
    });
    for (const outcome of ["complete", "failed"] as const) {
      await first.enqueue(outcome, { n: outcome });
      const job = (await first.claim({ types: [outcome] }))!;
      now += 10;
      await first.update(job, { progress: 0.5, message: "half" });
      if (outcome === "complete") await first.complete(job, { ok: true });
      else await first.fail(job, new Error("boom"), { retry: false });
    }
    await first.cancel(await first.enqueue("gone", null));
    now += 1_000;
    const statuses = ["pending", "complete", "failed", "cancelled"] as const;
    const all = async (q: typeof first) => (await q.list({ limit: 100 })).jobs;
    const original = await all(first);
    for (const [from, to] of [[first, mid], [mid, last]] as const) {
      const report = await migrate({ from, to, statuses: [...statuses] });
      assert.equal(report.error, undefined, String(report.error));
      assert.deepEqual([report.copied, report.verified], [7, true]);
      assert.deepEqual(await all(to), original);
    }
    now += 2 * HOUR;
    const claimed = await mid.claimMany(10);
    assert.deepEqual(claimed.map((j) => j.type), [
      "urgent",
      "plain",
      "later",
      "keyed",
    ]);
    assert.equal(
      await mid.enqueue("keyed", null, { key: "order-42" }),
      claimed[3]!.id,
      "the key is still held by its job",
    );
  } finally {
    for (const q of [first, mid, last]) await q.close();
    await source.close();
    await home.close();
  }
}

describe("migrate through redis", () => {
  for (
    const [name, url] of [
      ["a redis-server", () => server.url],
      ["a Redis Cluster", () => cluster.url],
    ] as const
  ) {
    test(`memory → ${name} → memory keeps every field and the claim order`, async () => {
      const backend = redisBackend({ url: url(), prefix: "mig" });
      try {
        await migrateThrough(backend);
      } finally {
        await backend.close();
      }
    });
  }
});
