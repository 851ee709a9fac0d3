/**
 * pg-boss on the same workload as bench/_measure.ts, for the PostgreSQL
 * peers table: send one at a time, insert in batches of 1,000, drain by
 * fetch({ batchSize }) and complete(ids) in a loop (work() sleeps its polling
 * interval, at least 0.5 s, after every batch, which caps it at batchSize
 * jobs per 0.5 s), and the time an idle work() takes to start a new job
 * (pg-boss polls; its shortest interval is 0.5 s).
 */

import PgBoss from "pg-boss";
import { p50p99 } from "./_measure.ts";
import { sleep } from "../tests/_support/time.ts";

/** pg-boss figures. */
export interface PgBossFigures {
  enqueue: number;
  enqueueMany: number;
  drain: number;
  latencyP50: number;
  latencyP99: number;
}

/** Sizes of a pg-boss run. */
export interface PgBossSizes {
  enqueue: number;
  enqueueMany: number;
  worker: number;
  latency: number;
}

let seq = 0;

/** Runs the workload on pg-boss against the server at `url`. */
export async function measurePgBoss(
  url: string,
  sizes: PgBossSizes,
  batchSize: number,
): Promise<PgBossFigures> {
  const boss = new PgBoss({
    connectionString: url,
    supervise: false,
    schedule: false,
    max: 10,
  });
  boss.on("error", (err: unknown) => console.error("pg-boss:", err));
  await boss.start();
  const fresh = async () => {
    const name = `boss_${Date.now().toString(36)}_${++seq}`;
    await boss.createQueue(name);
    return name;
  };
  const rate = async (n: number, fn: () => Promise<void>) => {
    const t0 = performance.now();
    await fn();
    return n / ((performance.now() - t0) / 1000);
  };
  const fill = async (name: string, n: number) => {
    for (let i = 0; i < n; i += 1000) {
      const count = Math.min(1000, n - i);
      await boss.insert(
        Array.from({ length: count }, (_, j) => ({
          name,
          data: { i: i + j },
        })),
      );
    }
  };
  try {
    const single = await fresh();
    const enqueue = await rate(sizes.enqueue, async () => {
      for (let i = 0; i < sizes.enqueue; i++) await boss.send(single, { i });
    });
    const many = await fresh();
    const enqueueMany = await rate(
      sizes.enqueueMany,
      () => fill(many, sizes.enqueueMany),
    );

    const drainQueue = await fresh();
    await fill(drainQueue, sizes.worker);
    const t0 = performance.now();
    // work() waits its polling interval (at least 0.5 s) after every batch,
    // so a drain at full speed is pg-boss's own fetch/complete loop.
    for (;;) {
      // priority: false is pg-boss's faster fetch (no priority ordering).
      const jobs = await boss.fetch(drainQueue, { batchSize, priority: false });
      if (jobs.length === 0) break;
      await boss.complete(drainQueue, jobs.map((j) => j.id));
    }
    const drain = sizes.worker / ((performance.now() - t0) / 1000);

    const pingQueue = await fresh();
    const samples: number[] = [];
    let started!: () => void;
    await boss.work<{ t: number }>(
      pingQueue,
      { batchSize: 1, pollingIntervalSeconds: 0.5 },
      (jobs) => {
        for (const job of jobs) samples.push(performance.now() - job.data.t);
        started();
        return Promise.resolve();
      },
    );
    await sleep(300);
    for (let i = 0; i < sizes.latency; i++) {
      const next = new Promise<void>((r) => (started = r));
      await boss.send(pingQueue, { t: performance.now() });
      await next;
      await sleep(2);
    }
    const [latencyP50, latencyP99] = p50p99(samples);
    return {
      enqueue,
      enqueueMany,
      drain,
      latencyP50,
      latencyP99,
    };
  } finally {
    await boss.stop({ graceful: false, wait: true, close: true });
  }
}
