/**
 * For authors of backends: the {@linkcode Backend} interface and its records,
 * and the kit every built-in backend is made of (listener registry, batcher,
 * counts, timers, errors, ids), so a new backend is one folder plus one
 * {@linkcode registerBackend} call. Check it with the conformance suite in
 * "@jobline/jobline/testing".
 *
 * @example A backend picked by its own URL scheme
 * ```ts
 * import { registerBackend } from "@jobline/jobline/backend";
 * import { createQueue, memoryBackend } from "@jobline/jobline";
 *
 * registerBackend("scratchpad:", {
 *   parse(url) {
 *     if (url !== "scratchpad:") throw new TypeError(`unknown URL ${url}`);
 *   },
 *   load: () => Promise.resolve(memoryBackend()),
 * });
 * await using queue = createQueue("scratchpad:");
 * console.log((await queue.stats()).pending); // 0
 * ```
 *
 * @module
 */

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
} from "./interface.ts";
export type {
  BackendFlows,
  FlowJobState,
  FlowLink,
  FlowRecord,
  NewFlowJobRecord,
  ParentResult,
} from "./interface_flows.ts";
export type { BackendHandOff } from "./interface_handoff.ts";
export type { BackendLimits, Limits } from "./interface_limits.ts";
export type {
  BackendCapabilities,
  JobError,
  JobStatus,
  Lease,
  QueueStats,
  StatusCounts,
} from "../types.ts";
export {
  type Channel,
  channelOf,
  createListeners,
  type Listener,
  type Listeners,
} from "./listeners.ts";
export { type Batcher, batcher, type BatcherOptions } from "./batch.ts";
export { countJobs, emptyCounts, emptyStats } from "./counts.ts";
export { unrefTimer } from "./timers.ts";
export { backendClosed } from "./closed.ts";
export { noFlows, noLimits } from "./unsupported.ts";
export { checkImported } from "./import_check.ts";
export { pausedStateOf, QUEUE_PAUSED } from "./paused.ts";
export {
  BackendError,
  JoblineError,
  LeaseLostError,
  toBackendError,
  ValidationError,
} from "../errors.ts";
export { newId } from "../id.ts";
export { updateRecordOf } from "../codec.ts";
export {
  type BackendScheme,
  backendSchemes,
  registerBackend,
} from "../schemes.ts";
