/**
 * migrate() (SPEC §10): a queue with pending, delayed, prioritised, keyed
 * and finished jobs goes memory → SQLite file → PostgreSQL → Redis → memory
 * with every field kept and its claim order; "move" empties the source; a
 * second run copies nothing; processing jobs are skipped and reported; a
 * target that fails mid-copy leaves the source whole and the report says
 * so; bad options and targets are ValidationErrors. Real servers, started
 * here.
 *
 * @module
 */

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Backend } from "../src/backend/interface.ts";
import { memoryBackend } from "../backends/memory/mod.ts";
import { ValidationError } from "../src/errors.ts";
import { migrate } from "../src/migrate.ts";
import { createQueue } from "../src/queue.ts";
import type { Queue } from "../src/queue_types.ts";
import type { Job } from "../src/types.ts";
import { startPostgres } from "./_support/postgres_server.ts";
import { startRedis } from "./_support/redis_server.ts";

const dir = mkdtempSync(join(tmpdir(), "jobline-migrate-"));
let redis: Awaited<ReturnType<typeof startRedis>>;
let pg: Awaited<ReturnType<typeof startPostgres>>;
const open: Queue[] = [];

before(async () => {
  [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
});
after(async () => {
  await Promise.all(open.map((q) => q.close()));
  await redis?.destroy();
  pg?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const T0 = Date.parse("2026-05-01T12:00:00.000Z");
let now = T0;
const clock = () => now;

function queue(url: string, name = `m${crypto.randomUUID().slice(0, 8)}`) {
  const q = createQueue(url, { name, clock });
  open.push(q);
  return q;
}

/** A queue with one job of every kind a migration must keep. */
async function fill(q: Queue): Promise<void> {
  now = T0;
  await q.enqueue("plain", { n: 1 });
  await q.enqueue("urgent", { n: 2 }, { priority: "high", maxAttempts: 7 });
  await q.enqueue("later", { n: 3 }, { delay: 3_600_000, ttl: 86_400 });
  await q.enqueue("keyed", { n: 4 }, {
    key: "order-42",
    metadata: { tenant: "t1", deep: { b: 1, a: [2, 3] } },
    removeOnComplete: { age: 5_000, count: 10 },
  });
  for (const outcome of ["complete", "failed"] as const) {
    await q.enqueue(outcome, { n: outcome });
    const job = (await q.claim({ types: [outcome] }))!;
    now += 10;
    await q.update(job, { progress: 0.5, message: "half" });
    if (outcome === "complete") await q.complete(job, { ok: true });
    else await q.fail(job, new Error("boom"), { retry: false });
  }
  await q.enqueue("gone", null);
  await q.cancel(
    (await q.list({ status: "pending", type: "gone" })).jobs[0]!.id,
  );
  now = T0 + 1_000;
}

const ALL = ["pending", "complete", "failed", "cancelled"] as const;

async function everything(q: Queue): Promise<Job[]> {
  return (await q.list({ limit: 1_000 })).jobs;
}

describe("migrate", () => {
  test("memory → SQLite → PostgreSQL → Redis → memory keeps every field and the claim order", async () => {
    const backend = memoryBackend();
    const first = createQueue({ backend, name: "trip", clock });
    open.push(first);
    await fill(first);
    const original = await everything(first);
    assert.equal(original.length, 7);
    const hops = [
      `sqlite://${join(dir, "trip.db")}`,
      pg.url,
      redis.url,
    ];
    let from: Queue = first;
    for (const url of hops) {
      const to = queue(url);
      const report = await migrate({ from, to, statuses: [...ALL] });
      assert.equal(report.error, undefined, `${url}: ${report.error}`);
      assert.equal(report.copied, 7, url);
      assert.equal(report.verified, true, url);
      assert.deepEqual(await everything(to), original, `every field on ${url}`);
      from = to;
    }
    const home = createQueue({ backend: memoryBackend(), name: "home", clock });
    open.push(home);
    const back = await migrate({ from, to: home, statuses: [...ALL] });
    assert.deepEqual([back.copied, back.verified], [7, true]);
    assert.deepEqual(await everything(home), original);
    now = T0 + 7_200_000; // the delayed job is due too
    const claimed = await home.claimMany(10);
    assert.deepEqual(claimed.map((j) => j.type), [
      "urgent",
      "plain",
      "later",
      "keyed",
    ]);
    assert.equal(
      await home.enqueue("keyed", null, { key: "order-42" }),
      claimed[3]!.id,
      "the key is still held by its job",
    );
    await backend.close();
  });

  test("move empties the source; a second run copies nothing; processing jobs are skipped and reported", async () => {
    const from = queue(`sqlite://${join(dir, "move.db")}`);
    const to = queue(redis.url);
    await fill(from);
    await from.enqueue("busy", null);
    const busy = (await from.claim({ types: ["busy"] }))!;
    const copy = await migrate({ from, to });
    assert.deepEqual(
      [copy.copied, copy.skippedBy.processing, copy.verified],
      [4, 1, true],
      "pending jobs by default",
    );
    const again = await migrate({ from, to, mode: "move" });
    assert.deepEqual(
      [again.copied, again.skippedBy.exists, again.verified, again.removed],
      [0, 4, true, 4],
    );
    const left = await from.stats();
    assert.deepEqual([left.pending, left.processing], [0, 1]);
    assert.equal((await to.stats()).pending, 4);
    await from.complete(busy, null);
  });

  test("a target that fails mid-copy leaves the source whole, and the report says so", async () => {
    const from = queue(`sqlite://${join(dir, "fail.db")}`);
    await fill(from);
    const before = await everything(from);
    const inner = memoryBackend();
    let calls = 0;
    const failing: Backend = {
      ...inner,
      importJobs(q, jobs, o) {
        if (++calls === 2) return Promise.reject(new Error("disk full"));
        return inner.importJobs(q, jobs, o);
      },
    };
    const to = createQueue({ backend: failing, name: "target", clock });
    open.push(to);
    const report = await migrate({
      from,
      to,
      statuses: [...ALL],
      mode: "move",
      batchSize: 2,
    });
    assert.equal(report.verified, false);
    assert.match(report.error ?? "", /disk full/);
    assert.equal(report.removed, 0);
    assert.deepEqual(await everything(from), before, "the source is whole");
    await inner.close();
  });

  test("clean() of pending jobs goes by createdAt for a job copied in after newer ones", async () => {
    // The memory backend walked its jobs in storage order and stopped at
    // the first one newer than the cutoff, so it missed the copied job.
    for (
      const url of [
        "memory://",
        `sqlite://${join(dir, "clean.db")}`,
        pg.url,
        redis.url,
      ]
    ) {
      now = T0 - 10_000;
      const from = queue("memory://");
      const old = await from.enqueue("t", "old");
      now = T0;
      const to = queue(url);
      const fresh = await to.enqueue("t", "fresh");
      assert.equal((await migrate({ from, to })).copied, 1, url);
      assert.equal(await to.clean({ status: "pending", olderThan: 5_000 }), 1);
      assert.equal(await to.get(old), null, url);
      assert.equal((await to.get(fresh))?.status, "pending", url);
    }
  });

  test("bad options are ValidationErrors", async () => {
    const a = createQueue();
    const b = createQueue();
    open.push(a, b);
    const bad = [
      { from: a, to: a },
      { from: a, to: b, statuses: [] },
      { from: a, to: b, statuses: ["processing"] },
      { from: a, to: b, statuses: ["done"] },
      { from: a, to: b, mode: "swap" },
      { from: a, to: b, batchSize: 0 },
    ];
    for (const options of bad) {
      await assert.rejects(
        // deno-lint-ignore no-explicit-any
        () => migrate(options as any),
        ValidationError,
        JSON.stringify(Object.keys(options)),
      );
    }
  });
});
