/**
 * The PostgreSQL peers table: jobline's PostgreSQL backend, graphile-worker
 * (tuned and default presets) and pg-boss on one throwaway PostgreSQL 15
 * server, the same workload, in the same run. Run it alone with
 * `deno run -A bench/peers_postgres.ts [--quick]`, or call
 * `postgresPeerRows()` from the peers report.
 */

import { startPostgres } from "../tests/_support/postgres_server.ts";
import type { Figures, Sizes } from "./_measure.ts";
import { measureGraphile } from "./_graphile.ts";
import { measurePgBoss } from "./_pgboss.ts";
import { measurePostgres, postgresSizes } from "./_postgres.ts";

/** One row of the peers table. */
export interface PeerRow {
  system: string;
  setting: string;
  enqueue: number;
  enqueueMany: number;
  drain: number;
  latencyP50: number;
  latencyP99: number;
}

function rowsOf(f: Figures, system: string, settings: [string, string]) {
  const base = {
    system,
    enqueue: f.enqueue,
    enqueueMany: f.enqueueMany,
    latencyP50: f.latencyP50,
    latencyP99: f.latencyP99,
  };
  return [
    { ...base, setting: settings[0], drain: f.worker10 },
    { ...base, setting: settings[1], drain: f.worker100 },
  ];
}

/** Measures every system on one fresh server. */
export async function postgresPeerRows(
  { quick }: { quick: boolean },
): Promise<PeerRow[]> {
  const server = await startPostgres();
  try {
    const jobline = postgresSizes(quick);
    const peer: Sizes = {
      enqueue: quick ? 1_000 : 5_000,
      enqueueMany: jobline.enqueueMany,
      claim: 0,
      worker: jobline.worker,
      latency: jobline.latency,
    };
    const slow: Sizes = { ...peer, worker: quick ? 3_000 : 10_000 };
    const rows: PeerRow[] = [];
    rows.push(
      ...rowsOf(await measurePostgres(server.url, jobline), "jobline", [
        "createWorker, concurrency 10",
        "createWorker, concurrency 100",
      ]),
    );
    rows.push(
      ...rowsOf(
        await measureGraphile(server.url, peer, "tuned"),
        "graphile-worker",
        [
          "concurrency 10, local queue 500, batched completion",
          "concurrency 100, local queue 500, batched completion",
        ],
      ),
    );
    rows.push(
      ...rowsOf(
        await measureGraphile(server.url, slow, "default"),
        "graphile-worker",
        ["concurrency 10, defaults", "concurrency 100, defaults"],
      ),
    );
    const bossSizes = {
      enqueue: peer.enqueue,
      enqueueMany: peer.enqueueMany,
      worker: peer.worker,
      latency: quick ? 10 : 30,
    };
    for (const batch of [10, 1000]) {
      const f = await measurePgBoss(server.url, bossSizes, batch);
      rows.push({
        system: "pg-boss",
        setting: `fetch/complete loop, batch ${batch}, priority off`,
        ...f,
      });
    }
    return rows;
  } finally {
    server.destroy();
  }
}

/** Prints peer rows as a Markdown table. */
export function peerTable(rows: PeerRow[]): string {
  const n = (v: number) =>
    Number.isNaN(v) ? "-" : Math.round(v).toLocaleString("en-US");
  const ms = (v: number) => Number.isNaN(v) ? "-" : v.toFixed(2);
  return [
    "| system | drain setting | enqueue/s | enqueueMany/s | drain jobs/s | start p50 ms | start p99 ms |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((r) =>
      `| ${r.system} | ${r.setting} | ${n(r.enqueue)} | ${n(r.enqueueMany)} | ${
        n(r.drain)
      } | ${ms(r.latencyP50)} | ${ms(r.latencyP99)} |`
    ),
  ].join("\n");
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  console.log(peerTable(await postgresPeerRows({ quick })));
}
