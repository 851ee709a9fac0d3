/**
 * Flows (SPEC §12) on the Redis backend, where the conformance suite cannot
 * look: nothing of a flow outlives its last job (the keys `f:<flow>` and
 * `fx:<flow>`), a plain job carries no flow field, clean() of pending jobs
 * leaves a flow's jobs alone, and the 10,000-child release and a 10,000-long
 * cascade are each one script call. One redis-server, started on a free
 * loopback port for this file and stopped after it.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { redisBackend } from "../backends/redis/mod.ts";
import { createQueue, type Queue } from "../mod.ts";
import type { FlowLink } from "../src/backend/interface_flows.ts";
import type { FlowNode } from "../src/flow_types.ts";
import type { QueueOptions } from "../src/queue_types.ts";
import { redisFixture } from "./_support/redis_fixture.ts";

const PREFIX = "fl";

const redis = redisFixture((url) => redisBackend({ url, prefix: PREFIX }));
let n = 0;

/** A queue of its own, and its raw keys. */
function setup(options: Partial<QueueOptions> = {}): {
  queue: Queue;
  key: (name: string) => string;
} {
  const name = `f${++n}`;
  const queue = createQueue({ ...options, backend: redis.backend, name });
  return { queue, key: (k) => `${PREFIX}:{${name}}:${k}` };
}

const cmd = redis.cmd;

/** How many keys of a flow are stored (0, 1 or 2). */
async function flowKeys(
  key: (name: string) => string,
  id: string,
): Promise<number> {
  return Number(await cmd("EXISTS", key(`f:${id}`), key(`fx:${id}`)));
}

/** Script calls the server has run so far. */
async function scriptCalls(): Promise<number> {
  const info = String(await cmd("INFO", "commandstats"));
  let total = 0;
  for (
    const m of info.matchAll(/cmdstat_(?:eval(?:sha)?|fcall):calls=(\d+)/g)
  ) {
    total += Number(m[1]);
  }
  return total;
}

/** How many jobs a queue stores, whatever their status. */
async function jobCount(queue: Queue): Promise<number> {
  const st = await queue.stats();
  return st.waiting + st.pending + st.processing + st.complete + st.failed +
    st.cancelled;
}

/** Runs every claimable job of a queue to completion. */
async function drain(queue: Queue): Promise<void> {
  for (let job = await queue.claim(); job; job = await queue.claim()) {
    await queue.complete(job, job.flow?.ref ?? null);
  }
}

const DIAMOND: FlowNode[] = [
  { ref: "a", type: "t", data: 1 },
  { ref: "b", type: "t", data: 2, dependsOn: ["a"] },
  { ref: "c", type: "t", data: 3, dependsOn: ["a"] },
  { ref: "d", type: "t", data: 4, dependsOn: ["b", "c"] },
];

