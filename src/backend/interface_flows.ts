/**
 * The flow transitions (SPEC §12) a backend implements, and the records they
 * take and return: jobs that wait for other jobs, stored in one step and
 * released in the same atomic step as their last parent's completion.
 *
 * The queue layer validates a flow (refs, cycles, size) and hands the
 * backend each job with its links already resolved to ids; the backend
 * stores, releases, cancels and re-arms. How a backend keeps the links
 * (columns, a table, hashes) is its own business; what it must show is
 * written on each method and on the Backend methods whose behaviour flows
 * extend (complete, fail, claim's lease expiry, cancel, retry, remove,
 * clean, stats, list).
 *
 * @module
 */

import type { JobError } from "../types.ts";
import type { FlowLink, JobRecord, NewJobRecord } from "./records.ts";

export type { FlowLink };

/**
 * One job of a new flow, as {@linkcode BackendFlows.enqueueFlow} takes it:
 * a new job (never with a key or a ttl: the queue layer refuses them), its
 * link, and the ids of the jobs that depend on it.
 *
 * @example
 * ```ts
 * import type { NewFlowJobRecord, NewJobRecord } from "@jobline/jobline/backend";
 * const root = (job: NewJobRecord, child: string): NewFlowJobRecord => ({
 *   ...job,
 *   flow: { id: "01JBXFLOW00000000000000000", ref: "fetch", parents: {}, onParentFailure: "cancel" },
 *   children: [child],
 * });
 * ```
 */
export interface NewFlowJobRecord extends NewJobRecord {
  /** Its place in the flow. */
  flow: FlowLink;
  /** Ids of the jobs of this flow that list it among their parents. */
  children: readonly string[];
}

/**
 * A flow as {@linkcode BackendFlows.getFlow} reads it: the jobs of it that
 * are still stored, in enqueue order.
 *
 * @example
 * ```ts
 * import type { FlowRecord } from "@jobline/jobline/backend";
 * const done = (f: FlowRecord): boolean => f.jobs.every((j) => j.status === "complete");
 * ```
 */
export interface FlowRecord {
  /** The flow's id. */
  id: string;
  /** Its stored jobs, in enqueue order. */
  jobs: FlowJobState[];
}

/**
 * One job of a flow as {@linkcode FlowRecord} shows it.
 *
 * @example
 * ```ts
 * import type { FlowJobState } from "@jobline/jobline/backend";
 * const waiting = (j: FlowJobState): boolean => j.status === "waiting";
 * ```
 */
export interface FlowJobState {
  /** Its ref. */
  ref: string;
  /** Its job id. */
  id: string;
  /** Its status now. */
  status: JobRecord["status"];
  /** Its parents, ref to job id. */
  parents: Record<string, string>;
}

/**
 * What a finished parent left for its dependents
 * ({@linkcode BackendFlows.parentResults}).
 *
 * @example
 * ```ts
 * import type { ParentResult } from "@jobline/jobline/backend";
 * const value = (p: ParentResult): unknown =>
 *   p.status === "complete" ? JSON.parse(p.result!) : { error: p.error };
 * ```
 */
export interface ParentResult {
  /** How it finished. */
  status: "complete" | "failed" | "cancelled";
  /** Its result as JSON text when complete, else null. */
  result: string | null;
  /** Its error when failed or cancelled, else null. */
  error: JobError | null;
}

/**
 * The flow transitions (SPEC §12). Flows also extend these Backend
 * methods, each still one atomic step:
 *
 * - **complete** of a job with dependents: each of them that is waiting
 *   counts one parent fewer; one at zero becomes pending, due at `now` plus
 *   its own delay (`runAt - createdAt` as enqueued), with an update; one
 *   `wake` for all. The parent's result stays readable by
 *   {@linkcode BackendFlows.parentResults} while its flow has unfinished
 *   jobs, whatever its retention does to the job itself.
 * - **fail** for good, **cancel**, and a lease running out on the last
 *   attempt (in claim): each waiting dependent with `onParentFailure`
 *   "cancel" is cancelled (error `{ name: "CancelledError", message:
 *   'parent "<ref>" failed' }`, or `... was cancelled`), its keep rule
 *   applied, remembering which parent cancelled it, and in turn its own
 *   dependents, transitively; one with "continue" counts the parent as
 *   finished (as complete does). The error stays readable by parentResults
 *   as a result does.
 * - **cancel** also cancels a waiting job (with the cascade above).
 * - **retry** of a failed or cancelled flow job puts it back to waiting when
 *   some parent is unfinished, else to pending; then every job cancelled
 *   because of it goes back to waiting (error and completedAt cleared,
 *   counting its unfinished parents, this one among them), transitively.
 * - **remove** of an unfinished flow job cancels it first (with the
 *   cascade), then deletes it.
 * - **clean** of "pending" jobs leaves flow jobs alone.
 * - **stats** counts "waiting"; **list** filters by it; **claim** never
 *   returns a waiting job.
 * - **importJobs** never gets waiting jobs, and stores the others without
 *   their `flow` (the migration does not carry flows).
 *
 * Nothing of a flow outlives its last stored job (no leak per flow).
 *
 * @example
 * ```ts
 * import type { BackendFlows } from "@jobline/jobline/backend";
 * const refs = async (b: BackendFlows, id: string): Promise<string[]> =>
 *   (await b.getFlow("default", id, { now: Date.now() }))?.jobs.map((j) => j.ref) ?? [];
 * ```
 */
export interface BackendFlows {
  /**
   * Stores every job of a flow, or none: a job with parents as "waiting",
   * one without as "pending" (due at its `runAt`). Publishes an update per
   * job (in the order given) and one `wake` when any is pending.
   */
  enqueueFlow(
    queue: string,
    flow: { id: string; jobs: readonly NewFlowJobRecord[] },
    options: { now: number },
  ): Promise<void>;

  /**
   * Reads a flow in one atomic step: its jobs still stored, in enqueue
   * order, with their statuses; null when none is stored.
   */
  getFlow(
    queue: string,
    id: string,
    options: { now: number },
  ): Promise<FlowRecord | null>;

  /**
   * Cancels every waiting, pending or processing job of a flow in one
   * atomic step, as cancel does (error `{ name: "CancelledError", message:
   * reason }`, keep rule applied, a `cancel` event for processing ones).
   *
   * @returns True if any job changed.
   */
  cancelFlow(
    queue: string,
    id: string,
    options: { reason: string; now: number },
  ): Promise<boolean>;

  /**
   * Reads what the finished parents of a job left, keyed by ref: a parent
   * that is unfinished, or whose job and kept result are both gone, is left
   * out. Empty for a job outside any flow or unknown.
   */
  parentResults(
    queue: string,
    id: string,
    options: { now: number },
  ): Promise<Record<string, ParentResult>>;
}
