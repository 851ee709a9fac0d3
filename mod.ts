/**
 * jobline: a job queue for TypeScript. Deno first, runs unchanged on Node
 * and Bun. Enqueue work, run it in workers, watch its progress live, on the
 * embedded memory backend or on SQLite, Redis or PostgreSQL.
 *
 * @example Quick start
 * ```ts
 * import { createQueue, createWorker, subscribe } from "@jobline/jobline";
 *
 * await using queue = createQueue();
 * await using _worker = createWorker(queue, {
 *   resize: async (job, ctx) => {
 *     await ctx.progress(0.5, "half way");
 *     return { width: 640 };
 *   },
 * });
 * const id = await queue.enqueue("resize", { url: "a.png" });
 * for await (const update of subscribe(queue, id)) {
 *   console.log(update.status, update.progress);
 * }
 * ```
 *
 * @module
 */

export { createQueue } from "./src/queue.ts";
export { createWorker } from "./src/worker/mod.ts";
export type {
  Handler,
  Handlers,
  HandleSignalsOptions,
  JobContext,
  Worker,
  WorkerEvents,
  WorkerOptions,
} from "./src/worker/types.ts";
export { subscribe } from "./src/subscribe.ts";
export type { SubscribeOptions } from "./src/subscribe.ts";
export type { WaitForOptions } from "./src/control_types.ts";
export { migrate } from "./src/migrate.ts";
export type {
  MigrateOptions,
  MigrateReport,
  MigrateStatus,
} from "./src/migrate.ts";
export type {
  QueueSchedules,
  Schedule,
  ScheduleJobOptions,
  ScheduleSpec,
} from "./src/schedule_types.ts";
export type {
  CleanOptions,
  QueueControl,
  RemoveOption,
  RescheduleOptions,
} from "./src/control_types.ts";
export type {
  FlowHandle,
  FlowJobOptions,
  FlowJobSummary,
  FlowNode,
  FlowState,
  QueueFlows,
} from "./src/flow_types.ts";
export type {
  LimitRule,
  Limits,
  QueueLimits,
  RateLimit,
} from "./src/limits_types.ts";
export { memoryBackend } from "./backends/memory/mod.ts";
export {
  type BackendScheme,
  backendSchemes,
  registerBackend,
} from "./src/schemes.ts";
export {
  BackendError,
  JoblineError,
  JobNotFoundError,
  LeaseLostError,
  QueueClosedError,
  ValidationError,
} from "./src/errors.ts";
export type { BackoffFn, BackoffOptions } from "./src/backoff.ts";
export type {
  ClaimOptions,
  EnqueueItem,
  EnqueueOptions,
  JobOf,
  JobTypes,
  ListOptions,
  ListPage,
  Queue,
  QueueEvent,
  QueueOptions,
} from "./src/queue_types.ts";
// The Backend interface and its records are types of the public API (a
// queue takes a `backend`); the kit to build one is in "./backend".
export type {
  Backend,
  BackendEvent,
  BackendImport,
  BackendSchedules,
  ClaimRequest,
  CleanRequest,
  EnqueueOutcome,
  ImportOutcome,
  JobRecord,
  KeepRecord,
  KeepRule,
  LeaseRef,
  ListRequest,
  NewJobRecord,
  ScheduleFire,
  ScheduleRecord,
  Topic,
  UpdateRecord,
} from "./src/backend/interface.ts";
export type {
  BackendFlows,
  FlowJobState,
  FlowLink,
  FlowRecord,
  NewFlowJobRecord,
  ParentResult,
} from "./src/backend/interface_flows.ts";
export type { BackendHandOff } from "./src/backend/interface_handoff.ts";
export type { BackendLimits } from "./src/backend/interface_limits.ts";
export type {
  BackendCapabilities,
  ClaimedJob,
  Job,
  JobError,
  JobFlow,
  JobStatus,
  JobUpdate,
  JsonValue,
  Lease,
  Priority,
  QueueStats,
  StatusCounts,
} from "./src/types.ts";
