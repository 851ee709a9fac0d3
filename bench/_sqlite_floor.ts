/**
 * The floor table of `deno task bench:peers --only=sqlite-floor`: how fast
 * SQLite itself stores the rows of `enqueueMany`, beside jobline's
 * `enqueueMany` and Deno KV's atomic enqueue, in alternating rounds, each
 * keeping its best figure. Every row writes batches of 1,000 jobs, a
 * transaction each (WAL, synchronous NORMAL), on a fresh file:
 *
 * - jobline's `enqueueMany` (what the SQLite table of bench:peers runs);
 * - the backend's multi-row insert of plain jobs alone (`insertJobs` with
 *   `plain`, what `enqueueMany` runs for these jobs; 250 rows a statement,
 *   four a transaction), every value bound as `enqueueMany` binds it, made
 *   in the loop: no validation, no events, no counts, no queue;
 * - its insert of jobs with a key, a time to live, a group or a count rule
 *   alone (`insertJobs` without `plain`: every column, a key check, a row
 *   returned each), for the same jobs;
 * - the plain insert into the job table stripped of its secondary indexes
 *   and triggers (the primary key alone): what SQLite costs for these
 *   rows, with nothing a claim or a lookup by id could use;
 * - Deno KV's atomic enqueue of 1,000 messages (as in the SQLite table).
 *
 * The three inserts run on a file whose schema jobline made (its
 * migrations), through `node:sqlite` with jobline's pragmas. They tell how
 * far any change of the backend's code can take `enqueueMany`: not past
 * its own statement, and not past the stripped table without giving up an
 * index the backend reads.
 */

import { DatabaseSync } from "node:sqlite";
import { createQueue } from "../mod.ts";
import { sqliteBackend } from "../backends/sqlite/mod.ts";
import { insertJobs } from "../backends/sqlite/sql_enqueue.ts";
import { PRAGMAS } from "../backends/sqlite/sql_migrations.ts";
import { newId } from "../src/id.ts";
import { enqueueManyDenoKv } from "./_denokv.ts";
import { enqueueManySqlite } from "./_sqlite_peer.ts";
import { withTempFile } from "./_sqlite.ts";

/** Rows per insert statement; four make a batch of 1,000. */
const ROWS = 250;

type Variant = "plain" | "full" | "stripped";

/** What `enqueueMany` stores for a plain job, read from one it stored. */
interface Stored {
  priority: number;
  maxAttempts: number;
  metadata: string;
  keep: (number | null)[];
}

/** Makes jobline's schema in `path`; returns what a plain job stores. */
async function schema(path: string): Promise<Stored> {
  const backend = sqliteBackend({ path });
  try {
    await using queue = createQueue({ backend, name: "bench-schema" });
    await queue.enqueueMany([{ type: "noop", data: { i: 0 } }]);
  } finally {
    await backend.close();
  }
  const db = new DatabaseSync(path);
  try {
    const row = db.prepare(
      `SELECT priority, max_attempts, metadata, keep_complete_age, keep_complete_count,
        keep_failed_age, keep_failed_count FROM jobline_jobs LIMIT 1`,
    ).get() as Record<string, number | string | null>;
    return {
      priority: row.priority as number,
      maxAttempts: row.max_attempts as number,
      metadata: row.metadata as string,
      keep: [
        row.keep_complete_age,
        row.keep_complete_count,
        row.keep_failed_age,
        row.keep_failed_count,
      ] as (number | null)[],
    };
  } finally {
    db.close();
  }
}

/** Drops the job table's secondary indexes and triggers. */
function strip(db: DatabaseSync): void {
  const names = db.prepare(
    `SELECT type, name FROM sqlite_master WHERE tbl_name = 'jobline_jobs'
      AND type IN ('index', 'trigger') AND sql IS NOT NULL`,
  ).all() as { type: string; name: string }[];
  for (const { type, name } of names) {
    db.exec(`DROP ${type === "index" ? "INDEX" : "TRIGGER"} ${name}`);
  }
}

/** The values a variant binds for one job, as enqueueMany binds them. */
function bound(
  variant: Variant,
  stored: Stored,
  id: string,
  data: string,
  now: number,
): (string | number | null)[] {
  const [completeAge, completeCount, failedAge, failedCount] = stored.keep;
  const { priority, maxAttempts, metadata } = stored;
  // queue, id, type, data, priority, max_attempts, run_at, created_at,
  // metadata, state, updated_at, the two age rules; then, for every
  // column: ttl, expires_at, key, key_held, the two count rules, group
  // (see insertJobs)
  const plain = [
    ...["bench-enqueue", id, "noop", data, priority, maxAttempts, now, now],
    ...[metadata, 0, now, completeAge ?? null, failedAge ?? null],
  ];
  if (variant !== "full") return plain;
  return [
    ...plain,
    ...[null, null, null, null, completeCount ?? null, failedCount ?? null],
    null,
  ];
}

/** Rows/s of `n` rows (a multiple of 1,000) stored by one variant. */
function inserted(variant: Variant, n: number): Promise<number> {
  return withTempFile(async (path) => {
    const stored = await schema(path);
    const db = new DatabaseSync(path);
    try {
      db.exec(PRAGMAS(5_000, "normal"));
      if (variant === "stripped") strip(db);
      const statement = db.prepare(
        insertJobs(ROWS, variant !== "full"),
      );
      const now = Date.now();
      const t0 = performance.now();
      for (let i = 0; i < n; i += 1_000) {
        db.exec("BEGIN IMMEDIATE");
        for (let j = i; j < i + 1_000; j += ROWS) {
          const values: (string | number | null)[] = [];
          for (let k = j; k < j + ROWS; k++) {
            const data = JSON.stringify({ i: k });
            values.push(...bound(variant, stored, newId(now), data, now));
          }
          // insertJobs returns a row per job stored, as the backend reads
          if (variant === "full") statement.all(...values);
          else statement.run(...values);
        }
        db.exec("COMMIT");
      }
      return n / ((performance.now() - t0) / 1000);
    } finally {
      db.close();
    }
  });
}

/**
 * Runs the table; returns its Markdown.
 *
 * @param quick 20,000 jobs a row instead of 50,000.
 * @param rounds Alternating rounds.
 */
export async function sqliteFloorTable(
  { quick, rounds }: { quick: boolean; rounds: number },
): Promise<string> {
  const n = quick ? 20_000 : 50_000;
  const rows: [string, () => Promise<number>][] = [
    ["jobline `enqueueMany`", () => enqueueManySqlite(n)],
    ["its insert of plain jobs alone", () => inserted("plain", n)],
    [
      "its insert of jobs with keys, TTLs, groups, count rules alone",
      () => inserted("full", n),
    ],
    [
      "its plain insert, job table without secondary indexes or triggers",
      () => inserted("stripped", n),
    ],
    ["Deno KV atomic enqueue", () => enqueueManyDenoKv(n)],
  ];
  const best = new Map<string, number>();
  for (let r = 0; r < rounds; r++) {
    for (const [label, run] of r % 2 === 0 ? rows : [...rows].reverse()) {
      best.set(label, Math.max(best.get(label) ?? 0, await run()));
    }
  }
  const kv = best.get("Deno KV atomic enqueue")!;
  const f = (v: number) => Math.round(v).toLocaleString("en-US");
  return [
    `| ${f(n)} jobs in batches of 1,000 | rows/s | / Deno KV |`,
    "| --- | ---: | ---: |",
    ...rows.map(([label]) =>
      `| ${label} | ${f(best.get(label)!)} | ${
        (best.get(label)! / kv).toFixed(2)
      }x |`
    ),
  ].join("\n");
}
