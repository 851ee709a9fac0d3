/**
 * The benchmark workload, the same for every backend: enqueue one at a time,
 * enqueueMany, claim+complete with 1 and 10 concurrent claimers, drain
 * through createWorker (concurrency 10 and 100), and the time an idle worker
 * takes to start a newly enqueued job. Figures are jobs/s and ms.
 */

import {
  type Backend,
  createQueue,
  createWorker,
  type EnqueueOptions,
  type Queue,
  type QueueOptions,
} from "../mod.ts";
import { sleep } from "../tests/_support/time.ts";

/** One backend's figures. */
export interface Figures {
  backend: string;
  enqueue: number;
  enqueueMany: number;
  claimComplete1: number;
  claimComplete10: number;
  worker10: number;
  worker100: number;
  latencyP50: number;
  latencyP99: number;
}

/** How many jobs each part runs. */
export interface Sizes {
  enqueue: number;
  enqueueMany: number;
  claim: number;
  worker: number;
  latency: number;
}

let seq = 0;
function fresh(backend: Backend, options: QueueOptions = {}): Queue {
  return createQueue({
    ...options,
    backend,
    name: `bench-${Date.now()}-${++seq}`,
  });
}

/** Per-job enqueue options of a drain, by the job's number. */
export type OptionsOf = (i: number) => EnqueueOptions;

/** Enqueues `n` no-op jobs in batches of 1,000 (`enqueueMany`). */
export async function fill(
  queue: Queue,
  n: number,
  optionsOf?: OptionsOf,
): Promise<void> {
  for (let i = 0; i < n; i += 1000) {
    const count = Math.min(1000, n - i);
    await queue.enqueueMany(
      Array.from(
        { length: count },
        (_, j) =>
          optionsOf === undefined
            ? { type: "noop", data: { i: i + j } }
            : { type: "noop", data: { i: i + j }, options: optionsOf(i + j) },
      ),
    );
  }
}

/** Jobs per second of `n` jobs done by `run`. */
async function rate(n: number, run: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await run();
  return n / ((performance.now() - t0) / 1000);
}

async function claimComplete(
  backend: Backend,
  n: number,
  claimers: number,
): Promise<number> {
  const queue = fresh(backend);
  await fill(queue, n);
  const result = await rate(n, async () => {
    await Promise.all(Array.from({ length: claimers }, async () => {
      for (;;) {
        const job = await queue.claim();
        if (job === null) return;
        await queue.complete(job, null);
      }
    }));
  });
  await queue.close();
  return result;
}

/** Jobs per second of a createWorker drain of `n` jobs enqueued beforehand. */
export async function drain(
  backend: Backend,
  n: number,
  concurrency: number,
  options: QueueOptions = {},
  setup?: (queue: Queue) => Promise<OptionsOf | undefined>,
): Promise<number> {
  const queue = fresh(backend, options);
  await fill(queue, n, await setup?.(queue));
  let done = 0;
  let finished!: () => void;
  const all = new Promise<void>((r) => (finished = r));
  const t0 = performance.now();
  const worker = createWorker(queue, {
    noop: () => {
      if (++done === n) queueMicrotask(finished);
      return null;
    },
  }, { concurrency });
  await all;
  // Count until the last completion is stored, not just until the handler ran.
  while ((await queue.stats()).complete < n) await sleep(1);
  const seconds = (performance.now() - t0) / 1000;
  await worker.stop();
  await queue.close();
  return n / seconds;
}

async function latency(backend: Backend, n: number): Promise<[number, number]> {
  const queue = fresh(backend);
  const samples: number[] = [];
  let started!: () => void;
  const worker = createWorker(queue, {
    ping: (job) => {
      samples.push(performance.now() - (job.data as { t: number }).t);
      started();
      return null;
    },
  }, { concurrency: 1, pollInterval: 60_000 });
  await sleep(50);
  for (let i = 0; i < n; i++) {
    const next = new Promise<void>((r) => (started = r));
    await queue.enqueue("ping", { t: performance.now() });
    await next;
    await sleep(2); // let the worker finish and go idle again
  }
  await worker.stop();
  await queue.close();
  return p50p99(samples);
}

