/**
 * BullMQ on the same workload as bench/_measure.ts, for `deno task
 * bench:peers`: add one at a time, addBulk, drain through a Worker
 * (concurrency 10 and 100) and the time an idle worker takes to start a new
 * job. BullMQ talks to Redis through node-redis here (its ioredis peer is not
 * installed), the same driver jobline uses.
 */

import { createClient } from "redis";
import {
  createNodeRedisClient,
  type Job,
  Queue,
  RedisConnection,
  Worker,
} from "bullmq";
import type { Figures, Sizes } from "./_measure.ts";
import { p50p99 } from "./_measure.ts";
import { sleep } from "../tests/_support/time.ts";

let seq = 0;

/** Runs the workload on BullMQ against the Redis server at `url`. */
export async function measureBullmq(
  url: string,
  sizes: Sizes,
): Promise<Figures> {
  RedisConnection.clientFactory = () => {
    const raw = createClient({ url });
    raw.on("error", () => {});
    return createNodeRedisClient(raw);
  };
  const connection = { url };
  const queues: Queue[] = [];
  const fresh = () => {
    const q = new Queue(`bullbench-${Date.now()}-${++seq}`, { connection });
    queues.push(q);
    return q;
  };
  const rate = async (n: number, run: () => Promise<void>) => {
    const t0 = performance.now();
    await run();
    return n / ((performance.now() - t0) / 1000);
  };
  const fill = async (q: Queue, n: number) => {
    for (let i = 0; i < n; i += 1000) {
      const count = Math.min(1000, n - i);
      await q.addBulk(
        Array.from({ length: count }, (_, j) => ({
          name: "noop",
          data: { i: i + j },
        })),
      );
    }
  };

  const drain = async (n: number, concurrency: number) => {
    const q = fresh();
    await fill(q, n);
    let done = 0;
    let finished!: () => void;
    const all = new Promise<void>((r) => (finished = r));
    const t0 = performance.now();
    const worker = new Worker(q.name, () => Promise.resolve(null), {
      connection,
      concurrency,
    });
    worker.on("completed", () => {
      if (++done === n) finished();
    });
    worker.on("error", () => {});
    await all;
    const result = n / ((performance.now() - t0) / 1000);
    await worker.close();
    return result;
  };

  const latency = async (n: number): Promise<[number, number]> => {
    const q = fresh();
    const samples: number[] = [];
    let started!: () => void;
    const worker = new Worker(q.name, (job: Job) => {
      samples.push(performance.now() - (job.data as { t: number }).t);
      started();
      return Promise.resolve(null);
    }, { connection, concurrency: 1 });
    worker.on("error", () => {});
    await worker.waitUntilReady();
    await sleep(200);
    for (let i = 0; i < n; i++) {
      const next = new Promise<void>((r) => (started = r));
      await q.add("ping", { t: performance.now() });
      await next;
      await sleep(2);
    }
    await worker.close();
    return p50p99(samples);
  };

  try {
    const single = fresh();
    await single.waitUntilReady();
    const enqueue = await rate(sizes.enqueue, async () => {
      for (let i = 0; i < sizes.enqueue; i++) {
        await single.add("noop", { i });
      }
    });
    const batch = fresh();
    await batch.waitUntilReady();
    const enqueueMany = await rate(
      sizes.enqueueMany,
      () => fill(batch, sizes.enqueueMany),
    );
    const worker10 = await drain(sizes.worker, 10);
    const worker100 = await drain(sizes.worker, 100);
    const [latencyP50, latencyP99] = await latency(sizes.latency);
    return {
      backend: "bullmq",
      enqueue,
      enqueueMany,
      claimComplete1: NaN,
      claimComplete10: NaN,
      worker10,
      worker100,
      latencyP50,
      latencyP99,
    };
  } finally {
    for (const q of queues) {
      await q.obliterate({ force: true }).catch(() => {});
      await q.close().catch(() => {});
    }
  }
}
