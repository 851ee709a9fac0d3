/**
 * Retention on SQLite beyond the conformance suite: a file of schema 2
 * (before retention, which schema 3 added) migrated up with its jobs kept
 * as before, the keep rules applied to leases that run out in claim's
 * housekeeping and per job inside one grouped transaction, and the
 * retention statements reading their indexes rather than the table.
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
import { META_SET, META_TABLE, MIGRATIONS } from "../backends/sqlite/sql.ts";
import {
  CLEAN_FINISHED,
  SWEEP,
  TRIM,
  TRIM_FROM,
} from "../backends/sqlite/sql_retention.ts";
import { createQueue } from "../src/queue.ts";

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
    assert.equal(schemaVersion(path), "7");
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

  test("the retention statements read their indexes, never the whole table", () => {
    const db = new DatabaseSync(":memory:");
    try {
      for (const v of [1, 2, 3]) db.exec(MIGRATIONS[v]!);
      const plan = (sql: string, params: number) =>
        (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(
          ...Array(params).fill(null),
        ) as { detail: string }[]).map((r) => r.detail).join("\n");
      const uses = (sql: string, params: number, index: string) => {
        const text = plan(sql, params);
        assert.match(text, new RegExp(`USING (COVERING )?INDEX ${index}`));
        assert.doesNotMatch(text, /SCAN jobline_jobs|TEMP B-TREE/, text);
      };
      uses(SWEEP, 2, "jobline_jobs_removals");
      uses(TRIM_FROM, 3, "jobline_jobs_finished");
      uses(TRIM, 4, "jobline_jobs_finished");
      uses(CLEAN_FINISHED, 6, "jobline_jobs_finished");
    } finally {
      db.close();
    }
  });
});
