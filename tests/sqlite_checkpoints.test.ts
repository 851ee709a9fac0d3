/**
 * SQLite checkpoints in a thread (backends/sqlite/checkpoints.ts): none
 * starts while the write-ahead log is small; past START_BYTES the thread
 * copies the log into the database file, so the backend's own commits do
 * not; a thread that fails is reported once and leaves checkpoints to the
 * backend; close() ends it. Run by a backend, the database file holds the
 * jobs while the log is still far below `wal_autocheckpoint`.
 *
 * @module
 */

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  existsSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  backgroundCheckpoints,
  NUDGE_MS,
  START_BYTES,
} from "../backends/sqlite/checkpoints.ts";
import { sqliteBackend } from "../backends/sqlite/mod.ts";
import { SQLITE_DEFAULTS } from "../backends/sqlite/url.ts";
import { BackendError } from "../src/errors.ts";
import { createQueue } from "../src/queue.ts";
import { sleep, waitFor } from "./_support/time.ts";

const dir = mkdtempSync(join(tmpdir(), "jobline-sqlite-checkpoints-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshFile = () => join(dir, `${++files}.db`);

const config = (path: string) => ({ ...SQLITE_DEFAULTS, path });
/** A thread's first checkpoint copies and syncs megabytes: on a busy machine, a while. */
const WAIT = { timeout: 30_000 };
const bytes = (path: string) => statSync(path).size;

/** A WAL file whose log holds `rows` rows of 1 KB, none checkpointed. */
function logged(path: string, rows: number): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
    CREATE TABLE t (v TEXT)`);
  const insert = db.prepare("INSERT INTO t VALUES (?)");
  for (let i = 0; i < rows; i += 100) {
    db.exec("BEGIN");
    for (let j = 0; j < 100; j++) insert.run(`${i + j}`.padEnd(1024, "x"));
    db.exec("COMMIT");
  }
  return db;
}

/** Calls `committed` as commits would, one nudge interval apart. */
async function commits(cp: { committed(): void }, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    cp.committed();
    await sleep(NUDGE_MS + 5);
  }
}

describe("sqlite checkpoints in a thread", () => {
  test("no thread while the log is small; past START_BYTES it copies the log into the file, and close() ends it", async () => {
    const path = freshFile();
    const db = logged(path, 500); // ~0.5 MB of log
    const reports: unknown[] = [];
    const cp = backgroundCheckpoints(config(path), (e) => reports.push(e));
    try {
      await commits(cp, 2);
      assert.equal(cp.started, false);
      assert.ok(bytes(path) < 100_000, `file: ${bytes(path)} bytes`);

      const insert = db.prepare("INSERT INTO t VALUES (?)");
      db.exec("BEGIN");
      for (let i = 0; i < 6_000; i++) insert.run(`${i}`.padEnd(1024, "y"));
      db.exec("COMMIT");
      assert.ok(bytes(`${path}-wal`) > START_BYTES);
      assert.ok(bytes(path) < 1_000_000, `file: ${bytes(path)} bytes`);

      cp.committed();
      assert.equal(cp.started, true);
      await waitFor("a checkpoint by the thread", () => cp.done >= 1, WAIT);
      // The rows reached the database file, not only the log.
      assert.ok(bytes(path) > 6_000_000, `file: ${bytes(path)} bytes`);
      assert.deepEqual(reports, []);
    } finally {
      await cp.close();
      db.close();
    }
    // SQLite deletes the log as the last connection closes: the thread's
    // was closed before.
    assert.equal(existsSync(`${path}-wal`), false);
    const done = cp.done;
    cp.committed(); // after close: nothing more
    await sleep(NUDGE_MS);
    assert.equal(cp.done, done);
  });

  test("a thread that fails is reported once, and no other starts", async () => {
    const path = freshFile();
    // Not a database: the thread's checkpoint fails.
    writeFileSync(path, "not a database ".repeat(400));
    writeFileSync(`${path}-wal`, Buffer.alloc(START_BYTES + 4096, 7));
    const reports: unknown[] = [];
    const cp = backgroundCheckpoints(config(path), (e) => reports.push(e));
    try {
      cp.committed();
      assert.equal(cp.started, true);
      await waitFor("the failure", () => reports.length > 0, WAIT);
      await commits(cp, 3);
      assert.equal(reports.length, 1);
      assert.ok(reports[0] instanceof BackendError);
      assert.match(
        (reports[0] as Error).message,
        /checkpoint thread failed .*backend's own thread/,
      );
      assert.equal(cp.done, 0);
    } finally {
      await cp.close();
    }
  });

  test("a backend's jobs reach the database file while the log is far below wal_autocheckpoint", async () => {
    const path = freshFile();
    const backend = sqliteBackend({ path });
    try {
      const queue = createQueue({ backend, name: "q" });
      const pad = "z".repeat(1_000);
      for (let i = 0; i < 8; i++) {
        await queue.enqueueMany(
          Array.from({ length: 1_000 }, (_, j) => ({
            type: "t",
            data: { n: i * 1_000 + j, pad },
          })),
        );
        await sleep(NUDGE_MS + 5);
      }
      // 8 MB of jobs; wal_autocheckpoint copies only at 10,000 pages (40 MB).
      await waitFor(
        "the jobs in the database file",
        async () => {
          await queue.enqueue("t", null); // a commit, to nudge the thread
          await sleep(NUDGE_MS + 5);
          return bytes(path) > 8_000_000;
        },
        WAIT,
      );
      assert.ok((await queue.stats()).pending > 8_000);
    } finally {
      await backend.close();
    }
  });

  test("close() while the log is tailed and the thread runs reports nothing", async () => {
    // close() waits for the thread to end; the tailer (every ms here) read
    // the log meanwhile, found the backend closed and reported that.
    const errors: unknown[][] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => void errors.push(args);
    try {
      for (let round = 0; round < 3; round++) {
        const backend = sqliteBackend({ path: freshFile(), eventInterval: 1 });
        const queue = createQueue({ backend, name: "q" });
        const stop = await backend.listen("q", "queue", () => {});
        const pad = "z".repeat(1_000);
        for (let i = 0; i < 5; i++) {
          await queue.enqueueMany(
            Array.from({ length: 1_000 }, () => ({ type: "t", data: pad })),
          );
          await sleep(NUDGE_MS + 5);
        }
        await backend.close();
        await stop();
      }
    } finally {
      console.error = consoleError;
    }
    assert.deepEqual(errors, []);
  });
});
