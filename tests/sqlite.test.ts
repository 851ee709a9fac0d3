/**
 * The SQLite backend against the whole conformance suite (no skips), on a
 * file shared by every case's backend object, plus what only SQLite has:
 * URLs and options, the schema and pragmas, housekeeping of expired jobs
 * and of the updates log, and events between two backend objects on one
 * file (as between two processes).
 *
 * @module
 */

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { sqliteBackend } from "../backends/sqlite/mod.ts";
import { parseSqliteUrl } from "../backends/sqlite/url.ts";
import type { BackendEvent } from "../src/backend/interface.ts";
import { BackendError, ValidationError } from "../src/errors.ts";
import { createQueue } from "../src/queue.ts";
import { testBackend } from "./conformance/mod.ts";
import { waitFor } from "./_support/time.ts";

const dir = mkdtempSync(join(tmpdir(), "jobline-sqlite-"));
const shared = join(dir, "conformance.db");
let files = 0;
const freshFile = () => join(dir, `t${++files}.db`);

after(() => rmSync(dir, { recursive: true, force: true }));

testBackend({ name: "sqlite", create: () => sqliteBackend({ path: shared }) });

describe("sqlite URLs and options", () => {
  test("parses the four URL forms and query options", () => {
    assert.equal(parseSqliteUrl("sqlite://jobs/a.db").path, "jobs/a.db");
    assert.equal(parseSqliteUrl("sqlite://./jobs.db").path, "./jobs.db");
    assert.equal(parseSqliteUrl("sqlite:///var/x/a.db").path, "/var/x/a.db");
    assert.equal(parseSqliteUrl("sqlite::memory:").path, ":memory:");
    assert.equal(parseSqliteUrl("sqlite://:memory:").path, ":memory:");
    assert.equal(parseSqliteUrl("sqlite://a%20b.db").path, "a b.db");
    const c = parseSqliteUrl(
      "sqlite://a.db?synchronous=FULL&busyTimeout=250&eventInterval=20",
    );
    assert.equal(c.synchronous, "full");
    assert.equal(c.busyTimeout, 250);
    assert.equal(c.eventInterval, 20);
    assert.equal(parseSqliteUrl("sqlite://a.db").synchronous, "normal");
  });

  test("refuses anything else with a ValidationError naming the URL", () => {
    for (
      const url of [
        "sqlite:",
        "sqlite:jobs.db",
        "sqlite://",
        "sqlite:///",
        "sqlite://dir/",
        "sqlite://a.db?synchronous=off",
        "sqlite://a.db?busyTimeout=-1",
        "sqlite://a.db?busyTimeout=soon",
        "sqlite://a.db?cache=shared",
        "sqlite://a.db#frag",
        "sqlite://%E0%A4%A.db",
      ]
    ) {
      assert.throws(
        () => parseSqliteUrl(url),
        (err: unknown) =>
          err instanceof ValidationError &&
          err.message.includes(JSON.stringify(url)),
        url,
      );
      assert.throws(() => sqliteBackend({ url }), ValidationError, url);
    }
  });

  test("refuses bad options before opening anything", () => {
    const bad: unknown[] = [
      {},
      { path: "" },
      { path: "a.db", url: "sqlite::memory:" },
      { path: "a.db", synchronous: "off" },
      { path: "a.db", busyTimeout: 1.5 },
      { path: "a.db", eventRetention: 0 },
      null,
    ];
    for (const options of bad) {
      assert.throws(
        () => sqliteBackend(options as { path: string }),
        ValidationError,
        JSON.stringify(options),
      );
    }
  });

  test("createQueue with a bad sqlite URL throws synchronously", () => {
    assert.throws(() => createQueue("sqlite:jobs.db"), ValidationError);
  });

  test("a file that cannot be opened rejects the first operation", async () => {
    const backend = sqliteBackend({ path: join(dir, "missing", "x.db") });
    await using queue = createQueue({ backend });
    await assert.rejects(queue.enqueue("a", null), BackendError);
    await assert.rejects(queue.stats(), BackendError);
    await backend.close();
  });

  test("capabilities tell a file from :memory:", async () => {
    const file = sqliteBackend({ path: freshFile() });
    const memory = sqliteBackend({ url: "sqlite::memory:" });
    assert.equal(file.name, "sqlite");
    assert.deepEqual(
      [
        file.capabilities.persistence,
        file.capabilities.multiProcess,
        file.capabilities.crossProcessEvents,
      ],
      [true, true, true],
    );
    assert.deepEqual(
      [
        memory.capabilities.persistence,
        memory.capabilities.multiProcess,
        memory.capabilities.crossProcessEvents,
      ],
      [false, false, false],
    );
    await file.close();
    await memory.close();
  });
});

