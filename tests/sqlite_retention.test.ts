/**
 * Retention on SQLite beyond the conformance suite: a file of schema 2
 * (before retention) and one of schema 7 (two retention indexes, no gate)
 * migrated up; the keep rules applied to leases that run out in claim's
 * housekeeping and per job inside one grouped transaction; keep ages mixed
 * in one status; the removal gate shared by processes, lowered by
 * dependents a flow cancels, and a sweep bounded; and the retention
 * statements reading their index rather than the table.
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
  SCHEMA_VERSION,
} from "../backends/sqlite/sql_migrations.ts";
import {
  AGES,
  AGES_TIMED,
  cleanFinished,
  DUE,
  GATE,
  HEAD,
  oldest,
  tally,
} from "../backends/sqlite/sql_retention.ts";
import { createQueue } from "../src/queue.ts";
import type { Queue } from "../src/queue_types.ts";
import { completeOne } from "./conformance/_retention.ts";

const dir = mkdtempSync(join(tmpdir(), "jobline-sqlite-retention-"));
let files = 0;
const freshFile = () => join(dir, `r${++files}.db`);

after(() => rmSync(dir, { recursive: true, force: true }));

const DAY = 86_400_000;
const T = 1_700_000_000_000;

/** Writes a file as schema 2 wrote it, with three jobs of queue "q". */
function schema2File(path: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(META_TABLE);
    db.exec(MIGRATIONS[1]!);
    db.exec(MIGRATIONS[2]!);
    db.prepare(META_SET).run("schema_version", "2");
    const insert = db.prepare(`INSERT INTO jobline_jobs (queue, id, type,
      data, priority, max_attempts, run_at, created_at, metadata, state,
      status, updated_at, completed_at, result, error, key, key_held, version)
      VALUES ('q', ?, 't', 'null', 50, 3, ?, ?, '{}', ?, ?, ?, ?, ?, ?, ?, ?,
      ?)`);
    const failure = '{"name":"Error","message":"no"}';
    insert.run("j1", T, T, 3, "complete", T, T, '"ok"', null, null, null, 4);
    insert.run("j2", T, T, 3, "failed", T, T, null, failure, null, null, 4);
    insert.run("j3", T, T, 0, "pending", T, null, null, null, "k", "k", 1);
  } finally {
    db.close();
  }
}

/**
 * Writes a file as schema 7 wrote it, with finished jobs of queue "q" at
 * T: j1 complete kept 1 s, j2 complete kept, j3 failed kept a day.
 */
function schema7File(path: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(META_TABLE);
    for (let v = 1; v <= 7; v++) db.exec(MIGRATIONS[v]!);
    db.prepare(META_SET).run("schema_version", "7");
    const insert = db.prepare(`INSERT INTO jobline_jobs (queue, id, type,
      data, priority, max_attempts, run_at, created_at, metadata, state,
      status, updated_at, completed_at, keep_complete_age, keep_failed_age,
      remove_at)
      VALUES ('q', ?1, 't', 'null', 50, 3, ?2, ?2, '{}', 3, ?3, ?2, ?2, ?4,
      ?5, ?6)`);
    insert.run("j1", T, "complete", 1_000, null, T + 1_000);
    insert.run("j2", T, "complete", null, null, null);
    insert.run("j3", T, "failed", null, DAY, T + DAY);
  } finally {
    db.close();
  }
}

