/**
 * Random sequences of every job transition on a SQLite file, for the stats
 * test (tests/sqlite_stats.test.ts): the commands (a fast-check
 * arbitrary), a runner that plays them on two queues of one file with a
 * fake clock, and the plain GROUP BY that the counts must agree with after
 * each command. It never asserts anything of a transition but the counts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import fc from "fast-check";
import { sqliteBackend } from "../../backends/sqlite/mod.ts";
import { countJobs, emptyStats } from "../../src/backend/counts.ts";
import type {
  Backend,
  BackendImport,
  JobRecord,
} from "../../src/backend/interface.ts";
import { LeaseLostError } from "../../src/errors.ts";
import { createQueue } from "../../src/queue.ts";
import type { Queue } from "../../src/queue_types.ts";
import type { ClaimedJob, JobStatus, QueueStats } from "../../src/types.ts";
import { waitFor } from "./time.ts";

/** Where a sequence's clock starts. */
const T = Date.parse("2026-07-01T08:00:00.000Z");

type Counted = { status: JobStatus; type: string; n: number };

/** Live jobs of a queue as the GROUP BY over every row counts them. */
export function groupBy(
  db: DatabaseSync,
  queue: string,
  now: number,
): QueueStats {
  const rows = db.prepare(`SELECT status, type, count(*) AS n
    FROM jobline_jobs WHERE queue = ? AND (expires_at IS NULL OR expires_at > ?)
    GROUP BY status, type`).all(queue, now) as Counted[];
  const stats = emptyStats();
  for (const r of rows) countJobs(stats, r.type, r.status, r.n);
  return stats;
}

/** The stored counts and the rows they count, both as "queue type status n". */
export function countsAndRows(db: DatabaseSync): [string[], string[]] {
  const text = (sql: string) =>
    (db.prepare(sql).all() as { q: string; t: string; s: string; n: number }[])
      .map((r) => `${r.q} ${r.t} ${r.s} ${r.n}`);
  return [
    text(`SELECT queue AS q, type AS t, status AS s, n FROM jobline_counts
      WHERE n <> 0 ORDER BY 1, 2, 3`),
    text(`SELECT queue AS q, type AS t, status AS s, count(*) AS n
      FROM jobline_jobs GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`),
  ];
}

type Keep = boolean | { count: number } | { age: number };
const STATUSES = ["pending", "complete", "failed", "cancelled"] as const;
type Status = typeof STATUSES[number];

/** One command of a sequence. */
export type Cmd =
  | {
    k: "enqueue";
    q: number;
    type: string;
    delay: number;
    ttl: number | null;
    key: string | null;
    keep: Keep;
    maxAttempts: number;
    group: string | null;
  }
  | { k: "enqueueMany"; q: number; keys: (string | null)[] }
  | { k: "claim"; q: number; limit: number; leaseMs: number }
  | {
    k: "complete" | "fail" | "release";
    h: number;
    retry: boolean;
    delay: number | null;
  }
  | { k: "completeAll"; n: number }
  | { k: "cancel" | "retry" | "remove"; j: number }
  | { k: "clean"; q: number; status: Status; olderThan: number }
  | { k: "import"; q: number; statuses: Status[]; j: number }
  | { k: "fire" | "housekeep"; q: number }
  | { k: "advance"; ms: number };

const q = fc.constantFrom(0, 0, 1);
const key = fc.constantFrom(null, null, "k1", "k2");
const status = fc.constantFrom(...STATUSES);
const often = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({
  weight,
  arbitrary,
});
/** Random command sequences, 20 to 60 long. */
export const commands: fc.Arbitrary<Cmd[]> = fc.array(
  fc.oneof(
    often(
      5,
      fc.record({
        k: fc.constant("enqueue" as const),
        q,
        type: fc.constantFrom("a", "b"),
        delay: fc.constantFrom(0, 0, 800),
        ttl: fc.constantFrom(null, 1, 3),
        key,
        keep: fc.constantFrom<Keep>(false, true, { count: 1 }, { age: 500 }),
        maxAttempts: fc.constantFrom(1, 3),
        group: fc.constantFrom(null, null, "g1", "g2"),
      }),
    ),
    fc.record({
      k: fc.constant("enqueueMany" as const),
      q,
      keys: fc.array(key, { minLength: 1, maxLength: 4 }),
    }),
    often(
      4,
      fc.record({
        k: fc.constant("claim" as const),
        q,
        limit: fc.integer({ min: 1, max: 3 }),
        leaseMs: fc.constantFrom(1_000, 5_000),
      }),
    ),
    often(
      6,
      fc.record({
        k: fc.constantFrom(
          ...["complete", "fail", "release"] as const,
          "complete",
        ),
        h: fc.nat(9),
        retry: fc.boolean(),
        delay: fc.constantFrom(null, 0, 1_500),
      }),
    ),
    fc.record({ k: fc.constant("completeAll" as const), n: fc.nat(4) }),
    often(
      2,
      fc.record({
        k: fc.constantFrom(
          "cancel" as const,
          "retry" as const,
          "remove" as const,
        ),
        j: fc.nat(30),
      }),
    ),
    fc.record({
      k: fc.constant("clean" as const),
      q,
      status,
      olderThan: fc.constantFrom(0, 1_000),
    }),
    fc.record({
      k: fc.constant("import" as const),
      q,
      statuses: fc.array(status, { minLength: 1, maxLength: 3 }),
      j: fc.nat(30),
    }),
    fc.record({ k: fc.constantFrom("fire" as const, "housekeep" as const), q }),
    often(
      2,
      fc.record({
        k: fc.constant("advance" as const),
        ms: fc.constantFrom(300, 1_100, 3_500),
      }),
    ),
  ),
  { minLength: 20, maxLength: 60 },
);

