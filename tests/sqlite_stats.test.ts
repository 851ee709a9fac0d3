/**
 * Job counts on SQLite (issue 14): stats() reads the counts that the
 * triggers of migration 5 keep (backends/sqlite/sql_counts.ts), not every
 * job. Checked against a plain GROUP BY over the jobs after random
 * sequences of every transition on two queues of one file (the enqueue,
 * the claims and a turn's completions count their batches themselves since
 * schema 9: tallies.ts); a file of schema 4 migrates with its counts filled
 * from the jobs it holds; and the
 * stats statement reads the counts and the expiry index, never the table.
 *
 * @module
 */

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import fc from "fast-check";
import { sqliteBackend } from "../backends/sqlite/mod.ts";
import {
  META_SET,
  META_TABLE,
  MIGRATIONS,
} from "../backends/sqlite/sql_migrations.ts";
import { STATS } from "../backends/sqlite/sql_counts.ts";
import { createQueue } from "../src/queue.ts";
import {
  type Cmd,
  commands,
  countsAndRows,
  groupBy,
  runSequence,
} from "./_support/sqlite_sequence.ts";

const dir = mkdtempSync(join(tmpdir(), "jobline-sqlite-stats-"));
let files = 0;
const freshFile = () => join(dir, `c${++files}.db`);

after(() => rmSync(dir, { recursive: true, force: true }));

const T = Date.parse("2026-07-01T08:00:00.000Z");

/** Writes a file as schema 4 wrote it: jobs of every status, two queues. */
function schema4File(path: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(META_TABLE);
    for (const v of [1, 2, 3, 4]) db.exec(MIGRATIONS[v]!);
    db.prepare(META_SET).run("schema_version", "4");
    const insert = db.prepare(`INSERT INTO jobline_jobs (queue, id, type,
      data, priority, max_attempts, run_at, created_at, expires_at, metadata,
      state, status, updated_at, completed_at, attempt, lease_token,
      lease_until) VALUES (?, ?, ?, 'null', 50, 3, ?, ?, ?, '{}', ?, ?, ?,
      ?, ?, ?, ?)`);
    const state = {
      pending: 0,
      processing: 2,
      complete: 3,
      failed: 3,
      cancelled: 3,
    };
    const statuses = Object.keys(state) as (keyof typeof state)[];
    db.exec("BEGIN");
    for (let i = 0; i < 300; i++) {
      const status = statuses[i % 5]!;
      const processing = status === "processing";
      insert.run(
        i % 3 === 0 ? "other" : "q",
        `j${i}`,
        i % 7 === 0 ? "x" : "y",
        T,
        T,
        i % 11 === 0 ? T - 1 : null, // expired, not yet deleted
        state[status],
        status,
        T,
        state[status] === 3 ? T : null,
        status === "pending" ? 0 : 1,
        processing ? `t.${i}` : null,
        processing ? T + 60_000 : null,
      );
    }
    db.exec("COMMIT");
  } finally {
    db.close();
  }
}

describe("sqlite stats", () => {
  test("stats() equals a GROUP BY over the live jobs after any mix of transitions", async () => {
    await fc.assert(
      fc.asyncProperty(commands, (cmds) => runSequence(freshFile(), cmds)),
      { numRuns: 40 },
    );
  });

  test("stats() that returns a job whose lease ran out, sweeping a finished job in the same step, counts after both", async () => {
    // A sequence the property above once found: the last attempt's lease
    // runs out, and the failure's retention sweep removes a job kept 500 ms.
    const keptBriefly: Cmd = {
      k: "enqueue",
      q: 0,
      type: "a",
      delay: 0,
      ttl: null,
      key: null,
      keep: { age: 500 },
      maxAttempts: 1,
      group: null,
    };
    await runSequence(freshFile(), [
      keptBriefly,
      { ...keptBriefly, keep: false },
      { k: "claim", q: 0, limit: 1, leaseMs: 1_000 },
      { k: "complete", h: 0, retry: false, delay: null },
      { k: "claim", q: 0, limit: 1, leaseMs: 1_000 },
      { k: "advance", ms: 3_500 },
    ]);
  });

  test("a schema-4 file migrates with its counts filled from the jobs it holds, and keeps them through batches", async () => {
    const path = freshFile();
    schema4File(path);
    const backend = sqliteBackend({ path });
    const q = createQueue({ backend, name: "q", clock: () => T });
    const other = createQueue({ backend, name: "other", clock: () => T });
    const db = new DatabaseSync(path);
    try {
      const expected = groupBy(db, "q", T);
      for (const status of ["pending", "processing", "failed"] as const) {
        assert.ok(expected[status] > 0, `the fixture has ${status} jobs`);
      }
      assert.deepEqual(await q.stats(), expected);
      assert.deepEqual(await other.stats(), groupBy(db, "other", T));
      const version = db.prepare(
        "SELECT value FROM jobline_meta WHERE name = 'schema_version'",
      ).get() as { value: string };
      assert.equal(version.value, "12");
      const [counts, rows] = countsAndRows(db);
      assert.deepEqual(counts, rows);
      // The triggers count what follows, and the batches that count
      // themselves (schema 9) count the rows stored before it too.
      const job = await q.claim();
      assert.ok(job !== null);
      await q.complete(job, null);
      await q.enqueue("z", null);
      const jobs = await q.claimMany(5);
      assert.equal(jobs.length, 5);
      await Promise.all(jobs.map((j) => q.complete(j, null)));
      await q.enqueueMany([{ type: "z", data: 1 }, { type: "y", data: 2 }]);
      await other.remove("j3");
      assert.deepEqual(await q.stats(), groupBy(db, "q", T));
      assert.deepEqual(await other.stats(), groupBy(db, "other", T));
      assert.deepEqual(...countsAndRows(db));
    } finally {
      db.close();
      await q.close();
      await other.close();
      await backend.close();
    }
  });

  test("the stats statement reads the counts and the expiry index, never every job", () => {
    const db = new DatabaseSync(":memory:");
    try {
      for (const v of [1, 2, 3, 4, 5, 6, 7]) db.exec(MIGRATIONS[v]!);
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${STATS}`).all("q", T) as {
        detail: string;
      }[]).map((r) => r.detail).join("\n");
      assert.match(
        plan,
        /SEARCH jobline_tallies USING PRIMARY KEY \(queue=\?\)/,
      );
      assert.match(plan, /SEARCH jobline_jobs USING INDEX jobline_jobs_expiry/);
      assert.doesNotMatch(plan, /SCAN jobline_/, plan);
    } finally {
      db.close();
    }
  });
});