/** The names of the indexes of jobline_jobs in a file. */
function indexes(path: string): string[] {
  const db = new DatabaseSync(path);
  try {
    return (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index'
      AND tbl_name = 'jobline_jobs' AND sql IS NOT NULL ORDER BY name`)
      .all() as { name: string }[]).map((r) => r.name);
  } finally {
    db.close();
  }
}

/** Those of `ids` still stored. */
async function stored(queue: Queue, ids: string[]): Promise<string[]> {
  const jobs = await Promise.all(ids.map((id) => queue.get(id)));
  return ids.filter((_, i) => jobs[i] !== null);
}

function schemaVersion(path: string): string {
  const db = new DatabaseSync(path);
  try {
    const row = db.prepare(
      "SELECT value FROM jobline_meta WHERE name = 'schema_version'",
    ).get() as { value: string };
    return row.value;
  } finally {
    db.close();
  }
}

describe("sqlite retention", () => {
  test("a file of schema 2 is migrated (through 3 and 4, to 5): its jobs are kept, and clean() finds its finished ones", async () => {
    const path = freshFile();
    schema2File(path);
    let now = T + 30 * DAY;
    const backend = sqliteBackend({ path });
    await using queue = createQueue({ backend, name: "q", clock: () => now });
    const kept = { age: null, count: null };
    const record = await backend.get("q", "j1", { now });
    assert.deepEqual(record?.keep, { complete: kept, failed: kept });
    assert.equal(schemaVersion(path), "12");
    assert.equal(await queue.enqueue("t", null, { key: "k" }), "j3");
    const old = (await queue.claim())!;
    assert.equal(old.id, "j3");
    await queue.complete(old, "done");
    now += 30 * DAY;
    const fresh = await queue.enqueue("t", null);
    await queue.complete((await queue.claim())!, null); // sweeps what is due
    assert.deepEqual(
      await Promise.all(["j1", "j2", "j3"].map(async (id) => {
        return (await queue.get(id))?.status;
      })),
      ["complete", "failed", "complete"],
      "stored before retention: kept as before",
    );
    assert.equal(
      await queue.clean({ status: "complete", olderThan: 40 * DAY }),
      1,
    );
    assert.equal(await queue.get("j1"), null);
    assert.equal(await queue.clean({ status: "failed", olderThan: 0 }), 1);
    assert.equal((await queue.get(fresh))?.status, "complete");
    await backend.close();
  });

  test("leases that run out on the last attempt are trimmed and aged by removeOnFail", async () => {
    let now = T;
    const backend = sqliteBackend({ path: freshFile() });
    await using queue = createQueue({
      backend,
      clock: () => now,
      maxAttempts: 1,
      removeOnFail: { count: 1 },
    });
    const a = await queue.enqueue("t", "a");
    const b = await queue.enqueue("t", "b");
    const c = await queue.enqueue("t", "c", { removeOnFail: { age: 1_000 } });
    assert.equal((await queue.claimMany(3, { leaseMs: 500 })).length, 3);
    now += 500;
    assert.equal(await queue.claim(), null, "all three leases run out");
    const statuses = await Promise.all(
      [a, b, c].map(async (id) => (await queue.get(id))?.status ?? null),
    );
    assert.deepEqual(statuses, [null, null, "failed"], "the newest kept");
    now += 1_000;
    await queue.enqueue("t", "d", { removeOnFail: false });
    await queue.fail((await queue.claim())!, "no", { retry: false });
    assert.equal(await queue.get(c), null, "c's age has passed");
    await backend.close();
  });

  test("completes grouped in one transaction apply each job's own rule in turn", async () => {
    const backend = sqliteBackend({ path: freshFile() });
    await using queue = createQueue({ backend });
    const x = await queue.enqueue("t", "x");
    const a = await queue.enqueue("t", "a", { removeOnComplete: { count: 1 } });
    const b = await queue.enqueue("t", "b", { removeOnComplete: { count: 5 } });
    await queue.complete((await queue.claim())!, null);
    const [ja, jb] = await queue.claimMany(2);
    await Promise.all([queue.complete(ja!, null), queue.complete(jb!, null)]);
    const left = await Promise.all(
      [x, a, b].map(async (id) => (await queue.get(id)) !== null),
    );
    assert.deepEqual(left, [false, true, true], "a trims to 1, then b keeps 5");
    await backend.close();
  });

  test("a file of schema 7 gets one retention index and its gate: what was due goes as the next job finishes", async () => {
    const path = freshFile();
    schema7File(path);
    const backend = sqliteBackend({ path });
    await using queue = createQueue({
      backend,
      name: "q",
      clock: () => T + 5_000,
    });
    await completeOne(queue, { removeOnComplete: false });
    assert.equal(schemaVersion(path), "12");
    assert.deepEqual(
      indexes(path).filter((n) => /finished|removals|kept/.test(n)),
      ["jobline_jobs_kept"],
    );
    assert.deepEqual(await stored(queue, ["j1", "j2", "j3"]), ["j2", "j3"]);
    await backend.close();
  });

  test("keep ages mix in a status: each job goes at its own time, clean() and count go oldest first across ages", async () => {
    let now = T;
    const backend = sqliteBackend({ path: freshFile() });
    await using queue = createQueue({ backend, clock: () => now });
    const finish = async (removeOnComplete: { age: number } | false) => {
      const id = await completeOne(queue, { removeOnComplete });
      now += 1;
      return id;
    };
    const a = await finish({ age: 50_000 });
    const b = await finish(false);
    const c = await finish({ age: 1_000 }); // due first, finished later
    const d = await finish({ age: 50_000 });
    now = T + 2 + 1_000;
    const f = await finish(false);
    assert.deepEqual(await stored(queue, [a, b, c, d, f]), [a, b, d, f]);
    assert.equal(await queue.clean({ status: "complete", limit: 2 }), 2);
    assert.deepEqual(await stored(queue, [a, b, d, f]), [d, f]);
    const e = await completeOne(queue, { removeOnComplete: { count: 2 } });
    assert.deepEqual(await stored(queue, [d, f, e]), [f, e]);
    await backend.close();
  });

  test("the gate is in the file: a job due sooner, finished by another process, goes when this one finishes a job", async () => {
    let now = T;
    const path = freshFile();
    const one = sqliteBackend({ path });
    const two = sqliteBackend({ path });
    await using first = createQueue({ backend: one, clock: () => now });
    await using second = createQueue({ backend: two, clock: () => now });
    const kept = await completeOne(first); // default: a day
    const soon = await completeOne(second, { removeOnComplete: { age: 10 } });
    now += 20;
    await completeOne(first, { removeOnComplete: false });
    assert.deepEqual(await stored(first, [kept, soon]), [kept]);
    await one.close();
    await two.close();
  });

  test("a sweep deletes at most 100 due jobs, and the next finishing step goes on", async () => {
    let now = T;
    const backend = sqliteBackend({ path: freshFile() });
    await using queue = createQueue({
      backend,
      clock: () => now,
      removeOnComplete: { age: 1_000 },
    });
    await queue.enqueueMany(
      Array.from({ length: 150 }, () => ({ type: "t", data: null })),
    );
    const jobs = await queue.claimMany(150);
    await Promise.all(jobs.map((job) => queue.complete(job, null)));
    now += 1_000;
    await completeOne(queue, { removeOnComplete: false });
    assert.equal((await queue.stats()).complete, 51);
    await completeOne(queue, { removeOnComplete: false });
    assert.equal((await queue.stats()).complete, 2);
    await backend.close();
  });

  test("dependents cancelled by a failed flow job, or by cancelFlow(), go by their own age", async () => {
    let now = T;
    const backend = sqliteBackend({ path: freshFile() });
    await using queue = createQueue({
      backend,
      clock: () => now,
      removeOnFail: false,
    });
    await completeOne(queue); // the gate: a day on
    const aged = { options: { removeOnFail: { age: 1_000 } } };
    const flow = await queue.enqueueFlow([
      { ref: "a", type: "t", data: null, options: { removeOnFail: true } },
      { ref: "b", type: "t", data: null, dependsOn: ["a"], ...aged },
    ]);
    await queue.fail((await queue.claim())!, "no", { retry: false });
    const [a, b] = [flow.jobs.a!, flow.jobs.b!];
    assert.deepEqual(await stored(queue, [a, b]), [b]);
    now += 1_000;
    await completeOne(queue, { removeOnComplete: false });
    assert.deepEqual(await stored(queue, [a, b]), []);
    const other = await queue.enqueueFlow([
      { ref: "c", type: "t", data: null, ...aged },
    ]);
    assert.equal(await queue.cancelFlow(other.id), true);
    now += 1_000;
    await completeOne(queue, { removeOnComplete: false });
    assert.equal(await queue.get(other.jobs.c!), null);
    await backend.close();
  });

  test("the retention statements read their indexes, never the whole table", () => {
    const db = new DatabaseSync(":memory:");
    try {
      for (let v = 1; v <= SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
      const plan = (sql: string, params: number) =>
        (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(
          ...Array(params).fill(null),
        ) as { detail: string }[]).map((r) => r.detail).join("\n");
      const uses = (sql: string, params: number, index: string) => {
        const text = plan(sql, params);
        assert.match(text, new RegExp(`USING (COVERING )?INDEX ${index}`));
        assert.doesNotMatch(text, /SCAN jobline_jobs|TEMP B-TREE/, text);
      };
      for (const ages of [AGES_TIMED, AGES]) {
        uses(ages, 2, "jobline_jobs_kept");
        // each age one seek: never every entry of a status
        assert.doesNotMatch(plan(ages, 2), /\(queue=\? AND status=\?\)/);
      }
      uses(DUE, 4, "jobline_jobs_kept");
      uses(HEAD, 3, "jobline_jobs_kept");
      for (const ages of [1, 2, 3]) {
        uses(oldest(ages), 3 + ages, "jobline_jobs_kept");
        uses(cleanFinished(ages), 6 + ages, "jobline_jobs_kept");
      }
      assert.match(
        plan(tally("complete"), 1),
        /SEARCH jobline_tallies USING PRIMARY KEY \(queue=\?\)/,
      );
      assert.match(plan(GATE, 1), /SEARCH jobline_retention USING PRIMARY KEY/);
    } finally {
      db.close();
    }
  });
});
