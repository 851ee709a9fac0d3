/**
 * The child side of the multi-process tests: runs one worker on a queue in
 * this process and speaks the line protocol the parent test reads on
 * stdout (`ready`, then `start <id>` and `done <id>` per job; `error ...` on
 * stderr), and stops gracefully on SIGTERM. Each backend's fixture makes
 * its queue and calls this; it must hold nothing backend-specific.
 *
 * @module
 */

import process from "node:process";
import { createWorker, type Queue } from "../../mod.ts";

/** How the fixture's worker behaves. */
export interface WorkerProcessOptions {
  /** The worker's lease, ms. */
  leaseMs: number;
  /** What each job waits for between its `start` and `done` lines. */
  pause: () => Promise<void>;
}

/**
 * Works `queue` with handlers of type "work" until SIGTERM, reporting each
 * job on stdout. A job's result names this process.
 *
 * @example
 * ```ts ignore
 * import { createQueue } from "../../mod.ts";
 * import { serveWorker } from "../_support/worker_process.ts";
 * import { sleep } from "../_support/time.ts";
 * serveWorker(createQueue("memory://"), { leaseMs: 1_000, pause: () => sleep(10) });
 * ```
 *
 * @param queue The queue, closed on SIGTERM.
 * @param options The lease and each job's pause.
 */
export function serveWorker(
  queue: Queue,
  { leaseMs, pause }: WorkerProcessOptions,
): void {
  const worker = createWorker(queue, {
    work: async (job) => {
      process.stdout.write(`start ${job.id}\n`);
      await pause();
      return { by: process.pid };
    },
  }, { concurrency: 5, leaseMs, pollInterval: 200 });
  worker.on("completed", (job) => process.stdout.write(`done ${job.id}\n`));
  worker.on("error", (err) => process.stderr.write(`error ${err}\n`));
  process.stdout.write("ready\n");
  process.on("SIGTERM", async () => {
    await worker.stop({ timeout: 1000 });
    await queue.close();
    process.exit(0);
  });
}
