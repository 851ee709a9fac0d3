/**
 * The options and report of `migrate` (migrate.ts, SPEC §10), apart so
 * that migrate_checks.ts reads them without importing the run.
 *
 * @module
 */

import type { Queue } from "./queue_types.ts";
import type { JobStatus } from "./types.ts";

/**
 * The statuses migrate can copy: all but "processing" and "waiting" (a
 * flow's links do not move: its waiting jobs stay, and its other jobs are
 * copied as plain jobs).
 */
export type MigrateStatus = Exclude<JobStatus, "processing" | "waiting">;

/**
 * Options of {@linkcode migrate}.
 *
 * @example
 * ```ts
 * import { createQueue, type MigrateOptions } from "@jobline/jobline";
 * const options: MigrateOptions = {
 *   from: createQueue(), to: createQueue(),
 *   statuses: ["pending", "failed"], mode: "copy",
 * };
 * ```
 */
export interface MigrateOptions {
  /** The queue to copy from. */
  from: Queue;
  /** The queue to copy to (its name may differ). */
  to: Queue;
  /**
   * Which jobs: pending (delayed ones too) by default; add finished
   * statuses to bring their history.
   * @default {["pending"]}
   */
  statuses?: MigrateStatus[];
  /**
   * "copy" leaves the source as it is; "move" removes what was copied and
   * verified.
   * @default {"copy"}
   */
  mode?: "copy" | "move";
  /** Called after each batch with the jobs read so far. */
  onProgress?: (progress: { read: number; copied: number }) => void;
  /**
   * Jobs per batch.
   * @default {500}
   */
  batchSize?: number;
}

/**
 * What {@linkcode migrate} did.
 *
 * @example
 * ```ts
 * import type { MigrateReport } from "@jobline/jobline";
 * const ok = (r: MigrateReport): boolean => r.verified && r.error === undefined;
 * ```
 */
export interface MigrateReport {
  /** Jobs the target stored in this run. */
  copied: number;
  /**
   * Jobs not copied: processing or waiting ones, those already there, held
   * keys, a flow's jobs in a move, finished jobs past their keep time.
   */
  skipped: number;
  /** Why, by reason. */
  skippedBy: {
    processing: number;
    waiting: number;
    exists: number;
    keyHeld: number;
    /** In a move: jobs of a flow, left in the source with their flow. */
    flow: number;
    /** Finished jobs past their keep time, which the source removes. */
    expired: number;
  };
  /**
   * True when the target holds every job of this run (copied or already
   * there) exactly as the source does: same count and checksum per status.
   */
  verified: boolean;
  /** Jobs removed from the source ("move"). */
  removed: number;
  /** Counts per status of the jobs checked, source side. */
  byStatus: Partial<Record<MigrateStatus, number>>;
  /**
   * What stopped the run, if it stopped. Before the verification the
   * source is left whole; during the removal of a move, `removed` says how
   * many went (every job was verified in the target: run it again to
   * remove the rest).
   */
  error?: string;
}
