/**
 * Limits and groups on SQLite beyond the conformance suite (SPEC §7.3,
 * §7.4; backends/sqlite/transitions_limits.ts): every statement of the
 * claim reads through an index; a group's slot held by a job whose lease
 * ran out frees with the lease, with nothing left parked; a claim in
 * the same transaction as stops sees the groups they freed; after a claim
 * met full groups, the next claims park the groups they fill; a running
 * job deleted by its time to live frees its group, queue or type slot and
 * wakes a waiting worker, and so does a group freed by housekeeping beside
 * a stop in one transaction, so a worker that never polls finishes a
 * grouped drain; limits and parked groups live in the file
 * across reopening; jobs of a group that become due after their enqueue
 * (delayed, retried, released, rescheduled, a flow's dependents, imported)
 * get their lane; and the cost of a claim with 1,000 against 100,000
 * pending jobs in 10,000 groups (printed, not asserted).
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
import * as SQL from "../backends/sqlite/sql.ts";
import * as CLAIM from "../backends/sqlite/sql_claim.ts";
import * as LIMITS from "../backends/sqlite/sql_limits.ts";
import { createQueue } from "../src/queue.ts";
import { createWorker } from "../src/worker/mod.ts";
import { sleep, waitFor } from "./_support/time.ts";
import { countingClaims } from "./_support/ttl_wakeups.ts";
import type { Limits } from "../src/limits_types.ts";

const dir = mkdtempSync(join(tmpdir(), "jobline-sqlite-limits-"));
let files = 0;
const freshFile = () => join(dir, `l${++files}.db`);

after(() => rmSync(dir, { recursive: true, force: true }));

const T = Date.parse("2026-07-01T08:00:00.000Z");

/** A fake clock for a queue. */
function clock(start = T): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** Reads a file with a connection of its own. */
function read<R>(path: string, fn: (db: DatabaseSync) => R): R {
  const db = new DatabaseSync(path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

describe("sqlite limits and groups", () => {
  test("the claim's statements read through indexes, never a whole table", async () => {
    const path = freshFile();
    const backend = sqliteBackend({ path });
    await createQueue({ backend }).stats(); // creates the schema
    await backend.close();
    const statements: Record<string, string> = {
      CLAIM_GUARD: CLAIM.CLAIM_GUARD,
      CLAIM_ANY: CLAIM.CLAIM_ANY,
      CLAIM_LIST: CLAIM.CLAIM_LIST,
      COMPLETE_LIMITED: SQL.COMPLETE_LIMITED,
    };
    for (const [name, sql] of Object.entries(LIMITS)) {
      if (typeof sql === "string") statements[name] = sql;
    }
    read(path, (db) => {
      for (const [name, sql] of Object.entries(statements)) {
        const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as {
          detail: string;
        }[]).map((r) => r.detail);
        for (const step of plan) {
          assert.ok(
            // json_each is the statement's own list (the jobs or lanes a
            // claim chose), not a table.
            !/^SCAN (?!CONSTANT ROW|json_each VIRTUAL TABLE)/.test(step) &&
              !/TEMP B-TREE/.test(step),
            `${name} reads without an index: ${plan.join("; ")}`,
          );
        }
      }
    });
  });

  test("a group's slot held by a dead worker's job frees when its lease runs out, and nothing stays parked", async () => {
    const path = freshFile();
    const time = clock();
    const backend = sqliteBackend({ path });
    const queue = createQueue({ backend, name: "q", clock: time.now });
    await queue.setLimits({ groups: { concurrency: 1 } });
    await queue.enqueueMany(["a", "a", "b"].map((group, i) => ({
      type: "t",
      data: i,
      options: { group },
    })));
    const first = await queue.claimMany(5, { leaseMs: 1_000 });
    assert.deepEqual(first.map((j) => j.group), ["a", "b"]);
    await queue.complete(first[1]!, null);
    const held = () =>
      read(path, (db) =>
        (db.prepare(
          "SELECT job_group, hold FROM jobline_lanes WHERE hold IS NOT NULL",
        ).all() as { job_group: string }[]).map((r) => r.job_group));
    assert.deepEqual(held(), ["a"], "a's lane is parked while a job runs");
    time.advance(1_000);
    const again = await queue.claimMany(5, { leaseMs: 1_000 });
    assert.deepEqual(again.map((j) => [j.data, j.attempt]), [[0, 2]]);
    const running = read(
      path,
      (db) =>
        db.prepare(LIMITS.RUNNING_GROUP).get("q", "a") as Record<
          string,
          number
        >,
    );
    assert.equal(Object.values(running)[0], 1, "one job of a runs");
    await queue.complete(again[0]!, null);
    assert.deepEqual(held(), []);
    const last = await queue.claimMany(5);
    assert.deepEqual(last.map((j) => j.data), [1]);
    await queue.close();
    await backend.close();
  });

  test("a claim in the same transaction as stops takes the jobs of the groups they freed", async () => {
    const path = freshFile();
    const backend = sqliteBackend({ path });
    const queue = createQueue({ backend, name: "q" });
    await queue.setLimits({ groups: { concurrency: 1 } });
    await queue.enqueueMany(["a", "b", "a", "b"].map((group, i) => ({
      type: "t",
      data: i,
      options: { group },
    })));
    const first = await queue.claimMany(5);
    assert.deepEqual(first.map((j) => j.data), [0, 1]);
    const held = () =>
      read(path, (db) =>
        (db.prepare(
          "SELECT job_group FROM jobline_lanes WHERE hold IS NOT NULL",
        ).all() as { job_group: string }[]).map((r) => r.job_group).sort());
    assert.deepEqual(held(), ["a", "b"], "a claim that ends short parks");
    // Asked for in one turn: one write transaction, the stops first.
    const [, , next] = await Promise.all([
      queue.complete(first[0]!, null),
      queue.complete(first[1]!, null),
      queue.claimMany(5),
    ]);
    assert.deepEqual(next.map((j) => j.data), [2, 3]);
    assert.deepEqual(held(), ["a", "b"], "parked again by that claim");
    await Promise.all(next.map((j) => queue.complete(j, null)));
    assert.deepEqual(held(), []);
    await queue.close();
    await backend.close();
  });

  test("after a claim met full groups, a claim that gets all it asked for parks the groups it fills", async () => {
    const path = freshFile();
    const backend = sqliteBackend({ path });
    const queue = createQueue({ backend, name: "q" });
    await queue.setLimits({ groups: { concurrency: 1 } });
    await queue.enqueueMany(
      ["a", "b", "c", "d", "a", "b", "c", "d"].map((group, i) => ({
        type: "t",
        data: i,
        options: { group },
      })),
    );
    const held = () =>
      read(path, (db) =>
        (db.prepare(
          "SELECT job_group FROM jobline_lanes WHERE hold IS NOT NULL",
        ).all() as { job_group: string }[]).map((r) => r.job_group).sort());
    const first = await queue.claimMany(2);
    assert.deepEqual(first.map((j) => j.data), [0, 1]);
    assert.deepEqual(held(), [], "a claim that gets all it asked parks none");
    assert.deepEqual((await queue.claimMany(2)).map((j) => j.data), [2, 3]);
    assert.deepEqual(held(), []);
    assert.deepEqual(await queue.claimMany(2), [], "every group is full");
    assert.deepEqual(held(), ["a", "b", "c", "d"], "met, and parked");
    await queue.complete(first[0]!, null);
    assert.deepEqual(held(), ["b", "c", "d"], "a's stop frees its lane");
    const next = await queue.claimMany(1);
    assert.deepEqual(next.map((j) => j.data), [4]);
    assert.deepEqual(held(), ["a", "b", "c", "d"], "filled, and parked");
    await queue.complete(next[0]!, null);
    await queue.complete(first[1]!, null);
    assert.deepEqual((await queue.claimMany(5)).map((j) => j.data), [5]);
    await queue.close();
    await backend.close();
  });

  const expiring: [string, Limits, { group?: string }, number][] = [
    ["group", { groups: { concurrency: 1 } }, { group: "a" }, 1],
    ["queue", { concurrency: 1 }, {}, 1],
    ["type", { types: { t: { concurrency: 1 } } }, {}, 1],
    ["queue", { concurrency: 2 }, {}, 2],
    ["type", { types: { t: { concurrency: 2 } } }, {}, 2],
  ];
  for (const [scope, limits, options, n] of expiring) {
    test(`a worker waiting on a full ${scope} limit of ${n} starts when housekeeping deletes the running jobs whose time to live ran out`, async () => {
      const path = freshFile();
      const time = clock();
      const inner = sqliteBackend({ path, housekeepingInterval: 20 });
      // The worker's claims, counted: a claim finds the limit full.
      const { backend, claims } = countingClaims(inner);
      const queue = createQueue({ backend, name: "q", clock: time.now });
      const started: unknown[] = [];
      try {
        await queue.setLimits(limits);
        await queue.enqueueMany(Array.from({ length: n }, () => ({
          type: "t",
          data: "expires",
          options: { ...options, ttl: 1 },
        })));
        await queue.enqueue("t", "next", options);
        const held = await queue.claimMany(n, { leaseMs: 3_600_000 });
        assert.equal(held.length, n);
        const before = claims();
        const waiting = createWorker(queue, {
          t: (job) => void started.push(job.data),
        }, { pollInterval: 60_000 });
        try {
          await waitFor("the worker's first claim", () => claims() > before);
          await sleep(50);
          assert.deepEqual(started, [], "the limit is full");
          time.advance(2_000);
          // A write that wakes no worker nor touches the jobs tells
          // housekeeping the queue's time: it deletes the expired jobs in one
          // statement, which frees the slots and wakes the worker (its poll
          // is a minute away).
          assert.equal(await queue.remove("no-such-job"), false);
          await waitFor("the next job started", () => started.length === 1);
          assert.deepEqual(started, ["next"]);
        } finally {
          await waiting.stop();
        }
      } finally {
        await queue.close();
        await inner.close();
      }
    });
  }

  test("a worker that never polls finishes a grouped drain while housekeeping runs beside it: every group freed wakes it", async () => {
    const path = freshFile();
    // Housekeeping every millisecond lands in most of the drain's write
    // transactions, after the stops in them: before it woke workers, the
    // lanes it freed there woke none, and this drain waited a minute.
    const backend = sqliteBackend({ path, housekeepingInterval: 1 });
    const queue = createQueue({ backend, name: "q" });
    await queue.setLimits({ groups: { concurrency: 1 } });
    const jobs = 3_000;
    await queue.enqueueMany(Array.from({ length: jobs }, (_, i) => ({
      type: "t",
      data: i,
      options: { group: `g${i % 30}` },
    })));
    let done = 0;
    const worker = createWorker(queue, { t: () => void done++ }, {
      concurrency: 10,
      pollInterval: 60_000,
    });
    try {
      await waitFor("every job to run", () => done === jobs, {
        timeout: 20_000,
      });
      await worker.stop();
      assert.equal((await queue.stats()).complete, jobs);
    } finally {
      await worker.stop();
      await queue.close();
      await backend.close();
    }
  });

  test("limits, claim windows and parked groups live in the file across reopening", async () => {
    const path = freshFile();
    const time = clock();
    const first = sqliteBackend({ path });
    const a = createQueue({ backend: first, name: "q", clock: time.now });
    const limits = {
      rate: { max: 3, per: 60_000 },
      groups: { concurrency: 1 },
    };
    await a.setLimits(limits);
    await a.enqueueMany([1, 2, 3, 4].map((i) => ({
      type: "t",
      data: i,
      options: { group: i < 3 ? "g" : `h${i}` },
    })));
    const claimed = await a.claimMany(1, { leaseMs: 600_000 });
    assert.deepEqual(claimed.map((j) => j.data), [1]);
    await a.close();
    await first.close();

    const second = sqliteBackend({ path });
    const b = createQueue({ backend: second, name: "q", clock: time.now });
    assert.deepEqual(await b.getLimits(), limits);
    const next = await b.claimMany(5, { leaseMs: 600_000 });
    assert.deepEqual(next.map((j) => j.data), [3, 4], "g is full, 3 a minute");
    await b.complete(claimed[0]!, null);
    assert.deepEqual(await b.claimMany(5), [], "the window is full");
    time.advance(60_000);
    assert.deepEqual((await b.claimMany(5)).map((j) => j.data), [2]);
    await b.close();
    await second.close();
  });

  test("jobs of a group that become due after their enqueue get their lane", async () => {
    const time = clock();
    const backend = sqliteBackend({ path: freshFile() });
    const queue = createQueue({ backend, name: "q", clock: time.now });
    await queue.setLimits({ groups: { concurrency: 1 } });
    const g = { group: "g" };
    const take = async () => (await queue.claimMany(5, { leaseMs: 60_000 }));
    const ids = async (jobs: Promise<{ id: string }[]>) =>
      (await jobs).map((j) => j.id);

    const retried = await queue.enqueue("t", "retried", {
      ...g,
      maxAttempts: 2,
    });
    const one = await take();
    assert.equal(await queue.fail(one[0]!, new Error("again")), "pending");
    assert.deepEqual(await take(), []);
    time.advance(3_600_000);
    const two = await take();
    assert.deepEqual(two.map((j) => [j.id, j.attempt]), [[retried, 2]]);
    await queue.complete(two[0]!, null);

    const delayed = await queue.enqueue("t", "delayed", { ...g, delay: 100 });
    assert.deepEqual(await take(), []);
    time.advance(100);
    const three = await take();
    assert.deepEqual(three.map((j) => j.id), [delayed], "promoted");
    await queue.release(three);
    const four = await take();
    assert.deepEqual(four.map((j) => j.id), [delayed], "released");
    await queue.complete(four[0]!, null);

    const later = await queue.enqueue("t", "later", { ...g, delay: 60_000 });
    assert.ok(await queue.reschedule(later, { runAt: time.now() }));
    const five = await take();
    assert.deepEqual(five.map((j) => j.id), [later], "rescheduled");
    await queue.complete(five[0]!, null);

    const flow = await queue.enqueueFlow([
      { ref: "p", type: "t", data: "parent", options: { group: "f" } },
      {
        ref: "c",
        type: "t",
        data: "child",
        dependsOn: ["p"],
        options: { group: "f" },
      },
    ]);
    const parent = await take();
    assert.deepEqual(parent.map((j) => j.data), ["parent"]);
    await queue.complete(parent[0]!, null);
    const child = await take();
    assert.deepEqual(child.map((j) => [j.id, j.group]), [[flow.jobs.c, "f"]]);
    assert.equal((await queue.get(flow.jobs.c!))?.group, "f");

    const record = (await backend.get("q", later, { now: time.now() }))!;
    const other = createQueue({ backend, name: "q2", clock: time.now });
    await other.enqueue("t", "first"); // jobs without a group take a turn too
    await backend.importJobs("q2", [{
      ...record,
      status: "pending",
      attempt: 0,
      lease: null,
      startedAt: null,
      completedAt: null,
      result: null,
    }], { now: time.now() });
    assert.deepEqual(await ids(other.claimMany(5)), [
      (await other.list()).jobs.find((j) => j.group === undefined)!.id,
      later,
    ]);
    await other.close();
    await queue.close();
    await backend.close();
  });

  test("a claim costs about as much with 100,000 pending jobs in 10,000 groups as with 1,000", async () => {
    const cost = async (pending: number, groups: number) => {
      const backend = sqliteBackend({ path: freshFile() });
      const queue = createQueue({ backend, name: "q" });
      await queue.setLimits({ groups: { concurrency: 1 } });
      for (let i = 0; i < pending; i += 1_000) {
        await queue.enqueueMany(Array.from({ length: 1_000 }, (_, j) => ({
          type: "t",
          data: null,
          options: { group: `g${(i + j) % groups}` },
        })));
      }
      const n = 300;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const job = await queue.claim();
        assert.ok(job !== null);
        await queue.complete(job, null);
      }
      const ms = (performance.now() - t0) / n;
      await queue.close();
      await backend.close();
      return ms;
    };
    const small = await cost(1_000, 1_000);
    const large = await cost(100_000, 10_000);
    console.log(
      `sqlite claim+complete: ${small.toFixed(3)} ms with 1,000 pending, ` +
        `${large.toFixed(3)} ms with 100,000 in 10,000 groups ` +
        `(${(large / small).toFixed(2)}x)`,
    );
  });
});
