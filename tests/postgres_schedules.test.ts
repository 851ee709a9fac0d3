/**
 * Schedules on PostgreSQL beyond the conformance suite, on a throwaway
 * server: they and their next occurrences survive a stop and start of the
 * server; a store of schema version 4 (before schedules) upgrades with its
 * jobs kept; two backend objects (as two processes) fire an occurrence
 * once; and the schedule statements read the primary key or the due index
 * in order (fireSchedule's compare-and-set is a conformance case).
 * Time moves on the queue's clock.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { createQueue } from "../mod.ts";
import { postgresBackend } from "../backends/postgres/mod.ts";
import { ident } from "../backends/postgres/sql.ts";
import {
  LATEST,
  schemaAt,
  schemaVersion,
} from "./_support/postgres_versions.ts";
import { scheduleStatements } from "../backends/postgres/sql_schedule.ts";
import type { Backend, BackendSchedules } from "../src/backend/interface.ts";
import { newJob } from "./conformance/_context.ts";
import { postgresFixture } from "./_support/postgres_fixture.ts";

/** Bun's default per-test limit is 5 s; these start a server. */
const SLOW = { timeout: 60_000 };
const T = Date.parse("2026-06-01T10:15:00.000Z");

let seq = 0;
const fresh = () => `pgsched_${Date.now().toString(36)}_${++seq}`;

describe("postgres schedules", () => {
  const pg = postgresFixture();
  const closers = pg.closers;

  /** A backend of the test's server, typed with the schedule calls it has. */
  function open(schema = "jobline"): Backend & BackendSchedules {
    const b = postgresBackend({ url: pg.server.url, schema, poolSize: 2 });
    closers.push(() => b.close());
    return b as Backend & BackendSchedules;
  }

  function client(): postgres.Sql {
    const sql = postgres(pg.server.url, { onnotice: () => {} });
    closers.push(() => sql.end({ timeout: 1 }));
    return sql;
  }

  test(
    "schedules and their next occurrences survive a stop and start of the server",
    SLOW,
    async () => {
      let now = T;
      const name = fresh();
      const first = open();
      const queue = createQueue({ backend: first, name, clock: () => now });
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
      const records = await first.listSchedules(name, { dueBy: null, now });
      await queue.close();
      await first.close();

      pg.server.stop();
      pg.server.start();

      const second = open();
      const again = createQueue({ backend: second, name, clock: () => now });
      closers.push(() => again.close());
      assert.deepEqual(await again.schedules(), before);
      assert.deepEqual(
        await second.listSchedules(name, { dueBy: null, now }),
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
    },
  );

  test(
    "a store of schema version 4 upgrades: its jobs are kept and schedules work",
    SLOW,
    async () => {
      const schema = "sched_v4";
      const sql = client();
      await schemaAt(sql, schema, 4);
      await sql.unsafe(`INSERT INTO ${schema}.jobs (queue, id, type, data,
        priority, max_attempts, run_at, created_at, metadata, status,
        updated_at) VALUES ('q', 'j1', 't', '"old"', 50, 3, ${T}, ${T},
        '{}', 'pending', ${T})`);
      const now = T + 1_000;
      const queue = createQueue({
        backend: open(schema),
        name: "q",
        clock: () => now,
      });
      closers.push(() => queue.close());
      assert.equal((await queue.get("j1"))?.data, "old");
      assert.equal(await schemaVersion(sql, schema), LATEST);
      const s = await queue.schedule("s", { every: 1_000, type: "t" });
      assert.equal(s.nextRunAt, now + 1_000);
    },
  );

  test(
    "two backend objects fire each occurrence once",
    SLOW,
    async () => {
      let now = T;
      const name = fresh();
      const queues = [open(), open()].map((backend) => {
        const q = createQueue({ backend, name, clock: () => now });
        closers.push(() => q.close());
        return q;
      });
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
    },
  );

  test(
    "twenty concurrent fires of one version make one job",
    SLOW,
    async () => {
      const backend = open();
      const q = fresh();
      const now = T;
      await backend.putSchedule(q, {
        name: "s",
        definition: "{}",
        nextRunAt: now,
      }, { now });
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          backend.fireSchedule(q, {
            name: "s",
            version: 1,
            nextRunAt: now + 1_000,
            job: newJob(`j${i}`, null, now),
          }, { now })),
      );
      assert.equal(outcomes.filter((o) => o !== null).length, 1);
      const stats = await backend.stats(q, { now });
      assert.equal(stats.pending, 1);
    },
  );

  test(
    "listSchedules({ dueBy }) returns the due ones soonest first, and all by name",
    SLOW,
    async () => {
      const backend = open();
      const q = fresh();
      const now = T;
      for (const [name, at] of [["c", 30], ["a", 20], ["b", 10], ["d", 99]]) {
        await backend.putSchedule(q, {
          name: name as string,
          definition: "{}",
          nextRunAt: T + (at as number),
        }, { now });
      }
      await backend.putSchedule(`${q}_other`, {
        name: "x",
        definition: "{}",
        nextRunAt: T,
      }, { now });
      const due = await backend.listSchedules(q, { dueBy: T + 30, now });
      assert.deepEqual(due.map((s) => s.name), ["b", "a", "c"]);
      const all = await backend.listSchedules(q, { dueBy: null, now });
      assert.deepEqual(all.map((s) => s.name), ["a", "b", "c", "d"]);
    },
  );

  test(
    "the schedule statements read the primary key or the due index in order, never the whole table",
    SLOW,
    async () => {
      const sql = client();
      await open().listSchedules(fresh(), { dueBy: null, now: T }); // migrated
      const s = scheduleStatements(ident("jobline"));
      const plan = async (text: string, args: unknown[]) => {
        return await sql.begin(async (t) => {
          // Only an index in the right order gives a plan without these.
          for (const off of ["seqscan", "bitmapscan", "sort"]) {
            await t.unsafe(`SET LOCAL enable_${off} = off`);
          }
          const name = `p${++seq}`;
          await t.unsafe(`PREPARE ${name} AS ${text}`);
          const rows = await t.unsafe(
            `EXPLAIN (FORMAT TEXT) EXECUTE ${name}(${
              args.map((a) => typeof a === "string" ? `'${a}'` : a).join(", ")
            })`,
          );
          await t.unsafe(`DEALLOCATE ${name}`);
          return rows.map((r) => r["QUERY PLAN"]).join("\n");
        });
      };
      const due = await plan(s.due, ["q", T]);
      assert.match(due, /Index Scan using schedules_due/, due);
      const all = await plan(s.all, ["q"]);
      assert.match(all, /Index Scan using schedules_pkey/, all);
      for (const text of [due, all]) {
        assert.doesNotMatch(text, /Sort|Seq Scan/, text);
      }
      const fire = await plan(s.fire, ["q", "n", 1, T]);
      assert.match(fire, /schedules_pkey/, fire);
    },
  );
});
