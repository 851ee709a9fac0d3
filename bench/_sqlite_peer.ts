/**
 * The SQLite table of `deno task bench:peers`: jobline's SQLite backend (a
 * file, WAL, synchronous NORMAL) against Deno KV's own queue (a local file,
 * in a child process with `--unstable-kv`), the same number of no-op jobs
 * each, in alternating rounds, each keeping its best figure:
 *
 * - a drain of jobs enqueued before: `createWorker` with concurrency 10
 *   against `listenQueue`;
 * - enqueueing in batches of 1,000 on a fresh file: `enqueueMany` against
 *   an atomic operation of 1,000 `enqueue`s.
 */

import { createQueue } from "../mod.ts";
import { sqliteBackend } from "../backends/sqlite/mod.ts";
import { drainDenoKv, enqueueManyDenoKv } from "./_denokv.ts";
import { fill } from "./_measure.ts";
import { drainSqlite, withTempFile } from "./_sqlite.ts";

/** Jobs/s of `n` jobs enqueued in batches of 1,000 on a fresh SQLite file. */
export function enqueueManySqlite(n: number): Promise<number> {
  return withTempFile(async (path) => {
    const backend = sqliteBackend({ path });
    try {
      await using queue = createQueue({ backend, name: "bench-enqueue" });
      const t0 = performance.now();
      await fill(queue, n);
      return n / ((performance.now() - t0) / 1000);
    } finally {
      await backend.close();
    }
  });
}

/**
 * Runs the table; returns its Markdown.
 *
 * @param quick 20,000 jobs enqueued instead of 50,000 (the drains are of
 *   20,000 jobs either way).
 * @param rounds Alternating rounds.
 */
export async function sqlitePeerTable(
  { quick, rounds }: { quick: boolean; rounds: number },
): Promise<string> {
  const drained = 20_000;
  const enqueued = quick ? 20_000 : 50_000;
  const best = { drain: 0, kvDrain: 0, enqueue: 0, kvEnqueue: 0 };
  for (let r = 0; r < rounds; r++) {
    // Each round runs the two in the other order.
    const pairs: [keyof typeof best, () => Promise<number>][] = [
      ["drain", () => drainSqlite(drained)],
      ["kvDrain", () => drainDenoKv(drained)],
      ["enqueue", () => enqueueManySqlite(enqueued)],
      ["kvEnqueue", () => enqueueManyDenoKv(enqueued)],
    ];
    if (r % 2 === 1) {
      [pairs[0], pairs[1]] = [pairs[1]!, pairs[0]!];
      [pairs[2], pairs[3]] = [pairs[3]!, pairs[2]!];
    }
    for (const [key, run] of pairs) {
      best[key] = Math.max(best[key], await run());
    }
  }
  const f = (v: number) => Math.round(v).toLocaleString("en-US");
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  return [
    "| workload | jobline sqlite (jobs/s) | Deno KV queue (jobs/s) | ratio |",
    "| --- | ---: | ---: | ---: |",
    `| drain of ${f(drained)}: createWorker c=10 / listenQueue | ${
      f(best.drain)
    } | ${f(best.kvDrain)} | ${x(best.drain, best.kvDrain)} |`,
    `| enqueue ${f(enqueued)} in batches of 1,000: enqueueMany / atomic | ${
      f(best.enqueue)
    } | ${f(best.kvEnqueue)} | ${x(best.enqueue, best.kvEnqueue)} |`,
  ].join("\n");
}
