/**
 * `deno task bench:peers`: jobline against its peers on the same server, the
 * same runtime and the same workload, in the same run, with the ratios.
 * Each peer system is one function that starts what it needs, runs its
 * contenders and returns its rows; add more (PostgreSQL peers) beside it.
 *
 * Contenders run in alternating rounds (`--rounds=N`, default 2) and each
 * keeps its best figure per column, so a busy machine penalises both alike.
 * `--quick` runs smaller sizes. `--only=retention` runs only the retention
 * table (drains with the default retention against `removeOnComplete:
 * false`, on every backend, or those of `--backends=memory,sqlite`);
 * `--only=flows` only the flows table (a flow of
 * 1 parent and 1,000 children beside a plain batch of 1,001 jobs);
 * `--only=limits` only the limits table (drains with and without a group
 * limit, and the claim cost at 1,000 and 100,000 pending jobs; with
 * `--drains-only`, no claim costs; `--backends=` as for retention);
 * `--only=memory` only the memory row (claim+complete against a bare
 * binary heap); `--only=sqlite` only the SQLite table (a drain and
 * enqueueMany against Deno KV's own queue); `--only=sqlite-floor` only
 * how fast SQLite itself stores the rows of enqueueMany (_sqlite_floor.ts);
 * `--only=redis` only the Redis
 * table (jobline's two Redis backends against BullMQ); `--only=postgres`
 * only the PostgreSQL table (against graphile-worker and pg-boss).
 */

import { type Figures, type Sizes, table } from "./_measure.ts";
import { measureRedis } from "./_redis.ts";
import { measureBullmq } from "./_bullmq.ts";
import { measureRedisStreams } from "./_redis_streams.ts";
import { startRedis } from "../tests/_support/redis_server.ts";
import { peerTable, postgresPeerRows } from "./peers_postgres.ts";
import { retentionTable } from "./_retention.ts";
import { flowsTable } from "./_flows.ts";
import { limitsTable } from "./_limits.ts";
import { memoryPeerTable } from "./_memory_peer.ts";
import { sqlitePeerTable } from "./_sqlite_peer.ts";
import { sqliteFloorTable } from "./_sqlite_floor.ts";

const quick = Deno.args.includes("--quick");
const rounds = Number(
  Deno.args.find((a) => a.startsWith("--rounds="))?.slice(9) ?? 2,
);
/** `--backends=memory,sqlite`: the backends of the retention table. */
const only = Deno.args.find((a) => a.startsWith("--backends="))?.slice(11)
  .split(",");

/** One comparison: jobline's rows (each against the peer) and its peer's. */
interface Comparison {
  title: string;
  jobline: Figures[];
  peer: Figures;
}

const COLUMNS: [keyof Figures, string, "higher" | "lower"][] = [
  ["enqueue", "enqueue one at a time (jobs/s)", "higher"],
  ["enqueueMany", "enqueueMany / addBulk (jobs/s)", "higher"],
  ["worker10", "worker drain c=10 (jobs/s)", "higher"],
  ["worker100", "worker drain c=100 (jobs/s)", "higher"],
  ["latencyP50", "idle worker start p50 (ms)", "lower"],
  ["latencyP99", "idle worker start p99 (ms)", "lower"],
];

function best(rows: Figures[]): Figures {
  const out = { ...rows[0]! };
  for (const r of rows.slice(1)) {
    for (const [key, , better] of COLUMNS) {
      const a = out[key] as number;
      const b = r[key] as number;
      if (Number.isNaN(a) || (better === "higher" ? b > a : b < a)) {
        (out[key] as number) = b;
      }
    }
  }
  return out;
}

/** Runs `contenders` in alternating rounds; returns each one's best row. */
async function alternate(
  contenders: (() => Promise<Figures>)[],
): Promise<Figures[]> {
  const results: Figures[][] = contenders.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, run] of contenders.entries()) results[i]!.push(await run());
  }
  return results.map(best);
}

/**
 * jobline on Redis (both backends: sorted sets, and streams) against
 * BullMQ 6, on one redis-server started here.
 */
