/**
 * `deno task bench`: runs the same workload on every backend present and
 * prints one table (jobs/s and the enqueue-to-start latency of an idle
 * worker), with a reference loop measured in the same run so that figures
 * can be read as ratios on a shared, noisy machine; then the memory
 * backend's heap after 200,000 short-TTL jobs (_heap.ts).
 */

import { memoryBackend } from "../mod.ts";
import { type Figures, measure, type Sizes, table } from "./_measure.ts";
import { heapAfterShortTtl, heapLine } from "./_heap.ts";

const quick = Deno.args.includes("--quick");
const only = Deno.args.find((a) => a.startsWith("--only="))?.slice(7).split(
  ",",
);
const want = (name: string) => only === undefined || only.includes(name);

/** A floor for the machine: per job, one JSON round trip and two awaits. */
async function reference(n: number): Promise<number> {
  const items = Array.from({ length: n }, (_, i) => JSON.stringify({ i }));
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 10 }, async () => {
    for (let s = items.pop(); s !== undefined; s = items.pop()) {
      const job = JSON.parse(await Promise.resolve(s));
      await Promise.resolve(JSON.stringify(job));
    }
  }));
  return n / ((performance.now() - t0) / 1000);
}

const memorySizes: Sizes = quick
  ? {
    enqueue: 20_000,
    enqueueMany: 50_000,
    claim: 50_000,
    worker: 50_000,
    latency: 100,
  }
  : {
    enqueue: 100_000,
    enqueueMany: 300_000,
    claim: 300_000,
    worker: 300_000,
    latency: 500,
  };

const rows: Figures[] = [];
const ref = await reference(memorySizes.claim);
if (want("memory")) {
  rows.push(await measure("memory", () => memoryBackend(), memorySizes));
}

for (const extra of ["sqlite", "redis", "postgres"]) {
  if (!want(extra)) continue;
  try {
    const mod = await import(`./_${extra}.ts`);
    if (typeof mod.benchRows === "function") {
      rows.push(...await mod.benchRows({ quick }));
    }
  } catch (err) {
    if (
      err instanceof Error &&
      /Module not found|Cannot find module/.test(err.message)
    ) continue;
    console.error(
      `${extra}: skipped: ${err instanceof Error ? err.message : err}`,
    );
  }
}

console.log(
  `\nreference loop (JSON round trip + 2 awaits per job, 10 loops): ${
    Math.round(ref).toLocaleString("en-US")
  } jobs/s\n`,
);
console.log(table(rows));
console.log("\nAs ratios to the reference loop (higher is better):\n");
for (const r of rows) {
  const x = (v: number) => (v / ref).toFixed(3);
  console.log(
    `- ${r.backend}: claim+complete(10) ${x(r.claimComplete10)}x, worker c=10 ${
      x(r.worker10)
    }x, enqueueMany ${x(r.enqueueMany)}x`,
  );
}
if (want("memory")) {
  console.log(`\n${heapLine(await heapAfterShortTtl(200_000))}`);
}