const FAILURE = { name: "Error", message: "x" };

/**
 * A job another backend hands over for import (SPEC §10): some expire, some
 * hold key "k1", some are removed as they are stored (keep age 0).
 */
function imported(id: string, status: Status, now: number): JobRecord {
  const pending = status === "pending";
  const keep = { age: id.endsWith("0") ? 0 : null, count: null };
  return {
    id,
    type: pending ? "a" : "b",
    data: "null",
    priority: 50,
    maxAttempts: 2,
    runAt: now - 100,
    createdAt: now - 100,
    ttl: id.endsWith("3") ? 1 : null,
    expiresAt: id.endsWith("3") ? now + 1_000 : null,
    key: pending && id.endsWith("1") ? "k1" : null,
    metadata: "{}",
    keep: { complete: keep, failed: keep },
    status,
    progress: 0,
    message: "",
    result: status === "complete" ? "1" : null,
    error: pending || status === "complete" ? null : FAILURE,
    attempt: pending ? 0 : 1,
    updatedAt: now - 50,
    startedAt: pending ? null : now - 60,
    completedAt: pending ? null : now - 50,
    lease: null,
    version: 3,
  };
}

/** What a random sequence runs on: two queues of one file, a fake clock. */
interface World {
  now: number;
  readonly backend: Backend & BackendImport;
  /** Claimed jobs not yet settled, and the queue that claimed each. */
  readonly held: [Queue, ClaimedJob][];
  /** Every id seen, and its queue. */
  readonly ids: [Queue, string][];
  made: number;
  /** A second connection to the file, for the plain GROUP BY. */
  readonly db: DatabaseSync;
  /** Hears what each command did (for a look at what the runs cover). */
  readonly saw: (what: string) => void;
}

/** Runs the commands that make or take jobs. */
async function make(w: World, c: Cmd, queue: Queue): Promise<void> {
  if (c.k === "enqueue") {
    const id = await queue.enqueue(c.type, null, {
      delay: c.delay,
      maxAttempts: c.maxAttempts,
      removeOnComplete: c.keep,
      removeOnFail: c.keep,
      ...(c.ttl === null ? {} : { ttl: c.ttl }),
      ...(c.key === null ? {} : { key: c.key }),
      ...(c.group === null ? {} : { group: c.group }),
    });
    w.ids.push([queue, id]);
  } else if (c.k === "enqueueMany") {
    const items = c.keys.map((k) => ({
      type: "b",
      data: 1,
      options: k === null ? {} : { key: k },
    }));
    for (const id of await queue.enqueueMany(items)) w.ids.push([queue, id]);
  } else if (c.k === "claim") {
    const expired = w.db.prepare(`SELECT 1 FROM jobline_jobs
      WHERE queue = ? AND state = 2 AND lease_until <= ?`);
    if (expired.get(queue.name, w.now)) w.saw("claim after a lease ran out");
    const jobs = await queue.claimMany(c.limit, { leaseMs: c.leaseMs });
    for (const job of jobs) w.held.push([queue, job]);
  } else if (c.k === "import") {
    const jobs = c.statuses.map((s) => imported(`i${++w.made}`, s, w.now));
    const again = w.ids[c.j % Math.max(w.ids.length, 1)];
    if (again?.[0] === queue) jobs.push(imported(again[1], "pending", w.now));
    const { now } = w;
    const outcomes = await w.backend.importJobs(queue.name, jobs, { now });
    outcomes.forEach((o, i) => {
      w.saw(`import ${o}`);
      if (o === "created") w.ids.push([queue, jobs[i]!.id]);
    });
  } else if (c.k === "fire") {
    w.saw(`fired ${await queue.runSchedules()}`);
  }
}

