/**
 * Queue statistics as every backend builds them: zeroed counts per status,
 * and one place that adds a count to the totals and to its type.
 *
 * @module
 */

import type { JobStatus, QueueStats, StatusCounts } from "../types.ts";

/**
 * Counts of every status, all zero.
 *
 * @example
 * ```ts
 * import { emptyCounts } from "@jobline/jobline/backend";
 * console.log(emptyCounts().pending); // 0
 * ```
 *
 * @returns Fresh counts.
 */
export function emptyCounts(): StatusCounts {
  return {
    waiting: 0,
    pending: 0,
    processing: 0,
    complete: 0,
    failed: 0,
    cancelled: 0,
  };
}

/**
 * Empty queue statistics: every count zero, no types.
 *
 * @example
 * ```ts
 * import { countJobs, emptyStats } from "@jobline/jobline/backend";
 * const stats = emptyStats();
 * countJobs(stats, "email", "pending", 2);
 * console.log(stats.pending, stats.byType.email?.pending); // 2 2
 * ```
 *
 * @returns Fresh statistics.
 */
export function emptyStats(): QueueStats {
  return { ...emptyCounts(), byType: {} };
}

/**
 * Adds `n` jobs of one type and status to the totals and to the type's counts.
 *
 * @example
 * ```ts
 * import { countJobs, emptyStats } from "@jobline/jobline/backend";
 * const stats = emptyStats();
 * countJobs(stats, "resize", "failed");
 * console.log(stats.failed); // 1
 * ```
 *
 * @param stats The statistics to add to.
 * @param type The jobs' type.
 * @param status Their status.
 * @param n How many (default 1).
 */
export function countJobs(
  stats: QueueStats,
  type: string,
  status: JobStatus,
  n = 1,
): void {
  stats[status] += n;
  (stats.byType[type] ??= emptyCounts())[status] += n;
}
