/**
 * SQLite rows of `deno task bench`: the shared workload (bench/_measure.ts)
 * on a SQLite file (WAL, synchronous NORMAL) in a temporary directory, and
 * the peer row of Deno KV's own queue on the same workload.
 */

import { sqliteBackend } from "../backends/sqlite/mod.ts";
import { measureDenoKv } from "./_denokv.ts";
import { drain, type Figures, measure, type Sizes } from "./_measure.ts";

/** Workload sizes for SQLite (and for its Deno KV peer, smaller). */
export function sqliteSizes(quick: boolean): Sizes {
  return quick
    ? {
      enqueue: 5_000,
      enqueueMany: 50_000,
      claim: 10_000,
      worker: 20_000,
      latency: 100,
    }
    : {
      enqueue: 20_000,
      enqueueMany: 200_000,
      claim: 30_000,
      worker: 100_000,
      latency: 300,
    };
}

/** Deno KV drains slowly: its sizes (a smaller backlog flatters it). */
export function denoKvSizes(quick: boolean): Sizes {
  return quick
    ? {
      enqueue: 1_000,
      enqueueMany: 5_000,
      claim: 0,
      worker: 2_000,
      latency: 50,
    }
    : {
      enqueue: 2_000,
      enqueueMany: 20_000,
      claim: 0,
      worker: 5_000,
      latency: 100,
    };
}

/** Runs `fn` with a fresh database path in a temporary directory. */
export async function withTempFile<T>(
  fn: (path: string) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "jobline-bench-sqlite-" });
  try {
    return await fn(`${dir}/jobs.db`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The whole workload on a SQLite file (WAL, NORMAL). */
export function measureSqlite(
  sizes: Sizes = sqliteSizes(true),
  label = "sqlite (file, WAL, NORMAL)",
): Promise<Figures> {
  return withTempFile((path) =>
    measure(label, () => sqliteBackend({ path }), sizes)
  );
}

/**
 * Jobs/s of a createWorker (concurrency 10) draining `n` jobs enqueued
 * before, on a SQLite file: the figure the Deno KV comparison uses.
 */
export function drainSqlite(n: number, concurrency = 10): Promise<number> {
  return withTempFile(async (path) => {
    const backend = sqliteBackend({ path });
    try {
      return await drain(backend, n, concurrency);
    } finally {
      await backend.close();
    }
  });
}

/** The rows of `deno task bench`: SQLite, then Deno KV's queue. */
export async function benchRows(
  { quick }: { quick: boolean },
): Promise<Figures[]> {
  const rows = [await measureSqlite(sqliteSizes(quick))];
  try {
    rows.push(await measureDenoKv(denoKvSizes(quick)));
  } catch (err) {
    console.error(`Deno KV peer: skipped: ${err}`);
  }
  return rows;
}
