/**
 * Who watches a queue's updates in an SQLite file (schema 10,
 * backends/sqlite/sql_watchers.ts): a transaction logs a queue's updates
 * for other processes only while another backend object watches it, and
 * always logs wake-ups and cancels; a listener's row is in place before its
 * `listen()` resolves, stays ten seconds after the queue's last listener,
 * goes when its backend closes, expires ten minutes after a process that
 * died last refreshed it, and is put back (with a resync) when found gone.
 * Backend objects on one file stand for processes: each reads the others'
 * events only through the log.
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
import { createQueue } from "../src/queue.ts";
import { openDb } from "../backends/sqlite/db.ts";
import { sqliteConfig } from "../backends/sqlite/url.ts";
import { createWatcher } from "../backends/sqlite/watchers.ts";
import type { BackendEvent } from "../src/backend/interface.ts";
import { waitFor } from "./_support/time.ts";

const dir = mkdtempSync(join(tmpdir(), "jobline-sqlite-watchers-"));
let files = 0;
after(() => rmSync(dir, { recursive: true, force: true }));

const fast = { eventInterval: 10, housekeepingInterval: 20 };

/** A fresh file and a way to read it outside the backends. */
function freshFile() {
  const path = join(dir, `${++files}.db`);
  const read = <T>(sql: string, ...args: (string | number)[]): T[] => {
    const db = new DatabaseSync(path);
    try {
      return db.prepare(sql).all(...args) as T[];
    } finally {
      db.close();
    }
  };
  /** The kinds of the events logged so far for `queue`, in order. */
  const logged = (queue: string): string[] =>
    read<{ events: string }>("SELECT events FROM jobline_events ORDER BY id")
      .flatMap((r) => JSON.parse(r.events) as [string, string][])
      .filter(([q]) => q === queue).map(([, kind]) => kind);
  const watchers = (queue: string): number[] =>
    read<{ origin: number }>(
      "SELECT origin FROM jobline_watchers WHERE queue = ?",
      queue,
    ).map((r) => r.origin);
  return { path, read, logged, watchers };
}

describe("sqlite watchers", () => {
  test("with no other backend object watching a queue its updates stay out of the log; wake-ups and cancels go in", async () => {
    const f = freshFile();
    const a = sqliteBackend({ path: f.path, ...fast });
    const q = createQueue({ backend: a, name: "q" });
    // A's own listener is heard in process: it needs no log.
    const stop = await a.listen("q", "queue", () => {});
    await q.enqueue("t", {});
    const claimed = await q.claim();
    assert.ok(claimed);
    assert.equal(await q.cancel(claimed.id), true);
    assert.deepEqual(f.logged("q"), ["w", "c"]);
    assert.equal(f.watchers("q").length, 1, "A watches, for no one else");
    await stop();
    await q.close();
    await a.close();
  });

  test("another backend object's listen() adds its row before it resolves: every later transaction logs the queue's updates, and it hears them; a worker's listener adds none", async () => {
    const f = freshFile();
    const a = sqliteBackend({ path: f.path, ...fast });
    const b = sqliteBackend({ path: f.path, ...fast });
    const q = createQueue({ backend: a, name: "q" });
    const other = createQueue({ backend: a, name: "other" });
    const heard: BackendEvent[] = [];
    const worker = await b.listen("q", "worker", (e) => heard.push(e));
    assert.deepEqual(f.watchers("q"), [], "a worker hears no updates");
    await q.enqueue("t", {});
    assert.deepEqual(f.logged("q"), ["w"]);
    await waitFor("the wake-up", () => heard.some((e) => e.kind === "wake"));
    const stop = await b.listen("q", "queue", (e) => heard.push(e));
    assert.equal(f.watchers("q").length, 1);
    const id = await q.enqueue("t", {});
    await other.enqueue("t", {});
    assert.deepEqual(f.logged("q"), ["w", "u", "w"]);
    assert.deepEqual(f.logged("other"), ["w"], "nobody watches other");
    await waitFor(
      "the update",
      () =>
        heard.some((e) =>
          e.kind === "update" && e.update.jobId === id &&
          e.update.status === "pending"
        ),
    );
    await stop();
    await worker();
    await q.close();
    await other.close();
    await a.close();
    await b.close();
  });

  test("a row stays after its last listener, goes when its backend closes, and one whose process died expires after ten minutes", async () => {
    const f = freshFile();
    const a = sqliteBackend({ path: f.path, ...fast });
    const b = sqliteBackend({ path: f.path, ...fast });
    const q = createQueue({ backend: a, name: "q" });
    const stop = await b.listen("q", "queue", () => {});
    const [origin] = f.watchers("q");
    await stop();
    await q.enqueue("t", {});
    assert.deepEqual(f.watchers("q"), [origin], "lingering");
    assert.deepEqual(f.logged("q"), ["u", "w"], "still logged");
    await b.close();
    assert.deepEqual(f.watchers("q"), []);
    // Rows of processes that died: one refreshed 11 minutes ago, one 9.
    const db = new DatabaseSync(f.path);
    db.prepare("INSERT INTO jobline_watchers VALUES (?, ?, ?)")
      .run("q", 1, Date.now() - 660_000);
    db.prepare("INSERT INTO jobline_watchers VALUES (?, ?, ?)")
      .run("q", 2, Date.now() - 540_000);
    db.close();
    await waitFor("the expiry", () => f.watchers("q").length === 1);
    assert.deepEqual(f.watchers("q"), [2]);
    await q.close();
    await a.close();
  });

  test("a row found gone is put back at the next refresh, and the queue's listeners are told to re-read", async () => {
    const f = freshFile();
    const db = openDb(sqliteConfig({ path: f.path }), {
      log: null,
      deliver: () => {},
      housekeep: () => {},
      report: () => {},
      recovered: () => {},
      alert: () => {},
    });
    const lost: string[] = [];
    const watcher = createWatcher(db, 7, (q) => void lost.push(q), {
      beatMs: 3_600_000,
      lingerMs: 0,
    });
    const stop = await watcher.watch("q");
    assert.deepEqual(f.watchers("q"), [7]);
    await watcher.beat();
    assert.deepEqual(lost, [], "found: nothing missed");
    f.read("DELETE FROM jobline_watchers RETURNING queue");
    await watcher.beat();
    assert.deepEqual(f.watchers("q"), [7]);
    assert.deepEqual(lost, ["q"]);
    await stop();
    assert.deepEqual(f.watchers("q"), [], "no linger: gone at once");
    await watcher.close();
    await watcher.watch("late");
    assert.deepEqual(f.watchers("late"), [], "closed: no row outlives it");
    db.close();
  });
});
