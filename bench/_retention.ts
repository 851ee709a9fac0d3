/**
 * The retention table of `deno task bench:peers`: on every backend, a worker
 * drain (concurrency 10) with the default retention (complete jobs kept a
 * day, in a removal index) against the same drain with
 * `removeOnComplete: false` (kept, no removal time), in alternating rounds,
 * each keeping its best figure. It shows what retention costs a drain.
 */

import postgres from "postgres";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Backend, memoryBackend, type QueueOptions } from "../mod.ts";
import { postgresBackend } from "../backends/postgres/mod.ts";
import { redisBackend } from "../backends/redis/mod.ts";
import { sqliteBackend } from "../backends/sqlite/mod.ts";
import { startPostgres } from "../tests/_support/postgres_server.ts";
import { startRedis } from "../tests/_support/redis_server.ts";
import { drain } from "./_measure.ts";

/** One backend of the table. */
interface Subject {
  name: string;
  jobs: number;
  /** Makes a fresh backend for one drain, and what closes it. */
  open(): Promise<[Backend, () => Promise<void>]>;
}

/** One drain on a fresh backend; jobs per second. */
async function once(s: Subject, options: QueueOptions): Promise<number> {
  const [backend, close] = await s.open();
  try {
    return await drain(backend, s.jobs, 10, options);
  } finally {
    await close();
  }
}

const VARIANTS: [string, QueueOptions][] = [
  ["default retention", {}],
  ["removeOnComplete: false", { removeOnComplete: false }],
];

/**
 * Runs the table; returns its Markdown.
 *
 * @param quick Smaller drains.
 * @param rounds Alternating rounds per variant.
 */
export async function retentionTable(
  { quick, rounds }: { quick: boolean; rounds: number },
): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "jobline-bench-retention-"));
  const redis = await startRedis();
  const pg = await startPostgres();
  const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  let file = 0;
  const scale = quick ? 1 : 3;
  const subjects: Subject[] = [
    {
      name: "memory",
      jobs: 50_000 * scale,
      open: () => {
        const b = memoryBackend();
        return Promise.resolve([b, () => b.close()]);
      },
    },
    {
      name: "sqlite",
      jobs: 20_000 * scale,
      open: () => {
        const b = sqliteBackend({ path: join(dir, `${++file}.db`) });
        return Promise.resolve([b, () => b.close()]);
      },
    },
    {
      name: "redis",
      jobs: 20_000 * scale,
      open: () => {
        const b = redisBackend({ url: redis.url });
        return Promise.resolve([b, () => b.close()]);
      },
    },
    {
      name: "postgres",
      jobs: 10_000 * scale,
      open: async () => {
        await sql.unsafe("DELETE FROM jobline.jobs").catch(() => {});
        const b = postgresBackend({ url: pg.url });
        return [b, () => b.close()];
      },
    },
  ];
  const lines = [
    "| backend | jobs | default retention (jobs/s) | removeOnComplete: false (jobs/s) | default / false |",
    "| --- | ---: | ---: | ---: | ---: |",
  ];
  try {
    for (const s of subjects) {
      const bestOf = VARIANTS.map(() => 0);
      for (let r = 0; r < rounds; r++) {
        for (const [i, [, options]] of VARIANTS.entries()) {
          bestOf[i] = Math.max(bestOf[i]!, await once(s, options));
        }
      }
      const [withDefault, without] = bestOf as [number, number];
      const n = (v: number) => Math.round(v).toLocaleString("en-US");
      lines.push(
        `| ${s.name} | ${n(s.jobs)} | ${n(withDefault)} | ${n(without)} | ${
          (withDefault / without).toFixed(3)
        } |`,
      );
    }
  } finally {
    await sql.end();
    await redis.destroy();
    pg.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  return lines.join("\n");
}
