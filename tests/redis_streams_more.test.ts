/**
 * The Redis Streams backend where the conformance suite cannot look: claims
 * FIFO by due time whatever the priority, across types; the streams and
 * their consumer group as Redis shows them (XINFO, XPENDING); redelivery of
 * an expired lease through the group's pending list; replay of a stream's
 * history; the trim length, which never drops an entry still to be
 * delivered; the check that scripts touch only the keys they declare; the
 * `redis+streams://` URLs; flows, limits and groups refused. One redis-server, started on a free loopback
 * port for this file and stopped after it; time moves on each queue's
 * clock.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { redisStreamsBackend } from "../backends/redis_streams/mod.ts";
import { scriptSource } from "../backends/redis_streams/lua_prelude.ts";
import { createQueue, type Queue, ValidationError } from "../mod.ts";
import type { QueueOptions } from "../src/queue_types.ts";
import { fakeClock } from "./conformance/_context.ts";
import { redisFixture } from "./_support/redis_fixture.ts";

const PREFIX = "rst";

const redis = redisFixture((url) =>
  redisStreamsBackend({
    url,
    prefix: PREFIX,
    checkKeys: true,
  })
);
let n = 0;

/** A queue of its own, and its raw keys. */
function setup(options: Partial<QueueOptions> = {}): {
  queue: Queue;
  name: string;
  key: (name: string) => string;
} {
  const name = `s${++n}`;
  const queue = createQueue({ ...options, backend: redis.backend, name });
  return { queue, name, key: (k) => `${PREFIX}:{${name}}:rs:${k}` };
}

const cmd = redis.cmd;

/** A stream's consumer group as XINFO GROUPS tells it. */
async function group(stream: string): Promise<Record<string, unknown>> {
  const [g] = await cmd("XINFO", "GROUPS", stream) as unknown[];
  if (!Array.isArray(g)) return g as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < g.length; i += 2) out[String(g[i])] = g[i + 1];
  return out;
}

describe("redis streams: claims", () => {
  test("claims are FIFO by due time whatever the priority, across types and within a types filter", async () => {
    const clock = fakeClock();
    const { queue } = setup({ clock: clock.clock });
    const later = await queue.enqueue("a", 0, { priority: 100, delay: 1_000 });
    const ids = [
      await queue.enqueue("a", 1, { priority: "low" }),
      await queue.enqueue("b", 2, { priority: "high" }),
      await queue.enqueue("c", 3),
      await queue.enqueue("a", 4, { priority: 50 }),
    ];
    assert.deepEqual(
      (await Promise.all(ids.map((id) => queue.get(id)))).map((j) =>
        j?.priority
      ),
      [1, 10, 5, 50],
      "priorities are stored",
    );
    assert.equal((await queue.claim({ types: ["c", "b"] }))?.id, ids[1]);
    clock.advance(1_000);
    const rest = await queue.claimMany(10);
    assert.deepEqual(rest.map((j) => j.id), [ids[0], ids[2], ids[3], later]);
  });

  test("each type has a stream read by the consumer group; a claim moves entries to its pending list and a completion acknowledges them", async () => {
    const { queue, key } = setup();
    await queue.enqueueMany([1, 2, 3].map((data) => ({ type: "t", data })));
    assert.equal(await cmd("XLEN", key("s:t")), 3);
    assert.equal((await group(key("s:t"))).name, "jobline");
    const [a, b] = await queue.claimMany(2);
    assert.equal((await group(key("s:t"))).pending, 2);
    await queue.complete(a!, null);
    await queue.fail(b!, new Error("no"), { retry: false });
    const g = await group(key("s:t"));
    assert.equal(g.pending, 0, "acknowledged");
    assert.equal(g.lag, 1, "one entry still to deliver");
    assert.equal(await cmd("XLEN", key("s:t")), 3, "history stays");
  });

  test("a job whose lease runs out is delivered again from the group's pending list, its delivery counted", async () => {
    const clock = fakeClock();
    const { queue, key } = setup({ clock: clock.clock });
    const id = await queue.enqueue("t", null);
    await queue.enqueue("t", "newer");
    const first = (await queue.claim({ leaseMs: 1_000 }))!;
    clock.advance(1_000);
    const again = (await queue.claim())!;
    assert.equal(again.id, id, "redelivered before newer entries");
    assert.equal(again.attempt, 2);
    const [entry] = await cmd(
      "XPENDING",
      key("s:t"),
      "jobline",
      "-",
      "+",
      "10",
    ) as [
      string,
      string,
      number,
      number,
    ][];
    assert.equal(entry?.[3], 2, "delivered twice");
    await assert.rejects(() => queue.complete(first, null));
    await queue.complete(again, "ok");
    assert.equal((await group(key("s:t"))).pending, 0);
  });

  test("an entry whose job was cancelled, removed or rescheduled before delivery is acknowledged and skipped", async () => {
    const clock = fakeClock();
    const { queue, key } = setup({ clock: clock.clock });
    const [c, r, d, ok] = await queue.enqueueMany(
      ["c", "r", "d", "ok"].map((data) => ({ type: "t", data })),
    );
    await queue.cancel(c!);
    await queue.remove(r!);
    await queue.reschedule(d!, { delay: 5_000 });
    assert.deepEqual((await queue.claimMany(10)).map((j) => j.id), [ok]);
    assert.equal((await group(key("s:t"))).pending, 1, "only the claimed one");
    clock.advance(5_000);
    assert.deepEqual((await queue.claimMany(10)).map((j) => j.id), [d]);
    assert.equal(await cmd("XLEN", key("s:t")), 5, "d has a second entry");
  });
});

