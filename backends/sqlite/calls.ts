/**
 * The SQLite backend's calls: each Backend method (and the flow and limit
 * methods) as its transition (transitions.ts, transitions_claim.ts,
 * transitions_enqueue.ts, transitions_control.ts, retention.ts for clean,
 * transitions_schedule.ts, transitions_import.ts, transitions_flows.ts,
 * limits.ts for setLimits and getLimits), run in a write transaction or a
 * read of the database (db.ts). mod.ts spreads them into the backend.
 *
 * @module
 */

import type {
  Backend,
  BackendImport,
  BackendSchedules,
  ClaimRequest,
  LeaseRef,
  ListRequest,
  NewJobRecord,
} from "../../src/backend/interface.ts";
import type { BackendFlows } from "../../src/backend/interface_flows.ts";
import type { BackendLimits } from "../../src/backend/interface_limits.ts";
import type { QueueStats } from "../../src/types.ts";
import type { Db } from "./db.ts";
import { enqueueClaimJobs, enqueueJobs } from "./transitions_enqueue.ts";
import {
  cancelJob,
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
import { claimJobs, expireLeases } from "./transitions_claim.ts";
import { LEASES_OUT } from "./sql_claim.ts";
import { batchedComplete } from "./completions.ts";
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
import { getLimits, setLimits } from "./limits.ts";

/** Every call of the backend but its name, capabilities, listen and close. */
export type BackendCalls =
  & Omit<Backend, "name" | "capabilities" | "listen" | "close">
  & BackendFlows
  & BackendLimits;

/** The calls of a backend over `db`. */
export function backendCalls(db: Db): BackendCalls {
  return {
    ...leaseCalls(db),
    ...jobCalls(db),
    ...controlCalls(db),
    ...scheduleCalls(db),
    ...flowCalls(db),
    ...limitCalls(db),
  };
}

type LeaseCalls = Pick<
  Backend,
  "claim" | "heartbeat" | "update" | "complete" | "fail" | "release"
>;

/**
 * The calls a worker makes: claims, and the calls on the jobs it holds. A
 * lease token is a random prefix per claim and the job's sequence: it tells
 * nothing that the job's id or the order of claims would let one guess.
 */
function leaseCalls(db: Db): LeaseCalls {
  return {
    claim(queue, request: ClaimRequest) {
      const token = `${crypto.randomUUID()}.`;
      return db.write(
        queue,
        request.now,
        (tx) => claimJobs(tx, queue, request, token),
      );
    },
    heartbeat(queue, { id, token }, { leaseMs, now }) {
      return db.write(
        queue,
        now,
        (tx) => extendLease(tx, queue, id, token, now + leaseMs),
      );
    },
    update(queue, { id, token }, change) {
      return db.write(
        queue,
        change.now,
        (tx) => setProgress(tx, queue, id, token, change),
      );
    },
    complete: batchedComplete(db),
    fail(queue, { id, token }, failure) {
      return db.write(
        queue,
        failure.now,
        (tx) => failJob(tx, queue, id, token, failure),
      );
    },
    release(queue, leases: readonly LeaseRef[], { now, runAt }) {
      return db.write(
        queue,
        now,
        (tx) => releaseJobs(tx, queue, leases, now, runAt),
      );
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
function jobCalls(db: Db): JobCalls {
  return {
    enqueue(queue, jobs: readonly NewJobRecord[], { now }) {
      return db.write(queue, now, (tx) => enqueueJobs(tx, queue, jobs, now));
    },
    enqueueClaim(queue, jobs, request) {
      const token = `${crypto.randomUUID()}.`;
      return db.write(
        queue,
        request.now,
        (tx) => enqueueClaimJobs(tx, queue, jobs, request, token),
      );
    },
    cancel(queue, id, { reason, now }) {
      return db.write(
        queue,
        now,
        (tx) => cancelJob(tx, queue, id, reason, now),
      );
    },
    retry(queue, id, { now }) {
      return db.write(queue, now, (tx) => retryJob(tx, queue, id, now));
    },
    remove(queue, id, { now }) {
      return db.write(queue, now, (tx) => removeJob(tx, queue, id, now));
    },
    get(queue, id, { now }) {
      return db.read((c) => getJob(c, queue, id, now));
    },
    list(queue, request: ListRequest) {
      return db.read((c) => listJobs(c, queue, request));
    },
    async stats(queue, { now }): Promise<QueueStats> {
      // A lease that ran out counts as what it ends in, as a claim would
      // make it: the expiry is a write, taken only when one has run out,
      // and the counts are read after it commits (some are kept at the end
      // of the transaction: tallies.ts).
      const out = await db.read((c) =>
        c.stmt(LEASES_OUT).get(queue, now)![0] === 1
      );
      if (out) await db.write(queue, now, (tx) => expireLeases(tx, queue, now));
      return await db.read((c) => queueStats(c, queue, now));
    },
  };
}

type ControlCalls = Pick<
  Backend,
  "setPaused" | "pausedState" | "reschedule" | "clean"
>;

/** The flow-control calls: pause, resume, reschedule, clean. */
function controlCalls(db: Db): ControlCalls {
  return {
    setPaused(queue, { type, paused, now }) {
      return db.write(
        queue,
        now,
        (tx) => setPaused(tx, queue, type, paused, now),
      );
    },
    pausedState(queue) {
      return db.read((c) => pausedState(c, queue));
    },
    reschedule(queue, id, change) {
      return db.write(
        queue,
        change.now,
        (tx) => rescheduleJob(tx, queue, id, change),
      );
    },
    clean(queue, request) {
      return db.write(
        queue,
        request.now,
        (tx) => cleanJobs(tx, queue, request),
      );
    },
  };
}

type ScheduleCalls = BackendSchedules & BackendImport;

/** The schedule calls (put, remove, list, fire) and the import. */
function scheduleCalls(db: Db): ScheduleCalls {
  return {
    putSchedule: (queue, schedule, { now }) =>
      db.write(queue, now, (tx) => putSchedule(tx, queue, schedule)),
    removeSchedule: (queue, name, { now }) =>
      db.write(queue, now, (tx) => removeSchedule(tx, queue, name)),
    listSchedules: (queue, { dueBy }) =>
      db.read((c) => listSchedules(c, queue, dueBy)),
    fireSchedule: (queue, fire, { now }) =>
      db.write(queue, now, (tx) => fireSchedule(tx, queue, fire, now)),
    importJobs: (queue, jobs, { now }) =>
      db.write(queue, now, (tx) => importJobs(tx, queue, jobs, now)),
  };
}

/** The flow calls (SPEC §12): store, cancel and read flows. */
function flowCalls(db: Db): BackendFlows {
  return {
    enqueueFlow: (queue, { id, jobs }, { now }) =>
      db.write(queue, now, (tx) => enqueueFlow(tx, queue, id, jobs, now)),
    cancelFlow: (queue, id, { reason, now }) =>
      db.write(queue, now, (tx) => cancelFlow(tx, queue, id, reason, now)),
    getFlow: (queue, id, { now }) => db.read((c) => getFlow(c, queue, id, now)),
    parentResults: (queue, id, { now }) =>
      db.read((c) => parentResults(c, queue, id, now)),
  };
}

/** The limit calls (SPEC §7.3): store and read a queue's limits. */
function limitCalls(db: Db): BackendLimits {
  return {
    setLimits: (queue, limits, { now }) =>
      db.write(queue, now, (tx) => setLimits(tx, queue, limits, now)),
    getLimits: (queue) => db.read((c) => getLimits(c, queue)),
  };
}