/** Runs the commands on a claimed job; a lease lost on the way is fine. */
async function settle(w: World, c: Cmd): Promise<void> {
  if (c.k === "completeAll") {
    // Completions of one turn: one batch (COMPLETE_MANY) per queue.
    const batch = w.held.splice(0, c.n);
    const settled = await Promise.allSettled(
      batch.map(([queue, job]) => queue.complete(job, 1)),
    );
    for (const s of settled) {
      if (s.status === "rejected" && !(s.reason instanceof LeaseLostError)) {
        throw s.reason;
      }
    }
    w.saw(`completeAll ${batch.length}`);
    return;
  }
  if (c.k !== "complete" && c.k !== "fail" && c.k !== "release") return;
  const [entry] = w.held.splice(c.h % Math.max(w.held.length, 1), 1);
  if (entry === undefined) return;
  const [queue, job] = entry;
  try {
    if (c.k === "complete") await queue.complete(job, 1);
    else if (c.k === "fail") {
      w.saw(`fail ${await queue.fail(job, new Error("no"), c)}`);
    } else {
      const delay = c.delay === null ? {} : { delay: c.delay };
      w.saw(`release ${c.delay} ${await queue.release(job, delay)}`);
    }
  } catch (err) {
    if (!(err instanceof LeaseLostError)) throw err;
    w.saw(`${c.k} lease lost`);
  }
}

/** Runs the commands on known jobs, retention and the passing of time. */
async function manage(w: World, c: Cmd, queue: Queue): Promise<void> {
  if (c.k === "cancel" || c.k === "retry" || c.k === "remove") {
    const [owner, id] = w.ids[c.j % Math.max(w.ids.length, 1)] ?? [];
    if (id !== undefined) w.saw(`${c.k} ${await owner![c.k](id)}`);
  } else if (c.k === "clean") {
    const n = await queue.clean({ status: c.status, olderThan: c.olderThan });
    w.saw(`clean ${c.status} ${n > 0}`);
  } else if (c.k === "housekeep") {
    // A write at `now` lets the housekeeping timer delete what expired.
    await queue.claim({ types: ["none"] });
    const stored = w.db.prepare(`SELECT count(*) AS n FROM jobline_jobs
      WHERE queue = ? AND expires_at <= ?`);
    const count = () => (stored.get(queue.name, w.now) as { n: number }).n;
    w.saw(`housekeep ${count() > 0}`);
    await waitFor("housekeeping", () => count() === 0);
  } else if (c.k === "advance") {
    w.now += c.ms;
  }
}

/**
 * Plays `cmds` on a new SQLite file at `path` and checks stats() of both
 * queues and the stored counts against the GROUP BY after every command.
 * `saw` hears what each command did.
 */
export async function runSequence(
  path: string,
  cmds: readonly Cmd[],
  saw: (what: string) => void = () => {},
): Promise<void> {
  const backend = sqliteBackend({ path, housekeepingInterval: 5 });
  const w: World = {
    now: T,
    backend: backend as Backend & BackendImport,
    held: [],
    ids: [],
    made: 0,
    db: new DatabaseSync(path),
    saw,
  };
  const open = (name: string) =>
    createQueue({
      backend,
      name,
      clock: () => w.now,
      backoff: { type: "fixed", delay: 500 },
    });
  const queues = [open("q"), open("r")] as const;
  await queues[0].schedule("every", { every: 700, type: "s" });
  await queues[0].schedule("keyed", {
    every: 1_000,
    type: "s",
    options: { key: "k2", ttl: 2, removeOnComplete: true },
  });
  try {
    for (const c of cmds) {
      const queue = "q" in c ? queues[c.q]! : queues[0];
      await make(w, c, queue);
      await settle(w, c);
      await manage(w, c, queue);
      for (const each of queues) {
        // stats() first: it applies the leases that ran out, as a claim
        // would, and then counts the rows as they are.
        const stats = await each.stats();
        const expected = groupBy(w.db, each.name, w.now);
        assert.deepEqual(stats, expected, `${each.name} ${c.k}`);
      }
      assert.deepEqual(...countsAndRows(w.db), `counts after ${c.k}`);
    }
  } finally {
    w.db.close();
    for (const each of queues) await each.close();
    await backend.close();
  }
}