async function redisPeers(): Promise<Comparison> {
  const sizes: Sizes = quick
    ? {
      enqueue: 3_000,
      enqueueMany: 30_000,
      claim: 5_000,
      worker: 20_000,
      latency: 100,
    }
    : {
      enqueue: 10_000,
      enqueueMany: 100_000,
      claim: 10_000,
      worker: 50_000,
      latency: 300,
    };
  const server = await startRedis();
  try {
    const [jobline, streams, peer] = await alternate([
      () => measureRedis(server.url, sizes, "jobline (redis)"),
      () => measureRedisStreams(server.url, sizes),
      () => measureBullmq(server.url, sizes),
    ]);
    return {
      title: "Redis: jobline vs BullMQ",
      jobline: [jobline!, streams!],
      peer: peer!,
    };
  } finally {
    await server.destroy();
  }
}

function ratios(c: Comparison, jobline: Figures): string {
  const lines = [
    `| ${c.title} | ${jobline.backend} | ${c.peer.backend} | ratio |`,
    "| --- | ---: | ---: | ---: |",
  ];
  for (const [key, label, better] of COLUMNS) {
    const a = jobline[key] as number;
    const b = c.peer[key] as number;
    const fmt = (v: number) =>
      better === "lower" ? v.toFixed(2) : Math.round(v).toLocaleString("en-US");
    const ratio = better === "higher" ? a / b : b / a;
    lines.push(
      `| ${label} | ${fmt(a)} | ${fmt(b)} | ${ratio.toFixed(2)}x |`,
    );
  }
  return lines.join("\n");
}

if (Deno.args.includes("--only=memory")) {
  console.log(await memoryPeerTable({ quick, rounds: Math.max(rounds, 3) }));
  Deno.exit(0);
}

if (Deno.args.includes("--only=sqlite")) {
  console.log(await sqlitePeerTable({ quick, rounds: Math.max(rounds, 3) }));
  Deno.exit(0);
}

if (Deno.args.includes("--only=sqlite-floor")) {
  console.log(await sqliteFloorTable({ quick, rounds: Math.max(rounds, 3) }));
  Deno.exit(0);
}

if (Deno.args.includes("--only=limits")) {
  console.log(
    await limitsTable({
      quick,
      rounds: Math.max(rounds, 3),
      only,
      drainsOnly: Deno.args.includes("--drains-only"),
    }),
  );
  Deno.exit(0);
}

if (Deno.args.includes("--only=flows")) {
  console.log(await flowsTable({ rounds: Math.max(rounds, 3) }));
  Deno.exit(0);
}

if (Deno.args.includes("--only=postgres")) {
  console.log(peerTable(await postgresPeerRows({ quick })));
  Deno.exit(0);
}

if (Deno.args.includes("--only=retention")) {
  console.log(
    await retentionTable({ quick, rounds: Math.max(rounds, 3), only }),
  );
  Deno.exit(0);
}

const comparisons = [await redisPeers()];
for (const c of comparisons) {
  console.log(`\n${table([...c.jobline, c.peer])}\n`);
  for (const row of c.jobline) console.log(`${ratios(c, row)}\n`);
}
console.log(
  "\nratio: how many times better jobline is (higher is better; for latency, peer/jobline).",
);
if (Deno.args.includes("--only=redis")) Deno.exit(0);

if (!Deno.args.includes("--no-postgres")) {
  console.log(
    "\nPostgreSQL: jobline vs graphile-worker and pg-boss (one server, one run)\n",
  );
  console.log(peerTable(await postgresPeerRows({ quick })));
}

console.log(
  "\nSQLite: jobline against Deno KV's own queue, the same jobs, alternating rounds\n",
);
console.log(await sqlitePeerTable({ quick, rounds: Math.max(rounds, 3) }));

console.log(
  "\nRetention: worker drains (c=10) with the default retention and with removeOnComplete: false, alternating rounds\n",
);
console.log(await retentionTable({ quick, rounds: Math.max(rounds, 3) }));

console.log(
  "\nFlows: 1 parent + 1,000 children against 1,001 plain jobs, enqueue to last completion (c=10), alternating rounds\n",
);
console.log(await flowsTable({ rounds: Math.max(rounds, 3) }));

console.log(
  "\nLimits: drains (c=10) without limits and under groups: { concurrency: 1 } over 1,000 groups, and the claim cost as pending jobs grow, alternating rounds\n",
);
console.log(await limitsTable({ quick, rounds: Math.max(rounds, 3) }));

console.log(
  "\nMemory: claim+complete, await each, against a bare binary heap, alternating rounds\n",
);
console.log(await memoryPeerTable({ quick, rounds: Math.max(rounds, 3) }));
