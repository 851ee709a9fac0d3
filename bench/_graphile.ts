/**
 * graphile-worker on the same workload as bench/_measure.ts, for `deno task
 * bench:peers`: addJob one at a time, addJobs in batches of 1,000, drain
 * through a runner (concurrency 10 and 100) and the time an idle runner takes
 * to start a new job. Two presets: graphile-worker's defaults, and "tuned"
 * (a local queue of 500 jobs and batched completion, as its performance
 * guide recommends for high throughput). A drain counts until the last
 * completion is stored (graphile-worker deletes completed jobs).
 */

import { Logger, makeWorkerUtils, run, type Runner } from "graphile-worker";
import type { Figures, Sizes } from "./_measure.ts";
import { p50p99 } from "./_measure.ts";
import { sleep } from "../tests/_support/time.ts";

/** graphile-worker's preset options for a run. */
export type GraphilePreset = "default" | "tuned";

function presetOf(preset: GraphilePreset) {
  return preset === "tuned"
    ? {
      worker: {
        localQueue: { size: 500 },
        completeJobBatchDelay: 0,
        failJobBatchDelay: 0,
      },
    }
    : { worker: {} };
}

/** Runs the workload on graphile-worker against the server at `url`. */
export async function measureGraphile(
  url: string,
  sizes: Sizes,
  preset: GraphilePreset,
  { skipEnqueue = false }: { skipEnqueue?: boolean } = {},
): Promise<Figures> {
  const logger = quietLogger();
  const utils = await makeWorkerUtils({ connectionString: url, logger });
  await utils.migrate();
  const remaining = async (task: string) =>
    await utils.withPgClient(async (client) => {
      const r = await client.query(
        "select count(*)::int as n from graphile_worker._private_jobs j " +
          "join graphile_worker._private_tasks t on t.id = j.task_id " +
          "where t.identifier = $1",
        [task],
      );
      return r.rows[0].n as number;
    });
  const clear = () =>
    utils.withPgClient((client) =>
      client.query("delete from graphile_worker._private_jobs")
    );
  const rate = async (n: number, fn: () => Promise<void>) => {
    const t0 = performance.now();
    await fn();
    return n / ((performance.now() - t0) / 1000);
  };
  const fill = async (task: string, n: number) => {
    for (let i = 0; i < n; i += 1000) {
      const count = Math.min(1000, n - i);
      await utils.addJobs(
        Array.from({ length: count }, (_, j) => ({
          identifier: task,
          payload: { i: i + j },
        })),
      );
    }
  };
  const start = (
    concurrency: number,
    taskList: Record<string, (payload: unknown) => Promise<void>>,
  ): Promise<Runner> =>
    run({
      connectionString: url,
      concurrency,
      noHandleSignals: true,
      pollInterval: 1000,
      logger,
      taskList,
      preset: presetOf(preset),
    });

  const drain = async (n: number, concurrency: number) => {
    await clear();
    await fill("noop", n);
    const t0 = performance.now();
    const runner = await start(concurrency, { noop: async () => {} });
    while ((await remaining("noop")) > 0) await sleep(5);
    const result = n / ((performance.now() - t0) / 1000);
    await runner.stop();
    return result;
  };

  const latency = async (n: number): Promise<[number, number]> => {
    await clear();
    const samples: number[] = [];
    let started!: () => void;
    const runner = await start(1, {
      ping: (payload) => {
        samples.push(performance.now() - (payload as { t: number }).t);
        started();
        return Promise.resolve();
      },
    });
    await sleep(300);
    for (let i = 0; i < n; i++) {
      const next = new Promise<void>((r) => (started = r));
      await utils.addJob("ping", { t: performance.now() });
      await next;
      await sleep(2);
    }
    await runner.stop();
    return p50p99(samples);
  };

  try {
    let enqueue = NaN;
    let enqueueMany = NaN;
    if (!skipEnqueue) {
      await clear();
      enqueue = await rate(sizes.enqueue, async () => {
        for (let i = 0; i < sizes.enqueue; i++) {
          await utils.addJob("single", { i });
        }
      });
      await clear();
      enqueueMany = await rate(
        sizes.enqueueMany,
        () => fill("many", sizes.enqueueMany),
      );
    }
    const worker10 = await drain(sizes.worker, 10);
    const worker100 = await drain(sizes.worker, 100);
    const [latencyP50, latencyP99] = await latency(sizes.latency);
    return {
      backend: `graphile-worker (${preset})`,
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
    await clear().catch(() => {});
    await utils.release();
  }
}

function quietLogger(): Logger {
  return new Logger(() => (level, message) => {
    if (level === "error") console.error("graphile-worker:", message);
  });
}