describe("redis flows", () => {
  test("a flow's keys go with its last job: removed as they complete, by remove() and by clean()", async () => {
    const done = setup({ removeOnComplete: true });
    const one = await done.queue.enqueueFlow(DIAMOND);
    assert.equal(await flowKeys(done.key, one.id), 1, "results come later");
    await drain(done.queue);
    assert.equal(await done.queue.getFlow(one.id), null);
    assert.equal(await flowKeys(done.key, one.id), 0);

    const kept = setup();
    const two = await kept.queue.enqueueFlow(DIAMOND);
    await drain(kept.queue);
    assert.equal(
      await cmd("EXISTS", kept.key(`fx:${two.id}`)),
      1,
      "no unfinished job, but jobs stored: the kept results stay",
    );
    assert.equal((await kept.queue.getFlow(two.id))?.jobs.length, 4);
    assert.equal(await kept.queue.clean({ status: "complete" }), 4);
    assert.equal(await flowKeys(kept.key, two.id), 0);

    const three = await kept.queue.enqueueFlow(DIAMOND);
    for (const id of Object.values(three.jobs)) {
      assert.equal(await kept.queue.remove(id), true);
    }
    assert.equal(await flowKeys(kept.key, three.id), 0);
    assert.equal(await jobCount(kept.queue), 0);
  });

  test("jobs cancelled by a cascade with removeOnFail: true go at once, and their flow with them", async () => {
    const { queue, key } = setup({ removeOnFail: true });
    const flow = await queue.enqueueFlow(DIAMOND);
    const a = await queue.claim();
    await queue.fail(a!, new Error("no"), { retry: false });
    assert.equal(await queue.getFlow(flow.id), null);
    assert.equal(await flowKeys(key, flow.id), 0);
    assert.equal(await jobCount(queue), 0);
  });

  test("a plain job has no flow field; clean() of pending jobs leaves a flow's alone", async () => {
    const { queue, key } = setup();
    const plain = await queue.enqueue("t", null);
    assert.equal(await cmd("HEXISTS", key(`j:${plain}`), "f"), 0);
    assert.equal("flow" in (await queue.get(plain))!, false);
    assert.equal("flow" in (await queue.claim())!, false);
    const flow = await queue.enqueueFlow(DIAMOND);
    await queue.enqueue("t", null);
    assert.equal(await queue.clean({ status: "pending" }), 1);
    assert.equal((await queue.get(flow.jobs.a!))?.status, "pending");
    assert.equal((await queue.claim())?.flow?.ref, "a");
  });

  test("retry() after the flow finished runs it again, and its kept results stay while its jobs are stored", async () => {
    const { queue, key } = setup({ maxAttempts: 1 });
    const flow = await queue.enqueueFlow(DIAMOND);
    await queue.fail((await queue.claim())!, "x", { retry: false });
    assert.equal(
      await flowKeys(key, flow.id),
      2,
      "the job index and a's error",
    );
    assert.equal(await queue.retry(flow.jobs.a!), true);
    await drain(queue);
    assert.deepEqual(
      (await queue.getFlow(flow.id))?.jobs.map((j) => j.status),
      ["complete", "complete", "complete", "complete"],
    );
    assert.equal(await flowKeys(key, flow.id), 2);
    assert.equal(await queue.clean({ status: "complete" }), 4);
    assert.equal(await flowKeys(key, flow.id), 0, "gone with the last job");
  });

  test("completing a parent of 10,000 waiting children releases them all in one script call", async () => {
    // 10,001 jobs: one more than the queue lets a flow have, stored through
    // the backend to measure exactly 10,000 children.
    const { queue } = setup();
    const now = Date.now();
    const keep = { age: null, count: null };
    const job = (id: string, type: string, flow: FlowLink) => ({
      id,
      type,
      data: "null",
      priority: 5,
      maxAttempts: 3,
      runAt: now,
      createdAt: now,
      ttl: null,
      expiresAt: null,
      key: null,
      metadata: "{}",
      keep: { complete: keep, failed: keep },
      flow,
      children: [] as string[],
    });
    const link = (ref: string, parents: Record<string, string>): FlowLink => ({
      id: "big",
      ref,
      parents,
      onParentFailure: "cancel",
    });
    const root = job("root", "root", link("root", {}));
    const jobs = [root];
    for (let i = 0; i < 10_000; i++) {
      const id = `c${String(i).padStart(5, "0")}`;
      jobs.push(job(id, "child", link(id, { root: "root" })));
      root.children.push(id);
    }
    await redis.backend.enqueueFlow(queue.name, { id: "big", jobs }, { now });
    assert.equal((await queue.stats()).waiting, 10_000);
    const claimed = await queue.claim();
    await cmd("CONFIG", "SET", "slowlog-log-slower-than", "0");
    await cmd("SLOWLOG", "RESET");
    const calls = await scriptCalls();
    const t0 = performance.now();
    await queue.complete(claimed!, "r");
    const ms = performance.now() - t0;
    const scriptCalled = await scriptCalls() - calls;
    const log = await cmd("SLOWLOG", "GET", "10") as [number, number, number][];
    await cmd("CONFIG", "SET", "slowlog-log-slower-than", "10000");
    assert.equal(scriptCalled, 1);
    const scriptMs = Math.max(...log.map((e) => Number(e[2]))) / 1000;
    console.log(
      `complete of a parent of 10,000 waiting children: script ${
        scriptMs.toFixed(1)
      } ms, call ${ms.toFixed(1)} ms`,
    );
    const stats = await queue.stats();
    assert.deepEqual([stats.waiting, stats.pending], [0, 10_000]);
    assert.equal((await queue.claim())?.id, "c00000", "in enqueue order");
  });

  test("a 10,000-long chain is cancelled by its first job's failure in one step", async () => {
    const { queue } = setup({ maxAttempts: 1 });
    const nodes: FlowNode[] = [{ ref: "j0", type: "t", data: null }];
    for (let i = 1; i < 10_000; i++) {
      nodes.push({
        ref: `j${i}`,
        type: "t",
        data: null,
        dependsOn: [`j${i - 1}`],
      });
    }
    const flow = await queue.enqueueFlow(nodes);
    await queue.fail((await queue.claim())!, "x", { retry: false });
    const stats = await queue.stats();
    assert.deepEqual([stats.waiting, stats.cancelled], [0, 9_999]);
    const last = await queue.get(flow.jobs.j9999!);
    assert.equal(last?.error?.message, 'parent "j9998" was cancelled');
    assert.equal(await queue.retry(flow.jobs.j0!), true);
    assert.equal((await queue.stats()).waiting, 9_999, "re-armed in one step");
  });
});
