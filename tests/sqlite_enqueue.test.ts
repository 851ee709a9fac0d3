/**
 * Batches on SQLite: enqueueMany stores a batch by multi-row inserts of up
 * to 256 jobs (backends/sqlite/transitions_enqueue.ts), and must answer as
 * one insert per job would: a key held by a stored job, or by an earlier
 * job of the same batch (in the same insert or an earlier one), makes no
 * job and returns the holder's id; counts and groups see every job made.
 *
 * @module
 */

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sqliteBackend } from "../backends/sqlite/mod.ts";
import { createQueue } from "../src/queue.ts";

const dir = mkdtempSync(join(tmpdir(), "jobline-sqlite-enqueue-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("sqlite enqueueMany", () => {
  test("a batch over several inserts keeps keys, counts and groups", async () => {
    const backend = sqliteBackend({ path: join(dir, "batch.db") });
    const queue = createQueue({ backend, name: "q" });
    try {
      const held = await queue.enqueue("t", { i: -1 }, { key: "c" });
      // 600 jobs: inserts of 256, 256, 64, 16 and 8.
      const items = Array.from({ length: 600 }, (_, i) => {
        const options: { key?: string; group?: string; delay?: number } = {};
        if (i === 0 || i === 300) options.key = "a"; // in two inserts
        if (i === 301 || i === 302) options.key = "b"; // in one insert
        if (i === 590) options.key = "c"; // held before the batch
        if (i % 100 === 7) options.group = `g${i % 3}`;
        if (i === 407) options.delay = 60_000; // grouped, not due
        return { type: "t", data: { i }, options };
      });
      const ids = await queue.enqueueMany(items);
      assert.equal(ids.length, 600);
      assert.equal(ids[300], ids[0]);
      assert.equal(ids[302], ids[301]);
      assert.equal(ids[590], held);
      assert.equal(new Set(ids).size, 598); // 597 made, and the holder of "c"
      const stats = await queue.stats();
      assert.equal(stats.pending, 598);
      assert.equal((await queue.get(ids[300]!))?.data.i, 0);
      const claimed = await queue.claimMany(1000);
      assert.equal(claimed.length, 597); // all but the delayed one
      const groups = claimed.filter((j) => j.data.i % 100 === 7).length;
      assert.equal(groups, 5);
    } finally {
      await queue.close();
      await backend.close();
    }
  });
});
