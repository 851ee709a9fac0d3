/**
 * The Redis Streams backend's calls: each Backend method, the schedule
 * calls, the import and `replay` as its transition (transitions.ts for
 * what a worker does, transitions_admin.ts for the calls on one job and
 * the reads, transitions_control.ts, retention.ts, transitions_schedule.ts,
 * transitions_import.ts, replay.ts), and flows and limits refused
 * (src/backend/unsupported.ts). mod.ts spreads them into the backend.
 *
 * @module
 */

import type {
  Backend,
  BackendImport,
  BackendSchedules,
} from "../../src/backend/interface.ts";
import { noFlows, noLimits } from "../../src/backend/unsupported.ts";
import { ValidationError } from "../../src/errors.ts";
import type { RedisEvents } from "./events.ts";
import {
  type ReplayOptions,
  replayStream,
  type StreamEntry,
} from "./replay.ts";
import { cleanJobs } from "./retention.ts";
import type { Runner } from "./scripts.ts";
import {
  claimJobs,
  completeJob,
  enqueueJobs,
  extendLease,
  failJob,
  type Parts,
  releaseJobs,
  setProgress,
} from "./transitions.ts";
import {
  cancelJob,
  getJob,
  listJobs,
  readStats,
  removeJob,
  retryJob,
} from "./transitions_admin.ts";
import {
  pausedState,
  rescheduleJob,
  setPaused,
} from "./transitions_control.ts";
import { importJobs } from "./transitions_import.ts";
import {
  fireSchedule,
  listSchedules,
  putSchedule,
  removeSchedule,
} from "./transitions_schedule.ts";

/** Every call of the backend but its name, capabilities, listen and close. */
export type BackendCalls =
  & Omit<Backend, "name" | "capabilities" | "listen" | "close">
  & BackendSchedules
  & BackendImport
  & {
    /** RedisStreamsBackend.replay (mod.ts). */
    replay(
      queue: string,
      type: string,
      options?: ReplayOptions,
    ): Promise<StreamEntry[]>;
  };

/**
 * The calls of a backend over its runner `r` and parts `p`; an enqueue
 * wakes this process's workers through `events` unless the backend is
 * closed.
 */
export function backendCalls(
  r: Runner,
  p: Parts,
  events: RedisEvents,
  isClosed: () => boolean,
): BackendCalls {
  return {
    ...noFlows("redis-streams"),
    ...noLimits("redis-streams"),

    enqueue: (queue, jobs, { now }) => {
      if (jobs.some((j) => j.group !== undefined)) {
        return Promise.reject(
          new ValidationError(
            "Cannot enqueue job with a 'group' as the redis-streams backend has no groups",
          ),
        );
      }
      const stored = enqueueJobs(p, queue, jobs, now);
      if (!isClosed()) events.enqueued(queue, jobs);
      return stored;
    },
    claim: (queue, request) => claimJobs(p, queue, request),
    heartbeat: (queue, lease, { leaseMs, now }) =>
      extendLease(p, queue, lease, now + leaseMs, now),
    update: (queue, lease, change) => setProgress(p, queue, lease, change),
    complete: (queue, lease, result, { now }) =>
      completeJob(p, queue, lease, result, now),
    fail: (queue, lease, failure) => failJob(p, queue, lease, failure),
    release: (queue, leases, { now, runAt }) =>
      releaseJobs(p, queue, leases, now, runAt),
    cancel: (queue, id, { reason, now }) =>
      cancelJob(r, queue, id, reason, now),
    retry: (queue, id, { now }) => retryJob(r, queue, id, now),
    remove: (queue, id, { now }) => removeJob(r, queue, id, now),
    get: (queue, id, { now }) => getJob(r, queue, id, now),
    list: (queue, request) => listJobs(r, queue, request),
    stats: (queue, { now }) => readStats(r, queue, now),
    setPaused: (queue, { type, paused, now }) =>
      setPaused(r, queue, type, paused, now),
    pausedState: (queue, { now }) => pausedState(r, queue, now),
    reschedule: (queue, id, change) => rescheduleJob(r, queue, id, change),
    clean: (queue, request) => cleanJobs(r, queue, request),
    putSchedule: (queue, schedule, { now }) =>
      putSchedule(r, queue, schedule, now),
    removeSchedule: (queue, name, { now }) =>
      removeSchedule(r, queue, name, now),
    listSchedules: (queue, { dueBy, now }) =>
      listSchedules(r, queue, dueBy, now),
    fireSchedule: (queue, fire, { now }) => fireSchedule(r, queue, fire, now),
    importJobs: (queue, jobs, { now }) => importJobs(r, queue, jobs, now),
    replay: (queue, type, options) => replayStream(r, queue, type, options),
  };
}
