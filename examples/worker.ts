/**
 * A worker in its own process, stopped gracefully by `handleSignals`. On
 * SIGTERM (what Kubernetes, systemd and `docker stop` send) or Ctrl-C it
 * stops claiming, lets the running jobs finish (for up to 20 s, then aborts
 * their `ctx.signal`), closes the queue, and the process ends by itself.
 * Jobs come from any other process on the same backend: examples/enqueue.ts.
 *
 * Run: JOBLINE_URL=sqlite://./jobs.db deno run -A examples/worker.ts
 *      (or node / bun examples/worker.ts)
 *
 * @module
 */

import process from "node:process";
import { createQueue, createWorker } from "@jobline/jobline";

type Jobs = { email: { to: string } };

const url = process.env.JOBLINE_URL ?? "sqlite://./jobs.db";
const queue = createQueue<Jobs>(url, { name: "emails" });
const worker = createWorker(queue, {
  email: async (job, ctx) => {
    await ctx.progress(0.5, `sending to ${job.data.to}`);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the real work
    return { sent: true };
  },
}, {
  concurrency: 10,
  // On SIGTERM or Ctrl-C: stop claiming, let the running jobs finish (20 s at
  // most, then abort their ctx.signal), then close the queue.
  handleSignals: {
    timeout: 20_000,
    onStopped: async (signal) => {
      await queue.close();
      console.log(`stopped on ${signal}`);
    },
  },
});
worker.on("completed", (job) => console.log(`sent ${job.id}`));
console.log(`worker ready, pid ${process.pid}`);
