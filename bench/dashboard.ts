/**
 * The dashboard on a big SQLite queue (issue 14's acceptance: with 1,000,000
 * jobs the counts and the first page of a job list each answer in under
 * 500 ms). Fills a SQLite file with a million jobs of four types through
 * `enqueueMany` in batches (then completes and fails a few thousand, so
 * every status has jobs), and times, through the dashboard's handler,
 * `GET /api/queues` (the counts), `GET /api/queues/NAME/jobs?status=pending&limit=50`
 * (the first page), the same for "failed" (a rarer status), and the page
 * itself. Prints the median and worst of several runs, in ms.
 *
 *   deno task bench:dashboard [--jobs=1000000] [--runs=7] [--path=FILE]
 *
 * With --path, a file that already holds the jobs is reused.
 *
 * @module
 */

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createQueue } from "../mod.ts";
import { dashboard } from "../src/dashboard/mod.ts";

const arg = (name: string, fallback: string): string =>
  Deno.args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ??
    fallback;
const jobs = Number(arg("jobs", "1000000"));
const runs = Number(arg("runs", "7"));
const given = arg("path", "");
const dir = given ? null : mkdtempSync(join(tmpdir(), "jobline-bench-dash-"));
const path = given || join(dir!, "jobs.db");
const reuse = existsSync(path);

const queue = createQueue(`sqlite://${path}`, { name: "big" });
const types = ["email.send", "image.resize", "report.build", "webhook"];

if (!reuse || (await queue.stats()).pending < jobs / 2) {
  const started = performance.now();
  const batch = 10_000;
  for (let done = 0; done < jobs; done += batch) {
    const n = Math.min(batch, jobs - done);
    await queue.enqueueMany(
      Array.from({ length: n }, (_, i) => ({
        type: types[(done + i) % types.length]!,
        data: { n: done + i, to: `user${done + i}@example.com` },
      })),
    );
  }
  for (let i = 0; i < 5; i++) {
    const claimed = await queue.claimMany(1_000);
    for (const [j, job] of claimed.entries()) {
      if (j % 10 === 0) {
        await queue.fail(job, new Error("no"), { retry: false });
      } else await queue.complete(job, { ok: true });
    }
  }
  const secs = (performance.now() - started) / 1000;
  console.log(
    `filled ${jobs.toLocaleString("en-US")} jobs in ${secs.toFixed(1)} s`,
  );
}

const handler = dashboard({ queues: [queue] });

/** Times one GET through the handler, body read, in ms. */
async function time(url: string): Promise<number> {
  const started = performance.now();
  const res = await handler(new Request(`http://localhost${url}`));
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  return performance.now() - started;
}

const routes: [string, string][] = [
  ["counts: GET /api/queues", "/api/queues"],
  [
    "first page: GET jobs?status=pending&limit=50",
    "/api/queues/big/jobs?status=pending&limit=50",
  ],
  [
    "first page: GET jobs?status=failed&limit=50",
    "/api/queues/big/jobs?status=failed&limit=50",
  ],
  ["the page: GET /?queue=big", "/?queue=big"],
];
console.log(
  `stats: ${
    JSON.stringify(
      await queue.stats(),
      (k, v) => k === "byType" ? undefined : v,
    )
  }`,
);
console.log(
  `| route | median ms | worst ms | (${runs} runs, first included) |`,
);
console.log("| --- | ---: | ---: | --- |");
for (const [label, url] of routes) {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await time(url));
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  console.log(
    `| ${label} | ${median.toFixed(1)} | ${sorted.at(-1)!.toFixed(1)} | first ${
      times[0]!.toFixed(1)
    } |`,
  );
}
await handler.close();
await queue.close();
if (dir !== null) rmSync(dir, { recursive: true, force: true });
