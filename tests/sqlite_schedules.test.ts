/**
 * Schedules on SQLite beyond the conformance suite: they and their next
 * occurrences survive closing and reopening the file; a file of schema 3
 * (before schedules) is migrated up with its jobs kept; two backend objects
 * on one file (as two processes) fire an occurrence once; and the
 * schedule statements read the primary key or the due index, never the
 * whole table (fireSchedule's compare-and-set is a conformance case).
 *
 * @module
 */

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  sqliteBackend,
  type SqliteBackendOptions,
} from "../backends/sqlite/mod.ts";
import {
  META_SET,
  META_TABLE,
  MIGRATIONS,
} from "../backends/sqlite/sql_migrations.ts";
import {
  ALL_SCHEDULES,
  DUE_SCHEDULES,
  FIRE_SCHEDULE,
  GET_SCHEDULE,
  PUT_SCHEDULE,
  REMOVE_SCHEDULE,
} from "../backends/sqlite/sql_schedule.ts";
import type { Backend, BackendSchedules } from "../src/backend/interface.ts";
import { createQueue } from "../src/queue.ts";

const dir = mkdtempSync(join(tmpdir(), "jobline-sqlite-schedules-"));
let files = 0;
const freshFile = () => join(dir, `s${++files}.db`);

after(() => rmSync(dir, { recursive: true, force: true }));

/** A SQLite backend, typed with the schedule calls it has. */
const open = (options: SqliteBackendOptions): Backend & BackendSchedules =>
  sqliteBackend(options) as Backend & BackendSchedules;

const T = Date.parse("2026-06-01T10:15:00.000Z");

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

describe("sqlite schedules", () => {
  test("schedules and their next occurrences survive closing and reopening the file", async () => {
    const path = freshFile();
    let now = T;
    const first = open({ path });
    const queue = createQueue({ backend: first, name: "q", clock: () => now });
    await queue.schedule("ping", { every: 30_000, type: "ping", data: 1 });
    await queue.schedule("nightly", {
      cron: "0 3 * * *",
      tz: "Europe/Paris",
      type: "report",
      options: { priority: "high" },
    });
    now += 30_000;
    assert.equal(await queue.runSchedules(), 1, "ping fires once");
    const before = await queue.schedules();
    const records = await first.listSchedules("q", { dueBy: null, now });
    await queue.close();
    await first.close();

    const second = open({ url: `sqlite://${path}` });
    const again = createQueue({ backend: second, name: "q", clock: () => now });
    assert.deepEqual(await again.schedules(), before);
    assert.deepEqual(
      await second.listSchedules("q", { dueBy: null, now }),
      records,
      "versions too",
    );
    assert.deepEqual(before.map((s) => [s.name, s.nextRunAt]), [
      ["nightly", Date.parse("2026-06-02T01:00:00.000Z")],
      ["ping", T + 60_000],
    ]);
    assert.equal(await again.runSchedules(), 0, "nothing due yet");
    now = T + 60_000;
    assert.equal(await again.runSchedules(), 1);
    assert.deepEqual(
      (await again.list()).jobs.map((j) => [j.type, j.runAt]),
      [["ping", T + 30_000], ["ping", T + 60_000]],
    );
    await again.close();
    await second.close();
  });

  test("a file of schema 3 is migrated (through 4, to 5): its jobs are kept and schedules work", async () => {
    const path = freshFile();
    const db = new DatabaseSync(path);
    try {
      db.exec(META_TABLE);
      for (const v of [1, 2, 3]) db.exec(MIGRATIONS[v]!);
      db.prepare(META_SET).run("schema_version", "3");
      db.prepare(`INSERT INTO jobline_jobs (queue, id, type, data, priority,
        max_attempts, run_at, created_at, metadata, state, status,
        updated_at) VALUES ('q', 'j1', 't', '"old"', 50, 3, ?, ?, '{}', 0,
        'pending', ?)`).run(T, T, T);
    } finally {
      db.close();
    }
    const now = T + 1_000;
    const backend = open({ path });
    await using queue = createQueue({ backend, name: "q", clock: () => now });
    assert.equal((await queue.get("j1"))?.data, "old");
    assert.equal(schemaVersion(path), "12");
    const s = await queue.schedule("s", { every: 1_000, type: "t" });
    assert.equal(s.nextRunAt, now + 1_000);
    await backend.close();
  });

  test("two backend objects on one file fire each occurrence once", async () => {
    const path = freshFile();
    let now = T;
    const backends = [open({ path }), open({ path })];
    const queues = backends.map((backend) =>
      createQueue({ backend, name: "q", clock: () => now })
    );
    await queues[0]!.schedule("tick", { every: 1_000, type: "tick" });
    for (let n = 1; n <= 5; n++) {
      now += 1_000;
      const made = await Promise.all(
        queues.flatMap((q) => [q.runSchedules(), q.runSchedules()]),
      );
      assert.equal(made.reduce((a, b) => a + b, 0), 1, `occurrence ${n}`);
    }
    assert.deepEqual(
      (await queues[1]!.list()).jobs.map((j) => j.runAt),
      [1, 2, 3, 4, 5].map((n) => T + n * 1_000),
    );
    for (const q of queues) await q.close();
    for (const b of backends) await b.close();
  });

  test("listSchedules({ dueBy }) returns the due ones soonest first", async () => {
    const backend = open({ path: ":memory:" });
    const now = T;
    for (const [name, at] of [["c", 30], ["a", 20], ["b", 10], ["d", 99]]) {
      await backend.putSchedule("q", {
        name: name as string,
        definition: "{}",
        nextRunAt: T + (at as number),
      }, { now });
    }
    await backend.putSchedule("other", {
      name: "x",
      definition: "{}",
      nextRunAt: T,
    }, { now });
    const due = await backend.listSchedules("q", { dueBy: T + 30, now });
    assert.deepEqual(due.map((s) => s.name), ["b", "a", "c"]);
    const all = await backend.listSchedules("q", { dueBy: null, now });
    assert.deepEqual(all.map((s) => s.name), ["a", "b", "c", "d"]);
    await backend.close();
  });

  test("the schedule statements read the primary key or the due index, never the whole table", () => {
    const db = new DatabaseSync(":memory:");
    try {
      for (const v of [1, 2, 3, 4]) db.exec(MIGRATIONS[v]!);
      const plan = (sql: string, params: number) =>
        (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(
          ...Array(params).fill(null),
        ) as { detail: string }[]).map((r) => r.detail).join("\n");
      const uses = (sql: string, params: number, how: string) => {
        const text = plan(sql, params);
        assert.match(
          text,
          new RegExp(`^SEARCH jobline_schedules USING ${how}`),
        );
        assert.doesNotMatch(text, /SCAN|TEMP B-TREE/, text);
      };
      uses(DUE_SCHEDULES, 2, "INDEX jobline_schedules_due");
      uses(ALL_SCHEDULES, 1, "PRIMARY KEY");
      uses(GET_SCHEDULE, 2, "PRIMARY KEY");
      uses(REMOVE_SCHEDULE, 2, "PRIMARY KEY");
      uses(FIRE_SCHEDULE, 4, "PRIMARY KEY");
      assert.doesNotMatch(plan(PUT_SCHEDULE, 4), /SCAN/);
    } finally {
      db.close();
    }
  });
});
