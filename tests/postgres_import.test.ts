/**
 * importJobs() on PostgreSQL (the target side of migrate(), SPEC §10), on a
 * throwaway server: jobs of every status read back with every field as
 * written (get and list); imported pending jobs are claimed in import
 * order among equals, the delayed ones when due; a second import finds
 * every id ("exists"); a pending job whose key a live job holds is not
 * stored ("key-held"), and an imported one holds its key; finished jobs get
 * their removal time from their keep rule; one wake for the call; a
 * processing job is refused and nothing is written.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { postgresBackend } from "../backends/postgres/mod.ts";
import type {
  Backend,
  BackendImport,
  JobRecord,
} from "../src/backend/interface.ts";
import { ValidationError } from "../src/errors.ts";
import { postgresFixture } from "./_support/postgres_fixture.ts";
import { importedJob } from "./_support/import_records.ts";

/** Bun's default per-test limit is 5 s; these start a server. */
const SLOW = { timeout: 60_000 };
const T = Date.parse("2026-05-01T12:00:00.000Z");
const HOUR = 3_600_000;
const kept = { age: null, count: null };

let seq = 0;
const fresh = () => `pgimport_${Date.now().toString(36)}_${++seq}`;

/** A stored job as another backend would hand it over. */
const job = (id: string, change: Partial<JobRecord> = {}): JobRecord =>
  importedJob(id, T - HOUR, change);

/** One job of every status and of most options, in enqueue order. */
const jobs: JobRecord[] = [
  job("p-z", {
    priority: 70,
    key: "order-1",
    ttl: 86_400_000,
    expiresAt: T + 86_400_000 - HOUR,
  }),
  job("p-a", {
    priority: 70,
    metadata: '{"tenant":"t1","deep":{"b":1,"a":[2,3]}}',
    data: '{"b":1,"a":[1.5,"\\u0000é"],"z":null}',
    attempt: 1,
    error: { name: "Error", message: "first try", stack: "Error: first try" },
    updatedAt: T - 10.25,
    startedAt: T - 20,
    version: 4,
    keep: {
      complete: { age: 5_000, count: 10 },
      failed: { age: null, count: 3 },
    },
  }),
  job("p-m", { priority: 70, maxAttempts: 7, runAt: T - HOUR + 0.5 }),
  job("p-later", { runAt: T + HOUR, data: "null" }),
  job("c-1", {
    status: "complete",
    key: "order-1",
    progress: 0.5,
    message: "half",
    result: '{"ok":true,"n":[1,2]}',
    attempt: 1,
    startedAt: T - 30,
    completedAt: T - 20,
    updatedAt: T - 20,
    version: 5,
  }),
  job("f-1", {
    status: "failed",
    error: { name: "TypeError", message: "boom" },
    attempt: 3,
    startedAt: T - 30,
    completedAt: T - 25,
    updatedAt: T - 25,
    version: 8,
    keep: { complete: kept, failed: { age: HOUR, count: 100 } },
  }),
  job("x-1", {
    status: "cancelled",
    error: { name: "CancelledError", message: "no longer needed" },
    completedAt: T - 5,
    updatedAt: T - 5,
    version: 2,
  }),
];

