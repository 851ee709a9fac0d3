/**
 * jobline on SQLite against Deno KV's own queue, end to end: jobs are
 * enqueued first, then the drain is timed (jobline: createWorker with
 * concurrency 10 on a file database, WAL, NORMAL; Deno KV: listenQueue on a
 * local file). Rounds alternate so a busy machine penalises both alike;
 * each keeps its best round. Deno KV slows down as its backlog grows, so it
 * drains fewer messages by default, which flatters it.
 *
 *   deno run -A bench/sqlite_peers.ts [--jobs=20000] [--kv-jobs=2000] [--rounds=2]
 */

import { drainDenoKv } from "./_denokv.ts";
import { drainSqlite } from "./_sqlite.ts";

const arg = (name: string, fallback: number) =>
  Number(
    Deno.args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ??
      fallback,
  );
const jobs = arg("jobs", 20_000);
const kvJobs = arg("kv-jobs", 2_000);
const rounds = arg("rounds", 2);

let jobline = 0;
let kv = 0;
for (let round = 0; round < rounds; round++) {
  jobline = Math.max(jobline, await drainSqlite(jobs));
  kv = Math.max(kv, await drainDenoKv(kvJobs));
}
const n = (v: number) => Math.round(v).toLocaleString("en-US");
console.log(`| system | jobs drained | jobs/s |`);
console.log(`| --- | ---: | ---: |`);
console.log(
  `| jobline sqlite, createWorker c=10 | ${n(jobs)} | ${n(jobline)} |`,
);
console.log(`| Deno KV queue, listenQueue | ${n(kvJobs)} | ${n(kv)} |`);
console.log(`\njobline / Deno KV: ${(jobline / kv).toFixed(1)}x`);
