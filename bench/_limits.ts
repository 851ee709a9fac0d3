/**
 * The limits table of `deno task bench:peers`: on every backend, a worker
 * drain (concurrency 10) with no limits beside the same drain under
 * `groups: { concurrency: 1 }` with its jobs spread over 1,000 groups, in
 * alternating rounds, each keeping its best figure; and what one claim
 * (with its completion) costs with 1,000 pending jobs against 100,000
 * pending jobs in 10,000 groups, under the same group limit. The drains
 * alternate which goes first (ABBA) after a warm-up pair not counted; the
 * ratio is given of the best figures and as the median of each round's.
 */

import { type Backend, createQueue, type QueueOptions } from "../mod.ts";
import { alternating, drain, median } from "./_measure.ts";
import { type Subject, subjects } from "./_subjects.ts";

/** Jobs per drain, by backend (times 3 unless quick). */
const JOBS: Record<string, number> = {
  memory: 50_000,
  sqlite: 20_000,
  redis: 20_000,
  postgres: 10_000,
};

let seq = 0;

/** Jobs per second of a drain, grouped over `groups` groups (0: none). */
async function drained(s: Subject, jobs: number, groups: number) {
  const [backend, close] = await s.open();
  const options: QueueOptions = {};
  try {
    return await drain(backend, jobs, 10, options, async (queue) => {
      if (groups === 0) return undefined;
      await queue.setLimits({ groups: { concurrency: 1 } });
      return (i: number) => ({ group: `g${i % groups}` });
    });
  } finally {
    await close();
  }
}

/** Mean ms of claim+complete with `pending` jobs in `groups` groups waiting. */
async function claimCost(
  backend: Backend,
  pending: number,
  groups: number,
): Promise<number> {
  const queue = createQueue({ backend, name: `bench-limits-${++seq}` });
  await queue.setLimits({ groups: { concurrency: 1 } });
  for (let i = 0; i < pending; i += 1_000) {
    await queue.enqueueMany(Array.from({ length: 1_000 }, (_, j) => ({
      type: "noop",
      data: null,
      options: { group: `g${(i + j) % groups}` },
    })));
  }
  // 900 of the 1,000 pending: over 300, whether one SQLite WAL checkpoint
  // (a few MB written and synced after the bulk enqueue) fell inside the
  // timed claims was chance, and moved the 100,000 figure by 2x.
  const n = 900;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const job = await queue.claim();
    if (job === null) throw new Error("nothing to claim");
    await queue.complete(job, null);
  }
  const ms = (performance.now() - t0) / n;
  await queue.close();
  return ms;
}

async function cost(s: Subject, pending: number, groups: number) {
  const [backend, close] = await s.open();
  try {
    return await claimCost(backend, pending, groups);
  } finally {
    await close();
  }
}

/**
 * Runs the table; returns its Markdown.
 *
 * @param quick Smaller drains.
 * @param rounds Alternating rounds per variant.
 * @param only The backends to run (all when absent).
 * @param drainsOnly Skip the claim costs.
 */
export async function limitsTable(
  { quick, rounds, only, drainsOnly = false }: {
    quick: boolean;
    rounds: number;
    only?: string[] | undefined;
    drainsOnly?: boolean;
  },
): Promise<string> {
  const backends = await subjects();
  const scale = quick ? 1 : 3;
  const lines = [
    "| backend | no limits (jobs/s) | groups: { concurrency: 1 }, 1,000 groups (jobs/s) | grouped / none | grouped / none, median of rounds | claim, 1,000 pending (ms) | claim, 100,000 pending in 10,000 groups (ms) | 100,000 / 1,000 |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const n = (v: number) => Math.round(v).toLocaleString("en-US");
  /** A figure, or "–" for one not measured (`--drains-only`). */
  const fixed = (v: number, digits: number) =>
    Number.isNaN(v) ? "–" : v.toFixed(digits);
  try {
    for (const s of backends.list) {
      if (only !== undefined && !only.includes(s.name)) continue;
      const jobs = JOBS[s.name]! * scale;
      let small = NaN, large = NaN;
      await drained(s, jobs, 0);
      await drained(s, jobs, 1_000);
      // Variant 0 no limits, 1 grouped; the claim costs after each round.
      const pairs = await alternating(
        rounds,
        (i) => drained(s, jobs, i === 0 ? 0 : 1_000),
        async () => {
          if (drainsOnly) return;
          small = Math.min(small || Infinity, await cost(s, 1_000, 1_000));
          large = Math.min(large || Infinity, await cost(s, 100_000, 10_000));
        },
      );
      const [none, grouped] = pairs.best;
      const ratios = pairs.rounds.map(([n0, g]) => g / n0);
      lines.push(
        `| ${s.name} | ${n(none)} | ${n(grouped)} | ${
          (grouped / none).toFixed(2)
        } | ${median(ratios).toFixed(2)} | ${fixed(small, 3)} | ${
          fixed(large, 3)
        } | ${fixed(large / small, 2)} |`,
      );
    }
  } finally {
    await backends.close();
  }
  return lines.join("\n");
}