/**
 * The median of some figures (the mean of the middle two for an even
 * count): of per-round ratios, a figure that one lucky or unlucky round on
 * a noisy machine cannot move, where the best of each variant can.
 */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[mid]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Two variants measured in alternating rounds. */
export interface Pairs {
  /** Each variant's best figure. */
  best: [number, number];
  /** Each round's two figures, run back to back. */
  rounds: [number, number][];
}

/**
 * Runs variants 0 and 1 in `n` rounds, alternating which goes first
 * (ABBA), `between` after each round; keeps each one's best figure and
 * every round's pair.
 */
export async function alternating(
  n: number,
  run: (variant: 0 | 1) => Promise<number>,
  between?: () => Promise<void>,
): Promise<Pairs> {
  const pairs: Pairs = { best: [0, 0], rounds: [] };
  for (let r = 0; r < n; r++) {
    const round: [number, number] = [0, 0];
    for (const i of r % 2 === 0 ? [0, 1] as const : [1, 0] as const) {
      round[i] = await run(i);
      pairs.best[i] = Math.max(pairs.best[i], round[i]);
    }
    pairs.rounds.push(round);
    await between?.();
  }
  return pairs;
}

/** The median and 99th percentile of latency samples in ms (sorts them). */
export function p50p99(samples: number[]): [number, number] {
  samples.sort((a, b) => a - b);
  const at = (p: number) =>
    samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!;
  return [at(0.5), at(0.99)];
}

/** Runs the whole workload on a backend (made fresh for the run, closed after). */
export async function measure(
  name: string,
  makeBackend: () => Backend | Promise<Backend>,
  sizes: Sizes,
  { beforeDrain }: {
    /** Runs before each drain (a peer that empties its table first). */
    beforeDrain?: () => Promise<void>;
  } = {},
): Promise<Figures> {
  const backend = await makeBackend();
  try {
    const single = fresh(backend);
    const enqueue = await rate(sizes.enqueue, async () => {
      for (let i = 0; i < sizes.enqueue; i++) {
        await single.enqueue("noop", { i });
      }
    });
    await single.close();
    const batch = fresh(backend);
    const enqueueMany = await rate(
      sizes.enqueueMany,
      () => fill(batch, sizes.enqueueMany),
    );
    await batch.close();
    const claimComplete1 = await claimComplete(backend, sizes.claim, 1);
    const claimComplete10 = await claimComplete(backend, sizes.claim, 10);
    await beforeDrain?.();
    const worker10 = await drain(backend, sizes.worker, 10);
    await beforeDrain?.();
    const worker100 = await drain(backend, sizes.worker, 100);
    const [latencyP50, latencyP99] = await latency(backend, sizes.latency);
    return {
      backend: name,
      enqueue,
      enqueueMany,
      claimComplete1,
      claimComplete10,
      worker10,
      worker100,
      latencyP50,
      latencyP99,
    };
  } finally {
    await backend.close();
  }
}

/** Prints figures as a Markdown table. */
export function table(rows: Figures[]): string {
  const n = (v: number) => Math.round(v).toLocaleString("en-US");
  const ms = (v: number) => v.toFixed(2);
  const lines = [
    "| backend | enqueue/s | enqueueMany/s | claim+complete/s (1) | claim+complete/s (10) | worker c=10 jobs/s | worker c=100 jobs/s | start p50 ms | start p99 ms |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.backend} | ${n(r.enqueue)} | ${n(r.enqueueMany)} | ${
        n(r.claimComplete1)
      } | ${n(r.claimComplete10)} | ${n(r.worker10)} | ${n(r.worker100)} | ${
        ms(r.latencyP50)
      } | ${ms(r.latencyP99)} |`,
    );
  }
  return lines.join("\n");
}