describe("sqlite storage", () => {
  test("creates a versioned schema in WAL mode with the chosen synchronous", async () => {
    const path = freshFile();
    const backend = sqliteBackend({ path, synchronous: "full" });
    await using queue = createQueue({ backend });
    await queue.enqueue("a", null);
    const db = new DatabaseSync(path);
    try {
      const mode = db.prepare("PRAGMA journal_mode").get() as {
        journal_mode: string;
      };
      assert.equal(mode.journal_mode, "wal");
      const version = db.prepare(
        "SELECT value FROM jobline_meta WHERE name = 'schema_version'",
      ).get() as { value: string };
      assert.equal(version.value, "12");
    } finally {
      db.close();
    }
    await backend.close();
  });

  test("refuses a file written by a newer schema", async () => {
    const path = freshFile();
    const first = sqliteBackend({ path });
    await createQueue({ backend: first }).stats();
    await first.close();
    const db = new DatabaseSync(path);
    db.exec("UPDATE jobline_meta SET value = '99'");
    db.close();
    const second = sqliteBackend({ path });
    await assert.rejects(
      createQueue({ backend: second }).stats(),
      (err: unknown) =>
        err instanceof BackendError && /newer/.test(err.message),
    );
    await second.close();
  });

  test("jobs survive closing and reopening the file", async () => {
    const path = freshFile();
    const first = sqliteBackend({ path });
    const id = await createQueue({ backend: first, name: "q" }).enqueue("a", {
      n: 1,
    });
    await first.close();
    const second = sqliteBackend({ url: `sqlite://${path}` });
    const job = await createQueue({ backend: second, name: "q" }).get(id);
    assert.deepEqual(job?.data, { n: 1 });
    await second.close();
  });

  test("expired jobs are deleted in the background", async () => {
    const path = freshFile();
    let now = 1_000_000;
    const backend = sqliteBackend({ path, housekeepingInterval: 20 });
    await using queue = createQueue({ backend, clock: () => now });
    await queue.enqueue("a", null, { ttl: 1 });
    await queue.enqueue("a", null);
    now += 2_000;
    assert.equal((await queue.stats()).pending, 1);
    await queue.enqueue("a", null); // tells housekeeping the queue's time
    const count = () => {
      const db = new DatabaseSync(path);
      try {
        return (db.prepare("SELECT count(*) AS n FROM jobline_jobs").get() as {
          n: number;
        }).n;
      } finally {
        db.close();
      }
    };
    await waitFor("the expired job's deletion", () => count() <= 2, {
      interval: 20,
    });
    assert.equal(count(), 2);
    await backend.close();
  });

  test("the updates log is trimmed and keeps its newest row", async () => {
    const path = freshFile();
    const backend = sqliteBackend({
      path,
      housekeepingInterval: 20,
      eventRetention: 100,
    });
    await using queue = createQueue({ backend });
    // One row per transaction: ten awaited enqueues make ten rows.
    for (let i = 0; i < 10; i++) await queue.enqueue("a", null);
    const rows = () => {
      const db = new DatabaseSync(path);
      try {
        const row = db.prepare(
          "SELECT count(*) AS n, max(id) AS max FROM jobline_events",
        ).get() as { n: number; max: number };
        return { n: row.n, max: row.max };
      } finally {
        db.close();
      }
    };
    assert.deepEqual(rows(), { n: 10, max: 10 });
    await waitFor("the trimmed log", () => rows().n <= 1, { interval: 20 });
    assert.deepEqual(rows(), { n: 1, max: 10 });
    await queue.enqueue("a", null);
    assert.equal(rows().max, 11);
    await backend.close();
  });
});

describe("sqlite events between backend objects on one file", () => {
  let path: string;
  before(() => {
    path = freshFile();
  });

  test("a listener hears updates and wake-ups made through another object", async () => {
    const a = sqliteBackend({ path, eventInterval: 10 });
    const b = sqliteBackend({ path, eventInterval: 10 });
    const heard: BackendEvent[] = [];
    const stopQueue = await b.listen("q", "queue", (e) => heard.push(e));
    const stopWorker = await b.listen("q", "worker", (e) => heard.push(e));
    const producer = createQueue({ backend: a, name: "q" });
    const id = await producer.enqueue("a", null);
    const job = await producer.claim();
    await producer.update(job!, { progress: 0.5, message: "half" });
    await producer.complete(job!, { ok: 1 });
    await waitFor("five events", () => heard.length >= 5);
    assert.deepEqual(
      heard.map((e) =>
        e.kind === "update"
          ? `${
            e.update.jobId === id
          } ${e.update.status} ${e.update.progress} ${e.update.version}`
          : e.kind
      ),
      [
        "true pending 0 1",
        "wake",
        "true processing 0 2",
        "true processing 0.5 3",
        "true complete 0.5 4",
      ],
    );
    const last = heard.at(-1) as Extract<BackendEvent, { kind: "update" }>;
    assert.equal(last.update.result, '{"ok":1}');
    await stopQueue();
    await stopWorker();
    await a.close();
    await b.close();
  });

  test("a listener that fell behind the trimmed log gets a resync", async () => {
    // The listener's object polls slowly; the producer trims its log fast.
    const slow = sqliteBackend({ path, eventInterval: 400 });
    const producer = sqliteBackend({
      path,
      housekeepingInterval: 10,
      eventRetention: 100,
    });
    const kinds: string[] = [];
    const stop = await slow.listen("q2", "queue", (e) => kinds.push(e.kind));
    const queue = createQueue({ backend: producer, name: "q2" });
    await queue.enqueue("a", null);
    await queue.enqueue("a", null);
    await waitFor("a resync", () => kinds.includes("resync"));
    assert.equal(kinds[0], "resync");
    await stop();
    await slow.close();
    await producer.close();
  });
});
