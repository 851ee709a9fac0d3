/**
 * The memory backend's calls: each Backend method (and the flow and limit
 * methods) as its transition (transitions.ts, transitions_control.ts,
 * retention.ts for clean, transitions_schedule.ts, transitions_import.ts,
 * transitions_flows.ts, transitions_limits.ts) on the queue's state
 * (heap.ts), a synchronous step returned as a promise. mod.ts spreads them
 * into the backend.
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
import type { State } from "./heap.ts";
import {
  cancelJob,
  claimJobs,
  completeJob,
  enqueueClaimJobs,
  enqueueJobs,
  extendLease,
  failJob,
  getJob,
  listJobs,
  queueStats,
  releaseJobs,
  removeJob,
  retryJob,
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
import { setLimits } from "./transitions_limits.ts";

/** Every call of the backend but its name, capabilities, listen and close. */
export type BackendCalls =
  & Omit<Backend, "name" | "capabilities" | "listen" | "close">
  & BackendFlows
  & BackendLimits;

/** The calls of a backend whose queues' states `state` gives. */
export function backendCalls(state: (queue: string) => State): BackendCalls {
  return {
    ...leaseCalls(state),
    ...jobCalls(state),
    ...controlCalls(state),
    ...scheduleCalls(state),
    ...flowCalls(state),
    ...limitCalls(state),
  };
}

type LeaseCalls = Pick<
  Backend,
  "claim" | "heartbeat" | "update" | "complete" | "fail" | "release"
>;

/** The calls a worker makes: claims, and the calls on the jobs it holds. */
function leaseCalls(state: (queue: string) => State): LeaseCalls {
  return {
    claim(queue, request) {
      return Promise.resolve(claimJobs(state(queue), request));
    },
    heartbeat(queue, ref, { leaseMs, now }) {
      try {
        return Promise.resolve(extendLease(state(queue), ref, leaseMs, now));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    update(queue, ref, change) {
      try {
        return Promise.resolve(setProgress(state(queue), ref, change));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    complete(queue, ref, result, { now }) {
      try {
        return Promise.resolve(completeJob(state(queue), ref, result, now));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    fail(queue, ref, failure) {
      try {
        return Promise.resolve(failJob(state(queue), ref, failure));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    release(queue, refs, { now, runAt }) {
      try {
        return Promise.resolve(releaseJobs(state(queue), refs, now, runAt));
      } catch (err) {
        return Promise.reject(err);
      }
    },
  };
}

type JobCalls = Pick<
  Backend,
  | "enqueue"
  | "enqueueClaim"
  | "cancel"
  | "retry"
  | "remove"
  | "get"
  | "list"
  | "stats"
>;

/** The calls a queue makes on jobs: enqueue, manage, read. */
function jobCalls(state: (queue: string) => State): JobCalls {
  return {
    enqueue(queue, jobs, { now }) {
      return Promise.resolve(enqueueJobs(state(queue), jobs, now));
    },
    enqueueClaim(queue, jobs, request) {
      return Promise.resolve(enqueueClaimJobs(state(queue), jobs, request));
    },
    cancel(queue, id, { reason, now }) {
      try {
        return Promise.resolve(cancelJob(state(queue), id, reason, now));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    retry(queue, id, { now }) {
      try {
        return Promise.resolve(retryJob(state(queue), id, now));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    remove(queue, id, { now }) {
      try {
        return Promise.resolve(removeJob(state(queue), id, now));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    get(queue, id, { now }) {
      try {
        return Promise.resolve(getJob(state(queue), id, now));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    list(queue, request) {
      try {
        return Promise.resolve(listJobs(state(queue), request));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    stats(queue, { now }) {
      try {
        return Promise.resolve(queueStats(state(queue), now));
      } catch (err) {
        return Promise.reject(err);
      }
    },
  };
}

type ControlCalls = Pick<
  Backend,
  "setPaused" | "pausedState" | "reschedule" | "clean"
>;

/** The flow-control calls: pause, resume, reschedule, clean. */
function controlCalls(state: (queue: string) => State): ControlCalls {
  return {
    setPaused(queue, { type, paused, now }) {
      try {
        return Promise.resolve(setPaused(state(queue), type, paused, now));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    pausedState(queue) {
      try {
        return Promise.resolve(pausedState(state(queue)));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    reschedule(queue, id, change) {
      try {
        return Promise.resolve(rescheduleJob(state(queue), id, change));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    clean(queue, request) {
      try {
        return Promise.resolve(cleanJobs(state(queue), request));
      } catch (err) {
        return Promise.reject(err);
      }
    },
  };
}

type ScheduleCalls = BackendSchedules & BackendImport;

/** The schedule calls (put, remove, list, fire) and the import. */
function scheduleCalls(state: (queue: string) => State): ScheduleCalls {
  return {
    putSchedule(queue, schedule) {
      try {
        return Promise.resolve(putSchedule(state(queue), schedule));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    removeSchedule(queue, name) {
      try {
        return Promise.resolve(removeSchedule(state(queue), name));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    listSchedules(queue, { dueBy }) {
      try {
        return Promise.resolve(listSchedules(state(queue), dueBy));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    fireSchedule(queue, fire, { now }) {
      try {
        return Promise.resolve(fireSchedule(state(queue), fire, now));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    importJobs(queue, jobs, { now }) {
      try {
        return Promise.resolve(importJobs(state(queue), jobs, now));
      } catch (err) {
        return Promise.reject(err);
      }
    },
  };
}

/** The flow calls (SPEC §12): store, read, cancel, parents' results. */
function flowCalls(state: (queue: string) => State): BackendFlows {
  return {
    enqueueFlow(queue, flow, { now }) {
      try {
        return Promise.resolve(enqueueFlow(state(queue), flow, now));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    getFlow(queue, id, { now }) {
      try {
        return Promise.resolve(getFlow(state(queue), id, now));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    cancelFlow(queue, id, { reason, now }) {
      try {
        return Promise.resolve(cancelFlow(state(queue), id, reason, now));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    parentResults(queue, id, { now }) {
      try {
        return Promise.resolve(parentResults(state(queue), id, now));
      } catch (err) {
        return Promise.reject(err);
      }
    },
  };
}

/** The limit calls (SPEC §7.3): store and read. */
function limitCalls(state: (queue: string) => State): BackendLimits {
  return {
    setLimits: (queue, limits) => sync(() => setLimits(state(queue), limits)),
    getLimits: (queue) => sync(() => state(queue).limits.limits),
  };
}

/** Runs a synchronous step as a backend call: its value, or its throw, as a promise. */
function sync<T>(step: () => T): Promise<T> {
  try {
    return Promise.resolve(step());
  } catch (err) {
    return Promise.reject(err);
  }
}
