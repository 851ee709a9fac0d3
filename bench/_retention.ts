/**
 * The retention table of `deno task bench:peers`: on every backend, a worker
 * drain (concurrency 10) with the default retention (complete jobs kept a
 * day, in a removal index) against the same drain with
 * `removeOnComplete: false` (kept, no removal time), in alternating rounds,
 * each keeping its best figure. It shows what retention costs a drain.
 *
 * The rounds alternate which variant goes first (ABBA), and a first round
 * per backend warms the runtime and is not counted: otherwise the variant
 * that always runs first pays for compiling the code both run. The ratio is
 * given of the best figures and as the median of each round's.
 */

import type { QueueOptions } from "../mod.ts";
import { type Subject, subjects } from "./_subjects.ts";
import { alternating, drain, median } from "./_measure.ts";

/** Jobs per drain, by backend (times 3 unless quick). */
const JOBS: Record<string, number> = {
  memory: 50_000,
  sqlite: 20_000,
  redis: 20_000,
  postgres: 10_000,
};

/** One drain on a fresh backend; jobs per second. */
async function once(
  s: Subject,
  jobs: number,
  options: QueueOptions,
): Promise<number> {
  const [backend, close] = await s.open();
  try {
    return await drain(backend, jobs, 10, options);
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
 * @param only The backends to run (all when absent).
 */
export async function retentionTable(
  { quick, rounds, only }: {
    quick: boolean;
    rounds: number;
    only?: string[] | undefined;
  },
): Promise<string> {
  const backends = await subjects();
  const scale = quick ? 1 : 3;
  const lines = [
    "| backend | jobs | default retention (jobs/s) | removeOnComplete: false (jobs/s) | default / false | default / false, median of rounds |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  try {
    for (const s of backends.list) {
      if (only !== undefined && !only.includes(s.name)) continue;
      const jobs = JOBS[s.name]! * scale;
      for (const [, options] of VARIANTS) await once(s, jobs, options);
      const pairs = await alternating(
        rounds,
        (i) => once(s, jobs, VARIANTS[i]![1]),
      );
      const [withDefault, without] = pairs.best;
      const ratios = pairs.rounds.map(([d, f]) => d / f);
      const n = (v: number) => Math.round(v).toLocaleString("en-US");
      lines.push(
        `| ${s.name} | ${n(jobs)} | ${n(withDefault)} | ${n(without)} | ${
          (withDefault / without).toFixed(3)
        } | ${median(ratios).toFixed(3)} |`,
      );
    }
  } finally {
    await backends.close();
  }
  return lines.join("\n");
}
