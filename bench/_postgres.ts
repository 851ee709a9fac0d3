/**
 * PostgreSQL rows of `deno task bench`: the shared workload
 * (bench/_measure.ts) on a throwaway PostgreSQL 15 server this file starts on
 * a free port and stops after.
 */

import postgres from "postgres";
import { postgresBackend } from "../backends/postgres/mod.ts";
import { startPostgres } from "../tests/_support/postgres_server.ts";
import { type Figures, measure, type Sizes } from "./_measure.ts";

/** Workload sizes for PostgreSQL. */
export function postgresSizes(quick: boolean): Sizes {
  return quick
    ? {
      enqueue: 2_000,
      enqueueMany: 50_000,
      claim: 5_000,
      worker: 30_000,
      latency: 100,
    }
    : {
      enqueue: 10_000,
      enqueueMany: 200_000,
      claim: 20_000,
      worker: 100_000,
      latency: 300,
    };
}

/**
 * The workload on the PostgreSQL server at `url`, with default settings.
 * Each drain starts on an emptied jobs table (DELETE, so its pages stay
 * allocated), as graphile-worker's does in the peers table (it deletes all
 * its jobs before each drain); pg-boss gives each queue a table of its own.
 */
export async function measurePostgres(
  url: string,
  sizes: Sizes = postgresSizes(true),
  label = "postgres",
): Promise<Figures> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await measure(label, () => postgresBackend({ url }), sizes, {
      beforeDrain: async () => {
        await sql.unsafe("DELETE FROM jobline.jobs");
      },
    });
  } finally {
    await sql.end();
  }
}

/** Starts a PostgreSQL server, measures, stops it. */
export async function benchRows(
  { quick }: { quick: boolean },
): Promise<Figures[]> {
  const server = await startPostgres();
  try {
    return [await measurePostgres(server.url, postgresSizes(quick))];
  } finally {
    server.destroy();
  }
}
