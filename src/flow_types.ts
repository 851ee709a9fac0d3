/**
 * The types of the queue's flow calls (SPEC §12): the nodes a flow is made
 * of, what enqueueFlow returns, what getFlow reads, and the calls
 * themselves. Types only; src/flows.ts makes the calls.
 *
 * @module
 */

import type { EnqueueOptions } from "./enqueue_types.ts";
import type { JobStatus } from "./types.ts";

/**
 * One job of a flow: its `ref` (a name unique in the flow, 1 to 128
 * characters of `[A-Za-z0-9_.:-]`), its type and data, the refs it depends
 * on, and its enqueue options (all but `key`, `ttl` and `tx`: a flow is
 * stored whole, and its jobs live until retention removes them).
 *
 * @typeParam D The type of the job's data.
 *
 * @example
 * ```ts
 * import type { FlowNode } from "@jobline/jobline";
 * const thumb: FlowNode = {
 *   ref: "thumb", type: "resize", data: { size: 64 }, dependsOn: ["fetch"],
 * };
 * ```
 */
export interface FlowNode<D = unknown> {
  /** The job's name in the flow, unique in it. */
  ref: string;
  /** The job type. */
  type: string;
  /** The job's data (a JSON value). */
  data: D;
  /**
   * The refs of its parents: it waits (status "waiting") until they have
   * completed. Empty or absent: it starts pending.
   */
  dependsOn?: string[];
  /**
   * When a parent fails for good or is cancelled: "cancel" (the default)
   * cancels this job, and its own dependents in turn; "continue" runs it
   * once every parent has finished, complete or not.
   */
  onParentFailure?: "cancel" | "continue";
  /**
   * Enqueue options. A `delay` counts from the moment its parents have
   * completed.
   */
  options?: FlowJobOptions;
}

/**
 * The enqueue options a job of a flow may have: those of enqueue but `key`,
 * `ttl` and `tx`.
 *
 * @example
 * ```ts
 * import type { FlowJobOptions } from "@jobline/jobline";
 * const o: FlowJobOptions = { priority: "high", maxAttempts: 5, timeout: 60_000 };
 * ```
 */
export type FlowJobOptions = Omit<EnqueueOptions<never>, "key" | "ttl" | "tx">;

/**
 * What enqueueFlow returns: the flow's id and each job's id by ref.
 *
 * @example
 * ```ts
 * import { createQueue } from "@jobline/jobline";
 * await using queue = createQueue();
 * const flow = await queue.enqueueFlow([{ ref: "only", type: "t", data: null }]);
 * console.log(typeof flow.jobs.only); // "string"
 * ```
 */
export interface FlowHandle {
  /** The flow's id. */
  id: string;
  /** Job ids by ref. */
  jobs: Record<string, string>;
}

/**
 * A flow as getFlow reads it: its jobs still stored (retention may have
 * removed some), in the order they were given.
 *
 * @example
 * ```ts
 * import type { FlowState } from "@jobline/jobline";
 * const finished = (f: FlowState): boolean =>
 *   f.jobs.every((j) => j.status === "complete");
 * ```
 */
export interface FlowState {
  /** The flow's id. */
  id: string;
  /** Its jobs. */
  jobs: FlowJobSummary[];
}

/**
 * One job of a {@linkcode FlowState}.
 *
 * @example
 * ```ts
 * import type { FlowJobSummary } from "@jobline/jobline";
 * const line = (j: FlowJobSummary): string =>
 *   `${j.ref} ${j.status} after ${j.dependsOn.join(", ") || "nothing"}`;
 * ```
 */
export interface FlowJobSummary {
  /** Its ref. */
  ref: string;
  /** Its job id. */
  id: string;
  /** Its status now. */
  status: JobStatus;
  /** The refs of its parents. */
  dependsOn: string[];
}

/**
 * The queue's flow calls (SPEC §12).
 *
 * @example Fetch a file, make two sizes of it at once, then send one email
 * ```ts
 * import { createQueue } from "@jobline/jobline";
 * await using queue = createQueue();
 * const flow = await queue.enqueueFlow([
 *   { ref: "fetch", type: "fetch", data: { url: "https://example.com/a.png" } },
 *   { ref: "large", type: "resize", data: { size: 1024 }, dependsOn: ["fetch"] },
 *   { ref: "thumb", type: "resize", data: { size: 64 }, dependsOn: ["fetch"] },
 *   { ref: "notify", type: "email", data: { to: "ada@example.com" }, dependsOn: ["large", "thumb"] },
 * ]);
 * const state = await queue.getFlow(flow.id);
 * console.log(state?.jobs.map((j) => `${j.ref}:${j.status}`).join(" "));
 * // fetch:pending large:waiting thumb:waiting notify:waiting
 * ```
 */
export interface QueueFlows {
  /**
   * Stores a flow of jobs, all or none. Jobs with parents wait (status
   * "waiting") until every parent has completed; in the same atomic step as
   * the last parent's completion they become pending.
   *
   * @returns The flow's id and its jobs' ids by ref.
   * @throws {ValidationError} for an empty list, more than 10,000 jobs, a
   *   duplicate or bad ref, an unknown parent, a cycle, or bad job input;
   *   nothing is stored then.
   */
  enqueueFlow(nodes: readonly FlowNode[]): Promise<FlowHandle>;
  /**
   * Reads a flow in one atomic step.
   *
   * @returns Its stored jobs with their statuses, or null when none is
   *   stored.
   */
  getFlow(id: string): Promise<FlowState | null>;
  /**
   * Cancels every unfinished job of a flow (waiting, pending, processing;
   * running handlers are told to stop), in one atomic step.
   *
   * @param reason Stored as the cancel error's message (default "flow
   *   cancelled").
   * @returns True if any job changed.
   */
  cancelFlow(id: string, reason?: string): Promise<boolean>;
}
