/**
 * The memory backend's retained heap after many short-TTL jobs: 200,000
 * jobs with `ttl: 1` (seconds) are enqueued, claimed with the default 30 s
 * lease and completed; then the clock moves 2 s on, a stats() call lets the
 * backend drop the expired jobs, and the heap is measured after a full GC.
 * Finished jobs are kept until their TTL, so "while live" is the jobs'
 * own size; "after the TTL" must be near zero whatever the lease length
 * (it used to stay at the live size until the old lease deadlines).
 * Run by report.ts (Deno; node:v8 and node:vm give it a GC to call).
 */

import v8 from "node:v8";
import vm from "node:vm";
import process from "node:process";
import { createQueue, memoryBackend } from "../mod.ts";

/** Heap figures in bytes, above the heap used before the run. */
export interface HeapFigures {
  jobs: number;
  /** Heap held while every finished job is within its TTL. */
  live: number;
  /** Heap held once the TTL passed and housekeeping ran. */
  afterTtl: number;
}

function collector(): () => void {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  return () => {
    gc();
    gc();
  };
}

function heapUsed(gc: () => void): number {
  gc();
  return process.memoryUsage().heapUsed;
}

/** Runs `jobs` short-TTL jobs through a memory queue; returns the heap. */
export async function heapAfterShortTtl(jobs: number): Promise<HeapFigures> {
  const gc = collector();
  const base = heapUsed(gc);
  let now = Date.now();
  const queue = createQueue({ backend: memoryBackend(), clock: () => now });
  const chunk = 10_000;
  for (let done = 0; done < jobs; done += chunk) {
    await queue.enqueueMany(
      Array.from({ length: Math.min(chunk, jobs - done) }, (_, i) => ({
        type: "t",
        data: { i: done + i, pad: "x".repeat(64) },
        options: { ttl: 1 },
      })),
    );
    for (
      let claimed = await queue.claimMany(1_000);
      claimed.length > 0;
      claimed = await queue.claimMany(1_000)
    ) {
      await Promise.all(claimed.map((job) => queue.complete(job, null)));
    }
  }
  const live = heapUsed(gc) - base;
  now += 2_000;
  await queue.stats();
  const afterTtl = heapUsed(gc) - base;
  await queue.close();
  return { jobs, live, afterTtl };
}

/** The report's line for the figures. */
export function heapLine(f: HeapFigures): string {
  const mb = (b: number) => `${(Math.max(0, b) / 2 ** 20).toFixed(1)} MB`;
  return `memory backend heap, ${
    f.jobs.toLocaleString("en-US")
  } jobs with ttl 1 s and the default 30 s lease: ${
    mb(f.live)
  } while they live, ${mb(f.afterTtl)} two seconds later`;
}
