/**
 * `GET /metrics` in the Prometheus text format (version 0.0.4): the jobs of
 * each queue by status and whether it is paused, read from the queues at
 * each scrape; and the completed and failed totals of the workers of this
 * process that were given to the dashboard (`workers`), counted by their
 * "completed" and "failed" events from the moment it was made. No global
 * state: each dashboard counts its own workers.
 *
 * @module
 */

import type { Worker } from "../worker/types.ts";
import type { QueueSummary } from "./api.ts";
import { statusesOf } from "./api.ts";

/** Counts of the given workers' outcomes. */
export interface WorkerCounters {
  /** Outcome ("completed", "failed", "retried") → count. */
  readonly totals: ReadonlyMap<string, number>;
  /** Stops counting. */
  stop(): void;
}

/**
 * Starts counting the outcomes of some workers: "completed", "failed"
 * (failed for good) and "retried" (an attempt failed, another will come).
 *
 * @param workers The workers.
 * @returns The counters, all zero.
 */
export function countWorkers(workers: readonly Worker[]): WorkerCounters {
  const totals = new Map<string, number>(
    ["completed", "failed", "retried"].map((o) => [o, 0]),
  );
  const add = (outcome: string): void => {
    totals.set(outcome, totals.get(outcome)! + 1);
  };
  const offs = workers.flatMap((w) => [
    w.on("completed", () => add("completed")),
    w.on(
      "failed",
      (_job, _e, retrying) => add(retrying ? "retried" : "failed"),
    ),
  ]);
  return {
    totals,
    stop: () => offs.forEach((off) => off()),
  };
}

/** A label value, escaped as the text format asks. */
function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(
    /\n/g,
    "\\n",
  );
}

/**
 * The metrics text.
 *
 * @param summaries The queues' counts and pause state.
 * @param workers The workers' counters, when the dashboard was given any.
 * @returns The body of `/metrics`.
 */
export function metricsText(
  summaries: readonly QueueSummary[],
  workers: WorkerCounters | null,
): string {
  const lines = [
    "# HELP jobline_jobs Jobs in the queue, by status.",
    "# TYPE jobline_jobs gauge",
  ];
  for (const s of summaries) {
    const counts = s.stats as unknown as Record<string, number>;
    for (const status of statusesOf(s.stats)) {
      lines.push(
        `jobline_jobs{queue="${label(s.name)}",status="${status}"} ${
          counts[status]
        }`,
      );
    }
  }
  lines.push(
    "# HELP jobline_queue_paused 1 when the whole queue is paused, else 0.",
    "# TYPE jobline_queue_paused gauge",
    ...summaries.map((s) =>
      `jobline_queue_paused{queue="${label(s.name)}"} ${s.paused ? 1 : 0}`
    ),
  );
  if (workers !== null) {
    lines.push(
      "# HELP jobline_worker_jobs_total Jobs the workers of this process " +
        "completed, failed for good, or failed and will retry.",
      "# TYPE jobline_worker_jobs_total counter",
      ...[...workers.totals].map(([outcome, n]) =>
        `jobline_worker_jobs_total{outcome="${outcome}"} ${n}`
      ),
    );
  }
  return lines.join("\n") + "\n";
}