describe("redis streams: replay and trim", () => {
  test("replay() reads a stream's history, by time or after an entry, and it outlives the jobs", async () => {
    const clock = fakeClock();
    const { queue, name } = setup({ clock: clock.clock });
    const start = clock.now;
    const ids = await queue.enqueueMany(
      [0, 1, 2].map((i) => ({ type: "t", data: { i } })),
    );
    clock.advance(10);
    const late = await queue.enqueue("t", { i: 3 }, { delay: 5 });
    await queue.enqueue("u", "other");
    clock.advance(5);
    for (const job of await queue.claimMany(10, { types: ["t"] })) {
      await queue.complete(job, null);
      await queue.remove(job.id);
    }
    const all = await redis.backend.replay(name, "t");
    assert.deepEqual(all.map((e) => [e.jobId, e.data]), [
      [ids[0], { i: 0 }],
      [ids[1], { i: 1 }],
      [ids[2], { i: 2 }],
      [late, { i: 3 }],
    ]);
    assert.deepEqual(all.map((e) => e.at), [start, start, start, start + 15]);
    assert.ok(all.every((e) => e.type === "t"));
    const page = await redis.backend.replay(name, "t", { after: all[1]!.id });
    assert.deepEqual(page.map((e) => e.jobId), [ids[2], late]);
    const recent = await redis.backend.replay(name, "t", { from: start + 1 });
    assert.deepEqual(recent.map((e) => e.jobId), [late]);
    assert.equal(
      (await redis.backend.replay(name, "t", { count: 1 })).length,
      1,
    );
    assert.deepEqual(await redis.backend.replay(name, "nothing"), []);
    for (
      const bad of [{ count: 0 }, { from: -1 }, { after: "x" }, { count: 1.5 }]
    ) {
      await assert.rejects(
        redis.backend.replay(name, "t", bad),
        ValidationError,
      );
    }
  });

  test("the trim length bounds a stream's history but never drops an entry still to be delivered", async () => {
    const trimmed = redisStreamsBackend({
      url: redis.server.url,
      prefix: PREFIX,
      trimLength: 10,
      checkKeys: true,
    });
    try {
      const name = `trim${++n}`;
      const queue = createQueue({ backend: trimmed, name });
      const stream = `${PREFIX}:{${name}}:rs:s:t`;
      const ids = await queue.enqueueMany(
        Array.from({ length: 600 }, (_, i) => ({ type: "t", data: i })),
      );
      assert.equal(await cmd("XLEN", stream), 600, "all undelivered: kept");
      const claimed: string[] = [];
      for (let jobs; (jobs = await queue.claimMany(50)).length > 0;) {
        for (const job of jobs) {
          claimed.push(job.id);
          await queue.complete(job, null);
        }
        // New entries on the way, to trim the stream as they come.
        if (claimed.length <= 600) await queue.enqueue("t", "more");
      }
      assert.deepEqual(claimed.slice(0, 600), ids, "every job, in order");
      const len = Number(await cmd("XLEN", stream));
      assert.ok(len >= 10 && len <= 200, `trimmed to about 10: ${len}`);
      assert.equal((await queue.stats()).pending, 0);
      await queue.close();
    } finally {
      await trimmed.close();
    }
  });
});

describe("redis streams: keys and URLs", () => {
  test("with checkKeys, a script fails on a key it did not declare", async () => {
    const body = "call('GET', KEYS[1]) return call('GET', 'undeclared')";
    const args = ["1", "declared", "0", "ns:", "0", "c", "0"];
    const source = (checkKeys: boolean) =>
      scriptSource(body, [], [], { publish: "PUBLISH", checkKeys });
    await assert.rejects(
      cmd("EVAL", source(true), ...args),
      /undeclared key undeclared/,
    );
    assert.equal(await cmd("EVAL", source(false), ...args), null);
  });

  test("createQueue() takes redis+streams:// URLs, and a bad one is a ValidationError at once", async () => {
    const url = redis.server.url.replace("redis://", "redis+streams://");
    const queue = createQueue(url, { name: `url${++n}` });
    try {
      const id = await queue.enqueue("t", null);
      assert.equal((await queue.claim())?.id, id);
    } finally {
      await queue.close();
    }
    for (
      const bad of [
        "redis+streams://h:port",
        "redis+streams+cluster://nohost",
        "rediss+streams://h/x",
      ]
    ) {
      assert.throws(() => createQueue(bad), ValidationError, bad);
    }
    assert.throws(
      () => redisStreamsBackend({ trimLength: -1 }),
      /trimLength/,
    );
    assert.throws(() => redisStreamsBackend({ consumer: "a b" }), /consumer/);
  });

  test("flows, limits and groups are refused with a ValidationError, storing nothing", async () => {
    const { queue } = setup();
    assert.equal(redis.backend.capabilities.flows, false);
    await assert.rejects(
      () =>
        queue.enqueueFlow([
          { ref: "a", type: "t", data: null },
          { ref: "b", type: "t", data: null, dependsOn: ["a"] },
        ]),
      ValidationError,
    );
    await assert.rejects(() => queue.getFlow("x"), ValidationError);
    await assert.rejects(
      () => queue.setLimits({ concurrency: 1 }),
      ValidationError,
    );
    await assert.rejects(() => queue.getLimits(), ValidationError);
    await assert.rejects(
      () => queue.enqueue("t", null, { group: "tenant" }),
      ValidationError,
    );
    const stats = await queue.stats();
    assert.equal(stats.pending + stats.waiting, 0);
  });
});
