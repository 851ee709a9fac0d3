/**
 * The four backends the side-by-side tables of `deno task bench:peers` run
 * on (retention, flows): memory, a SQLite file, a redis-server and a
 * PostgreSQL server, each started here on a free loopback port and stopped
 * by `close`. Every measurement gets a fresh backend (a new file, emptied
 * PostgreSQL tables).
 */

import postgres from "postgres";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Backend, memoryBackend } from "../mod.ts";
import { postgresBackend } from "../backends/postgres/mod.ts";
import { redisBackend } from "../backends/redis/mod.ts";
import { sqliteBackend } from "../backends/sqlite/mod.ts";
import { startPostgres } from "../tests/_support/postgres_server.ts";
import { startRedis } from "../tests/_support/redis_server.ts";

/** One backend of a table. */
export interface Subject {
  name: string;
  /** Makes a fresh backend for one measurement, and what closes it. */
  open(): Promise<[Backend, () => Promise<void>]>;
}

/** The four backends, and what stops their servers. */
export async function subjects(): Promise<
  { list: Subject[]; close(): Promise<void> }
> {
  const dir = mkdtempSync(join(tmpdir(), "jobline-bench-"));
  const redis = await startRedis();
  const pg = await startPostgres();
  const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  let file = 0;
  const list: Subject[] = [
    {
      name: "memory",
      open: () => {
        const b = memoryBackend();
        return Promise.resolve([b, () => b.close()]);
      },
    },
    {
      name: "sqlite",
      open: () => {
        const b = sqliteBackend({ path: join(dir, `${++file}.db`) });
        return Promise.resolve([b, () => b.close()]);
      },
    },
    {
      name: "redis",
      open: () => {
        const b = redisBackend({ url: redis.url });
        return Promise.resolve([b, () => b.close()]);
      },
    },
    {
      name: "postgres",
      open: async () => {
        // TRUNCATE, not DELETE: a DELETE leaves the last run's rows dead in
        // the tables and their indexes for the next run to step over.
        await sql.unsafe(
          "TRUNCATE jobline.jobs, jobline.lanes, jobline.arrivals, jobline.rate_log",
        ).catch(() => {});
        const b = postgresBackend({ url: pg.url });
        return [b, () => b.close()];
      },
    },
  ];
  return {
    list,
    async close() {
      await sql.end();
      await redis.destroy();
      pg.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
