/**
 * Deno.bench groups for the SQLite backend on a file (WAL, NORMAL). Each
 * group's baseline is plain `node:sqlite` doing the least the operation
 * could (one statement per transaction), so results read as ratios.
 * Run: deno bench -A bench/sqlite.bench.ts
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { sqliteBackend } from "../backends/sqlite/mod.ts";
import { createQueue, createWorker } from "../mod.ts";

const N = 5_000;
const dir = Deno.makeTempDirSync({ prefix: "jobline-sqlite-bench-" });
let files = 0;
const fresh = () => `${dir}/b${++files}.db`;
globalThis.addEventListener("unload", () => {
  Deno.removeSync(dir, { recursive: true });
});

const items = Array.from(
  { length: N },
  (_, i) => ({ type: "noop", data: { i } }),
);

/** A plain table with a partial index of due rows, filled with `n` rows. */
function plain(n: number): { db: DatabaseSync; claim: StatementSync } {
  const db = new DatabaseSync(fresh());
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
    CREATE TABLE jobs (seq INTEGER PRIMARY KEY, data TEXT NOT NULL,
      priority INTEGER NOT NULL, state INTEGER NOT NULL, token TEXT);
    CREATE INDEX jobs_due ON jobs (priority DESC, seq) WHERE state = 0;`);
  const insert = db.prepare(
    "INSERT INTO jobs (data, priority, state) VALUES (?, 5, 0)",
  );
  db.exec("BEGIN");
  for (let i = 0; i < n; i++) insert.run(`{"i":${i}}`);
  db.exec("COMMIT");
  const claim = db.prepare(`UPDATE jobs SET state = 2, token = ?2
    WHERE seq IN (SELECT seq FROM jobs WHERE state = 0
      ORDER BY priority DESC, seq LIMIT ?1) RETURNING seq, data`);
  return { db, claim };
}

Deno.bench("plain SQLite: INSERT, one per transaction (5k)", {
  group: "enqueue",
  baseline: true,
  n: 5,
}, () => {
  const { db } = plain(0);
  const insert = db.prepare(
    "INSERT INTO jobs (data, priority, state) VALUES (?, 5, 0)",
  );
  for (const item of items) insert.run(JSON.stringify(item.data));
  db.close();
});

Deno.bench("jobline: enqueue one at a time (5k)", {
  group: "enqueue",
  n: 5,
}, async () => {
  const backend = sqliteBackend({ path: fresh() });
  const queue = createQueue({ backend });
  for (const item of items) await queue.enqueue("noop", item.data);
  await backend.close();
});

Deno.bench(
  "jobline: enqueueMany (5k)",
  { group: "enqueue", n: 5 },
  async () => {
    const backend = sqliteBackend({ path: fresh() });
    await createQueue({ backend }).enqueueMany(items);
    await backend.close();
  },
);

Deno.bench("plain SQLite: claim 1 row per transaction (5k)", {
  group: "claim",
  baseline: true,
  n: 5,
}, (b) => {
  const { db, claim } = plain(N);
  b.start();
  for (let i = 0; i < N; i++) {
    db.exec("BEGIN IMMEDIATE");
    claim.all(1, `t${i}`);
    db.exec("COMMIT");
  }
  b.end();
  db.close();
});

Deno.bench("plain SQLite: claim 100 rows per statement (5k)", {
  group: "claim",
  n: 5,
}, (b) => {
  const { db, claim } = plain(N);
  b.start();
  for (let i = 0; i < N / 100; i++) {
    db.exec("BEGIN IMMEDIATE");
    claim.all(100, `t${i}`);
    db.exec("COMMIT");
  }
  b.end();
  db.close();
});

Deno.bench("jobline: claim + complete, one at a time (5k)", {
  group: "claim",
  n: 5,
}, async (b) => {
  const backend = sqliteBackend({ path: fresh() });
  const queue = createQueue({ backend });
  await queue.enqueueMany(items);
  b.start();
  for (let job = await queue.claim(); job; job = await queue.claim()) {
    await queue.complete(job, null);
  }
  b.end();
  await backend.close();
});

Deno.bench("jobline: claimMany(100) + complete each (5k)", {
  group: "claim",
  n: 5,
}, async (b) => {
  const backend = sqliteBackend({ path: fresh() });
  const queue = createQueue({ backend });
  await queue.enqueueMany(items);
  b.start();
  for (;;) {
    const jobs = await queue.claimMany(100);
    if (jobs.length === 0) break;
    await Promise.all(jobs.map((job) => queue.complete(job, null)));
  }
  b.end();
  await backend.close();
});

async function drain(concurrency: number, b: Deno.BenchContext) {
  const backend = sqliteBackend({ path: fresh() });
  const queue = createQueue({ backend });
  await queue.enqueueMany(items);
  let done = 0;
  let finished!: () => void;
  const all = new Promise<void>((r) => (finished = r));
  b.start();
  const worker = createWorker(queue, {
    noop: () => {
      if (++done === N) queueMicrotask(finished);
      return null;
    },
  }, { concurrency });
  await all;
  while ((await queue.stats()).complete < N) {
    await new Promise((r) => setTimeout(r, 1));
  }
  b.end();
  await worker.stop();
  await backend.close();
}

Deno.bench("plain SQLite: claim 10 + complete 10, two transactions (5k)", {
  group: "worker",
  baseline: true,
  n: 5,
}, (b) => {
  const { db, claim } = plain(N);
  const complete = db.prepare("UPDATE jobs SET state = 3 WHERE seq = ?");
  b.start();
  for (let i = 0; i < N / 10; i++) {
    db.exec("BEGIN IMMEDIATE");
    const rows = claim.all(10, `t${i}`) as { seq: number }[];
    db.exec("COMMIT");
    db.exec("BEGIN IMMEDIATE");
    for (const row of rows) complete.run(row.seq);
    db.exec("COMMIT");
  }
  b.end();
  db.close();
});

Deno.bench("jobline: createWorker drain, concurrency 10 (5k)", {
  group: "worker",
  n: 5,
}, async (b) => await drain(10, b));

Deno.bench("jobline: createWorker drain, concurrency 100 (5k)", {
  group: "worker",
  n: 5,
}, async (b) => await drain(100, b));