describe("postgres importJobs", () => {
  const pg = postgresFixture();
  const closers = pg.closers;

  /** A backend of the test's server, typed with the import it has. */
  function open(): Backend & BackendImport {
    const b = postgresBackend({ url: pg.server.url, poolSize: 2 });
    closers.push(() => b.close());
    return b as Backend & BackendImport;
  }

  test(
    "stores jobs of every status as they are, field for field, in claim order, once",
    SLOW,
    async () => {
      const backend = open();
      const q = fresh();
      const now = T;
      const wakes: number[] = [];
      const stop = await backend.listen(q, "worker", (e) => {
        if (e.kind === "wake") wakes.push(e.at);
      });
      closers.push(stop);
      const outcomes = await backend.importJobs(q, jobs, { now });
      assert.deepEqual(outcomes, jobs.map(() => "created"));
      for (const j of jobs) {
        assert.deepEqual(await backend.get(q, j.id, { now }), j, j.id);
      }
      const listed = await backend.list(q, {
        status: null,
        type: null,
        limit: 100,
        after: null,
        now,
      });
      const byId = (a: JobRecord, b: JobRecord) => (a.id < b.id ? -1 : 1);
      assert.deepEqual(listed, [...jobs].sort(byId));
      const stats = await backend.stats(q, { now });
      assert.deepEqual(
        [stats.pending, stats.complete, stats.failed, stats.cancelled],
        [4, 1, 1, 1],
      );
      const waitWake = async () => {
        for (let i = 0; i < 100 && wakes.length === 0; i++) {
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      await waitWake();
      assert.deepEqual(wakes, [T - HOUR], "one wake, for the soonest");

      assert.deepEqual(
        await backend.importJobs(q, jobs, { now }),
        jobs.map(() => "exists"),
        "a second import stores nothing twice",
      );
      const claim = (at: number) =>
        backend.claim(q, {
          types: null,
          limit: 10,
          leaseMs: 2 * HOUR,
          now: at,
        });
      assert.deepEqual(
        (await claim(now)).map((j) => j.id),
        ["p-z", "p-a", "p-m"],
        "import order among equal priorities, not id order",
      );
      assert.deepEqual((await claim(T + HOUR)).map((j) => j.id), ["p-later"]);
      assert.equal(wakes.length, 1, "the second import woke nobody");
    },
  );

  test(
    "a pending job whose key is held is not stored, and an imported one holds its key",
    SLOW,
    async () => {
      const backend = open();
      const q = fresh();
      const now = T;
      const [holder] = await backend.enqueue(q, [job("live", { key: "k" })], {
        now,
      });
      const outcomes = await backend.importJobs(q, [
        job("p-1", { key: "k" }),
        job("c-1", { key: "k", status: "complete", completedAt: T - 1 }),
        job("p-2", { key: "k2" }),
        job("p-3", { key: "k2" }),
        job("p-2", { key: "k3" }),
      ], { now });
      assert.deepEqual(outcomes, [
        "key-held",
        "created",
        "created",
        "key-held",
        "exists",
      ]);
      assert.equal(holder!.created, true);
      assert.equal(await backend.get(q, "p-1", { now }), null);
      assert.deepEqual(
        await backend.enqueue(q, [job("new", { key: "k2" })], { now }),
        [{ id: "p-2", created: false }],
      );
    },
  );

  test(
    "finished jobs are removed by their keep rule from their finish time",
    SLOW,
    async () => {
      const backend = open();
      const q = fresh();
      let now = T;
      const aged = (age: number) => ({
        complete: { age, count: null },
        failed: kept,
      });
      const done = { status: "complete" as const, completedAt: T - 1_000 };
      assert.deepEqual(
        await backend.importJobs(q, [
          job("past", { ...done, keep: aged(500) }),
          job("soon", { ...done, keep: aged(2_000) }),
          job("kept", { ...done }),
        ], { now }),
        ["created", "created", "created"],
      );
      const left = async () =>
        (await backend.list(q, {
          status: null,
          type: null,
          limit: 10,
          after: null,
          now,
        })).map((j) => j.id);
      assert.deepEqual(await left(), ["kept", "soon"], "past was due");
      const finishOne = async (id: string) => {
        await backend.enqueue(q, [job(id, { runAt: now })], { now });
        const [claimed] = await backend.claim(q, {
          types: null,
          limit: 1,
          leaseMs: 1_000,
          now,
        });
        const ref = { id: claimed!.id, token: claimed!.lease!.token };
        await backend.complete(q, ref, "null", { now });
      };
      now = T + 500;
      await finishOne("r1");
      assert.deepEqual(await left(), ["kept", "r1", "soon"]);
      now = T + 1_000; // completedAt + 2 s: "soon" is due
      await finishOne("r2");
      assert.deepEqual(await left(), ["kept", "r1", "r2"]);
    },
  );

  test(
    "a processing job is refused with a ValidationError and nothing is written",
    SLOW,
    async () => {
      const backend = open();
      const q = fresh();
      const now = T;
      await assert.rejects(
        backend.importJobs(q, [
          job("fine"),
          job("busy", {
            status: "processing",
            attempt: 1,
            startedAt: T,
            lease: { token: "t", until: T + 1_000 },
          }),
        ], { now }),
        ValidationError,
      );
      assert.equal(await backend.get(q, "fine", { now }), null);
      assert.deepEqual(await backend.importJobs(q, [job("fine")], { now }), [
        "created",
      ]);
    },
  );
});
