/**
 * The Redis backend's calls: each Backend method (and the schedule, import,
 * flow and limit methods) as its transition, one script call each
 * (transitions.ts; pause, resume and reschedule in transitions_control.ts,
 * clean() in retention.ts, schedules in transitions_schedule.ts, importJobs
 * in transitions_import.ts, flows in transitions_flows.ts, limits in
 * transitions_limits.ts). mod.ts spreads them into the backend.
 *
 * @module
 */

import type {
  Backend,
  BackendImport,
  BackendSchedules,
} from "../../src/backend/interface.ts";
import type { BackendFlows } from "../../src/backend/interface_flows.ts";
import type { BackendLimits } from "../../src/backend/interface_limits.ts";
import type { RedisEvents } from "./events.ts";
import {
  cancelJob,
  claimJobs,
  completeJob,
  enqueueJobs,
  extendLease,
  failJob,
  getJob,
  listJobs,
  readStats,
  releaseJobs,
  removeJob,
  retryJob,
  type Scripts,
  setProgress,
} from "./transitions.ts";
import {
  pausedState,
  rescheduleJob,
  setPaused,
} from "./transitions_control.ts";
import { cleanJobs } from "./retention.ts";
import {
  fireSchedule,
  listSchedules,
  putSchedule,
  removeSchedule,
} from "./transitions_schedule.ts";
import { importJobs } from "./transitions_import.ts";
import {
  cancelFlow,
  enqueueFlow,
  getFlow,
  parentResults,
} from "./transitions_flows.ts";
import { limitCalls } from "./transitions_limits.ts";

/** Every call of the backend but its name, capabilities, listen and close. */
export type BackendCalls =
  & Omit<Backend, "name" | "capabilities" | "listen" | "close">
  & BackendFlows
  & BackendLimits;

/**
 * The calls of a backend over its scripts `s`; an enqueue wakes this
 * process's workers through `events` unless the backend is closed.
 */
export function backendCalls(
  s: Scripts,
  events: RedisEvents,
  isClosed: () => boolean,
): BackendCalls {
  return {
    enqueue: (queue, jobs, { now }) => {
      const stored = enqueueJobs(s, queue, jobs, now);
      if (!isClosed()) events.enqueued(queue, jobs);
      return stored;
    },
    claim: (queue, request) => claimJobs(s, queue, request),
    heartbeat: (queue, lease, { leaseMs, now }) =>
      extendLease(s, queue, lease, now + leaseMs, now),
    update: (queue, lease, change) => setProgress(s, queue, lease, change),
    complete: (queue, lease, result, { now }) =>
      completeJob(s, queue, lease, result, now),
    fail: (queue, lease, failure) => failJob(s, queue, lease, failure),
    release: (queue, leases, { now, runAt }) =>
      releaseJobs(s, queue, leases, now, runAt),
    cancel: (queue, id, { reason, now }) =>
      cancelJob(s, queue, id, reason, now),
    retry: (queue, id, { now }) => retryJob(s, queue, id, now),
    remove: (queue, id, { now }) => removeJob(s, queue, id, now),
    get: (queue, id, { now }) => getJob(s, queue, id, now),
    list: (queue, request) => listJobs(s, queue, request),
    stats: (queue, { now }) => readStats(s, queue, now),
    setPaused: (queue, { type, paused, now }) =>
      setPaused(s, queue, type, paused, now),
    pausedState: (queue, { now }) => pausedState(s, queue, now),
    reschedule: (queue, id, change) => rescheduleJob(s, queue, id, change),
    clean: (queue, request) => cleanJobs(s, queue, request),
    ...scheduleCalls(s),
    ...flowCalls(s),
    ...limitCalls(s),
  };
}

/** The flow calls (SPEC §12). */
function flowCalls(s: Scripts): BackendFlows {
  return {
    enqueueFlow: (queue, flow, { now }) => enqueueFlow(s, queue, flow, now),
    getFlow: (queue, id, { now }) => getFlow(s, queue, id, now),
    cancelFlow: (queue, id, { reason, now }) =>
      cancelFlow(s, queue, id, reason, now),
    parentResults: (queue, id, { now }) => parentResults(s, queue, id, now),
  };
}

/** The schedule calls (put, remove, list, fire) and the import. */
function scheduleCalls(s: Scripts): BackendSchedules & BackendImport {
  return {
    putSchedule: (queue, schedule, { now }) =>
      putSchedule(s, queue, schedule, now),
    removeSchedule: (queue, name, { now }) =>
      removeSchedule(s, queue, name, now),
    listSchedules: (queue, { dueBy, now }) =>
      listSchedules(s, queue, dueBy, now),
    fireSchedule: (queue, fire, { now }) => fireSchedule(s, queue, fire, now),
    importJobs: (queue, jobs, { now }) => importJobs(s, queue, jobs, now),
  };
}
