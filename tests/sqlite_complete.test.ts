/**
 * Batched completions on SQLite: the completions of one turn go in one
 * statement (COMPLETE_MANY, backends/sqlite/completions.ts) and must answer
 * as one call per job would: each its own outcome (a lost lease, a job
 * completed twice), each job's own steps (retention, flows, limits), the
 * claim asked for after them in the same turn seeing what they freed, and a
 * failing job failing alone.
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
import { COMPLETE_MANY } from "../backends/sqlite/sql.ts";
import { createQueue } from "../src/queue.ts";
import { BackendError, LeaseLostError } from "../src/errors.ts";

const dir = mkdtempSync(join(tmpdir(), "jobline-sqlite-complete-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshFile = () => join(dir, `${++files}.db`);

describe("sqlite batched completions", () => {
  test("the statement reads the list, then each job by its id: never the whole table", async () => {
    const path = freshFile();
    const backend = sqliteBackend({ path });
    await createQueue({ backend }).stats(); // creates the schema
    await backend.close();
    const db = new DatabaseSync(path);
    try {
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${COMPLETE_MANY}`).all(
        "q",
        "[]",
      ) as { detail: string }[]).map((r) => r.detail).join("\n");
      assert.match(plan, /SEARCH j USING INDEX jobline_jobs_id/, plan);
      assert.match(plan, /SEARCH jobline_jobs USING INTEGER PRIMARY KEY/);
      assert.doesNotMatch(plan, /SCAN (j|jobline_jobs)\b|TEMP B-TREE/, plan);
    } finally {
      db.close();
    }
  });

  test("one turn's completions each get their own outcome", async () => {
    const backend = sqliteBackend({ path: freshFile() });
    await using queue = createQueue({ backend, name: "q" });
    await queue.enqueueMany(
      Array.from({ length: 6 }, (_, i) => ({ type: "t", data: i })),
    );
    const jobs = await queue.claimMany(6);
    assert.equal(jobs.length, 6);
    const stale = { ...jobs[1]!, lease: { ...jobs[1]!.lease, token: "x" } };
    const outcomes = await Promise.allSettled([
      queue.complete(jobs[0]!, { n: 0 }),
      queue.complete(stale, { n: 1 }), // a lease it does not hold
      queue.complete(jobs[2]!, { n: 2 }),
      queue.complete(jobs[2]!, { n: 22 }), // the same job again
      queue.complete(jobs[3]!, { n: 3 }),
      queue.complete(jobs[4]!, { n: 4 }),
    ]);
    const lost = (o: PromiseSettledResult<void>) =>
      o.status === "rejected" && o.reason instanceof LeaseLostError;
    assert.deepEqual(
      outcomes.map((o) => o.status === "fulfilled" ? "ok" : lost(o)),
      ["ok", true, "ok", true, "ok", "ok"],
    );
    const stored = await Promise.all(jobs.map((j) => queue.get(j.id)));
    assert.deepEqual(
      stored.map((
        j,
      ) => [j!.status, j!.status === "complete" ? j!.result : "-"]),
      [
        ["complete", { n: 0 }],
        ["processing", "-"],
        ["complete", { n: 2 }],
        ["complete", { n: 3 }],
        ["complete", { n: 4 }],
        ["processing", "-"],
      ],
    );
    const stats = await queue.stats();
    assert.equal(stats.complete, 4);
    assert.equal(stats.processing, 2);
    await queue.complete(jobs[1]!, null); // its own lease still holds
    assert.equal((await queue.get(jobs[1]!.id))!.status, "complete");
  });

  test("each job's own steps: removal, a flow's release, a group's slot", async () => {
    const backend = sqliteBackend({ path: freshFile() });
    await using queue = createQueue({ backend, name: "q" });
    await queue.setLimits({ groups: { concurrency: 1 } });
    const gone = await queue.enqueue("t", "gone", { removeOnComplete: true });
    await queue.enqueue("t", "g1", { group: "g" });
    await queue.enqueue("t", "g2", { group: "g" });
    const flow = await queue.enqueueFlow([
      { ref: "p", type: "t", data: "parent" },
      { ref: "c", type: "t", data: "child", dependsOn: ["p"] },
    ]);
    const first = await queue.claimMany(10);
    assert.deepEqual(first.map((j) => j.data).sort(), ["g1", "gone", "parent"]);
    // The completions and a claim asked for in one turn: the claim comes
    // after them, so it takes the next job of the group and the child.
    const completing = first.map((j) => queue.complete(j, null));
    const next = await queue.claimMany(10);
    await Promise.all(completing);
    assert.deepEqual(next.map((j) => j.data).sort(), ["child", "g2"]);
    assert.equal(await queue.get(gone), null, "removeOnComplete: true");
    const child = (await queue.getFlow(flow.id))!.jobs.find((j) =>
      j.ref === "c"
    )!;
    assert.equal(child.status, "processing");
  });

  test("a job whose update fails fails alone; the others of its batch complete", async () => {
    const path = freshFile();
    const backend = sqliteBackend({ path });
    await using queue = createQueue({ backend, name: "q" });
    const [bad] = await queue.enqueueMany([
      { type: "t", data: "bad" },
      { type: "t", data: "a" },
      { type: "t", data: "b" },
    ]);
    const db = new DatabaseSync(path);
    try {
      db.exec(`CREATE TRIGGER jobline_test_refuse BEFORE UPDATE OF status
        ON jobline_jobs WHEN new.id = '${bad}' AND new.status = 'complete'
        BEGIN SELECT RAISE(ABORT, 'refused'); END`);
    } finally {
      db.close();
    }
    const jobs = await queue.claimMany(3);
    const outcomes = await Promise.allSettled(
      jobs.map((j) => queue.complete(j, null)),
    );
    const byData = new Map(jobs.map((j, i) => [j.data, outcomes[i]!]));
    const refused = byData.get("bad")!;
    assert.equal(refused.status, "rejected");
    assert.ok(
      (refused as PromiseRejectedResult).reason instanceof BackendError,
    );
    assert.match(String((refused as PromiseRejectedResult).reason), /refused/);
    assert.equal(byData.get("a")!.status, "fulfilled");
    assert.equal(byData.get("b")!.status, "fulfilled");
    const stats = await queue.stats();
    assert.equal(stats.complete, 2);
    assert.equal(stats.processing, 1);
  });
});
