/**
 * The SQLite backend's write batches (backends/sqlite/db.ts): a batch that
 * committed is never rolled back nor run again, whatever delivering its
 * events in process does afterwards (a throw there goes to the `alert`
 * hook). On a real file.
 *
 * @module
 */

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDb } from "../backends/sqlite/db.ts";
import { sqliteConfig } from "../backends/sqlite/url.ts";

const dir = mkdtempSync(join(tmpdir(), "jobline-sqlite-db-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("sqlite write batches", () => {
  test("a committed batch whose events fail to deliver is neither rolled back nor run again", async () => {
    const alerts: unknown[] = [];
    const db = openDb(sqliteConfig({ path: join(dir, "deliver.db") }), {
      log: null,
      deliver: () => {
        throw new Error("a listener broke");
      },
      housekeep: () => {},
      report: () => {},
      recovered: () => {},
      alert: (err) => void alerts.push(err),
    });
    await db.write("q", 0, (tx) => {
      tx.stmt("CREATE TABLE probe (n INTEGER)").run();
    });
    let runs = 0;
    const op = (n: number) =>
      db.write("q", 0, (tx) => {
        runs++;
        tx.stmt("INSERT INTO probe (n) VALUES (?1)").run(n);
        tx.emit("q", "w", null, String(n));
        return n;
      });
    // Asked together: one batch, one transaction.
    const done = await Promise.all([op(1), op(2)]);
    assert.deepEqual(done, [1, 2]);
    assert.equal(runs, 2, "each op ran once");
    const rows = await db.read((c) =>
      c.db.prepare("SELECT n FROM probe ORDER BY n").all().map((r) => r.n)
    );
    assert.deepEqual(rows, [1, 2], "stored once each, and kept");
    assert.equal(alerts.length, 1);
    assert.match(String(alerts[0]), /a listener broke/);
    await db.close();
  });
});
