/**
 * Flows (SPEC §12) on SQLite beyond the conformance suite: a file of
 * schema 5 migrated up with its jobs kept and flows working on it; nothing
 * of a flow left once its jobs are gone (the kept results go when the flow
 * has no unfinished job); the release, the cascade and the re-arm of
 * 10,000 dependents each as one transaction; clean of pending jobs leaving
 * flow jobs alone; and a flow finished through one backend object seen by
 * another on the same file.
 *
 * @module
 */

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { sqliteBackend } from "../backends/sqlite/mod.ts";
import {
  META_SET,
  META_TABLE,
  MIGRATIONS,
} from "../backends/sqlite/sql_migrations.ts";
import type { NewFlowJobRecord } from "../src/backend/interface_flows.ts";
import { createQueue } from "../src/queue.ts";

const dir = mkdtempSync(join(tmpdir(), "jobline-sqlite-flows-"));
let files = 0;
const freshFile = () => join(dir, `f${++files}.db`);

after(() => rmSync(dir, { recursive: true, force: true }));

const T = 1_700_000_000_000;

/** Runs `fn` on a connection of its own to the file. */
function inFile<R>(path: string, fn: (db: DatabaseSync) => R): R {
  const db = new DatabaseSync(path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** One number from a query. */
function count(path: string, sql: string, ...params: string[]): number {
  return inFile(path, (db) => {
    const row = db.prepare(sql).get(...params) as Record<string, number>;
    return Object.values(row)[0]!;
  });
}

/** Writes a file as schema 5 wrote it, with a pending and a complete job. */
function schema5File(path: string): void {
  inFile(path, (db) => {
    db.exec(META_TABLE);
    for (const v of [1, 2, 3, 4, 5]) db.exec(MIGRATIONS[v]!);
    db.prepare(META_SET).run("schema_version", "5");
    const insert = db.prepare(`INSERT INTO jobline_jobs (queue, id, type,
      data, priority, max_attempts, run_at, created_at, metadata, state,
      status, updated_at, completed_at) VALUES ('q', ?, 't', '1', 5, 3, ?, ?,
      '{}', ?, ?, ?, ?)`);
    insert.run("old-pending", T, T, 0, "pending", T, null);
    insert.run("old-complete", T, T, 3, "complete", T, T);
  });
}

/** A flow of one parent and `n` children, as the queue layer makes it. */
function fanOut(
  flowId: string,
  n: number,
  policy: "cancel" | "continue",
): NewFlowJobRecord[] {
  const kept = { age: null, count: null };
  const base = {
    type: "t",
    data: "null",
    priority: 5,
    maxAttempts: 1,
    runAt: T,
    createdAt: T,
    ttl: null,
    expiresAt: null,
    key: null,
    metadata: "{}",
    keep: { complete: kept, failed: kept },
  };
  const pad = (i: number) => String(i).padStart(8, "0");
  const root = `${flowId}-root`;
  const children = Array.from({ length: n }, (_, i) => `${flowId}-${pad(i)}`);
  return [
    {
      ...base,
      id: root,
      flow: { id: flowId, ref: "root", parents: {}, onParentFailure: "cancel" },
      children,
    },
    ...children.map((id, i) => ({
      ...base,
      id,
      flow: {
        id: flowId,
        ref: `c${i}`,
        parents: { root },
        onParentFailure: policy,
      },
      children: [],
    })),
  ];
}

describe("sqlite flows", () => {
  test("a file of schema 5 gets the flow columns, index and table, and keeps its jobs", async () => {
    const path = freshFile();
    schema5File(path);
    const backend = sqliteBackend({ path });
    const queue = createQueue({ backend, name: "q", clock: () => T });
    const old = await queue.get("old-pending");
    assert.equal(old?.status, "pending");
    assert.equal("flow" in old!, false, "a plain job has no flow key");
    assert.equal((await queue.get("old-complete"))?.status, "complete");
    const flow = await queue.enqueueFlow([
      { ref: "a", type: "t", data: 1 },
      { ref: "b", type: "t", data: 2, dependsOn: ["a"] },
    ]);
    assert.equal((await queue.stats()).waiting, 1);
    await queue.complete((await queue.claim())!, "old first"); // old-pending
    await queue.complete((await queue.claim())!, "A");
    assert.equal((await queue.get(flow.jobs.b!))?.status, "pending");
    await backend.close();
    inFile(path, (db) => {
      const version = db.prepare(
        "SELECT value FROM jobline_meta WHERE name = 'schema_version'",
      ).get() as { value: string };
      assert.equal(version.value, "12");
      const names = (db.prepare(
        "SELECT name FROM sqlite_master WHERE name LIKE '%flow%' ORDER BY 1",
      ).all() as { name: string }[]).map((r) => r.name);
      assert.deepEqual(names, [
        "jobline_flow_gone",
        "jobline_flow_results",
        "jobline_flow_results_job",
        "jobline_jobs_flow",
      ]);
    });
  });

  test("a parent's kept result lives while its flow has stored jobs, and nothing of a flow outlives its jobs", async () => {
    const path = freshFile();
    const backend = sqliteBackend({ path });
    const queue = createQueue({
      backend,
      name: "q",
      clock: () => T,
      removeOnComplete: true,
    });
    const kept = "SELECT count(*) FROM jobline_flow_results";
    const flow = await queue.enqueueFlow([
      { ref: "a", type: "t", data: 1 },
      { ref: "b", type: "t", data: 2, dependsOn: ["a"] },
      { ref: "c", type: "t", data: 3, dependsOn: ["b"] },
    ]);
    await queue.complete((await queue.claim())!, "A");
    assert.equal(count(path, kept), 1, "a's result, a being removed");
    await queue.complete((await queue.claim())!, "B");
    assert.equal(count(path, kept), 2);
    const c = (await queue.claim())!;
    assert.deepEqual(await backend.parentResults("q", c.id, { now: T }), {
      b: { status: "complete", result: '"B"', error: null },
    });
    await queue.complete(c, "C");
    assert.equal(count(path, kept), 0, "the flow's last job is gone");
    assert.equal(await queue.getFlow(flow.id), null, "every job removed");
    // A cancelled flow, then its jobs removed one by one.
    const two = await queue.enqueueFlow([
      { ref: "a", type: "t", data: 1 },
      { ref: "b", type: "t", data: 2, dependsOn: ["a"] },
    ]);
    await queue.complete((await queue.claim())!, "A");
    assert.equal(await queue.cancelFlow(two.id), true);
    assert.equal(count(path, kept), 1, "b is stored: a retry of it reads a");
    assert.equal(await queue.remove(two.jobs.b!), true);
    assert.equal(await queue.getFlow(two.id), null);
    assert.equal(count(path, kept), 0, "gone with b");
    assert.equal(
      count(
        path,
        "SELECT count(*) FROM jobline_jobs WHERE flow_id IS NOT NULL",
      ),
      0,
    );
    await backend.close();
  });

  test("a failure that cancels dependents without dependents of their own leaves nothing of its flow", async () => {
    const path = freshFile();
    const backend = sqliteBackend({ path });
    const queue = createQueue({
      backend,
      name: "q",
      clock: () => T,
      removeOnComplete: true,
      removeOnFail: true,
    });
    // c fails for good: d (a leaf) and e (a leaf) are cancelled and, by
    // removeOnFail, removed; every job of the flow is then gone.
    const flow = await queue.enqueueFlow([
      { ref: "a", type: "t", data: 1 },
      { ref: "c", type: "t", data: 2, dependsOn: ["a"] },
      { ref: "d", type: "t", data: 3, dependsOn: ["c"] },
      { ref: "e", type: "t", data: 4, dependsOn: ["c"] },
    ]);
    await queue.complete((await queue.claim())!, "A");
    await queue.fail((await queue.claim())!, new Error("x"), { retry: false });
    assert.equal(await queue.getFlow(flow.id), null, "every job removed");
    assert.equal(count(path, "SELECT count(*) FROM jobline_flow_results"), 0);
    await backend.close();
  });

  test("clean() of pending jobs leaves flow jobs alone", async () => {
    const backend = sqliteBackend({ path: freshFile() });
    const queue = createQueue({ backend, name: "q", clock: () => T });
    await queue.enqueue("t", "plain");
    const flow = await queue.enqueueFlow([{ ref: "a", type: "t", data: 1 }]);
    assert.equal(await queue.clean({ status: "pending" }), 1);
    assert.equal((await queue.get(flow.jobs.a!))?.status, "pending");
    await backend.close();
  });

  test("a flow finished through one backend object releases jobs another object claims", async () => {
    const path = freshFile();
    const one = sqliteBackend({ path });
    const two = sqliteBackend({ path });
    const first = createQueue({ backend: one, name: "q", clock: () => T });
    const second = createQueue({ backend: two, name: "q", clock: () => T });
    const flow = await first.enqueueFlow([
      { ref: "a", type: "t", data: 1 },
      { ref: "b", type: "t", data: 2, dependsOn: ["a"] },
    ]);
    const a = await second.claim();
    assert.equal(a?.id, flow.jobs.a);
    assert.equal(await first.claim(), null, "b waits");
    await second.complete(a!, { size: 3 });
    const b = await first.claim();
    assert.equal(b?.id, flow.jobs.b);
    assert.equal(b?.flow?.ref, "b");
    assert.deepEqual(await one.parentResults("q", b!.id, { now: T }), {
      a: { status: "complete", result: '{"size":3}', error: null },
    });
    await one.close();
    await two.close();
  });
});

describe("sqlite flows at 10,000 dependents", () => {
  const N = 10_000;
  const events = "SELECT count(*) FROM jobline_events";
  const waiting = "SELECT count(*) FROM jobline_jobs WHERE status = 'waiting'";

  /**
   * Another backend object on the file that listens to queue "q", so that
   * its updates go in the log (sql_watchers.ts); the result closes it.
   */
  async function watched(path: string): Promise<() => Promise<void>> {
    const other = sqliteBackend({ path });
    await other.listen("q", "queue", () => {});
    return () => other.close();
  }

  test("completing a parent releases its 10,000 waiting children in one transaction", async () => {
    const path = freshFile();
    const backend = sqliteBackend({ path });
    await backend.enqueueFlow("q", {
      id: "big",
      jobs: fanOut("big", N, "cancel"),
    }, { now: T });
    assert.equal(count(path, waiting), N);
    const [root] = await backend.claim("q", {
      limit: 1,
      leaseMs: 60_000,
      now: T,
      types: null,
    });
    const unwatch = await watched(path);
    const before = count(path, events);
    await backend.complete(
      "q",
      { id: root!.id, token: root!.lease!.token },
      '"done"',
      { now: T + 1 },
    );
    // One transaction writes one row of the updates log.
    assert.equal(count(path, events), before + 1);
    await unwatch();
    assert.equal(count(path, waiting), 0);
    const stats = await backend.stats("q", { now: T + 1 });
    assert.deepEqual([stats.pending, stats.complete], [N, 1]);
    await backend.close();
  });

  test("a parent that fails cancels 10,000 children in one transaction, and retry re-arms them in one", async () => {
    const path = freshFile();
    const backend = sqliteBackend({ path });
    await backend.enqueueFlow("q", {
      id: "big",
      jobs: fanOut("big", N, "cancel"),
    }, { now: T });
    const [root] = await backend.claim("q", {
      limit: 1,
      leaseMs: 60_000,
      now: T,
      types: null,
    });
    const unwatch = await watched(path);
    const before = count(path, events);
    await backend.fail("q", { id: root!.id, token: root!.lease!.token }, {
      error: { name: "Error", message: "boom" },
      retryAt: null,
      now: T + 1,
    });
    assert.equal(count(path, events), before + 1);
    let stats = await backend.stats("q", { now: T + 1 });
    assert.deepEqual([stats.cancelled, stats.failed], [N, 1]);
    assert.equal(await backend.retry("q", root!.id, { now: T + 2 }), true);
    assert.equal(count(path, events), before + 2);
    await unwatch();
    stats = await backend.stats("q", { now: T + 2 });
    assert.deepEqual([stats.waiting, stats.pending], [N, 1]);
    assert.equal(
      count(path, "SELECT count(*) FROM jobline_jobs WHERE waiting_on <> 1"),
      1,
      "each child waits on its one parent (the root has none)",
    );
    await backend.close();
  });
});
