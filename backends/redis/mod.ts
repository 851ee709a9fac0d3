/**
 * The Redis backend, on npm `redis` (node-redis): every transition is one Lua
 * script (atomic, one round trip) that also publishes the updates it causes;
 * pub/sub carries updates and wakes idle workers. Every key of a queue lives
 * under `<prefix>:{<queue>}:`, so one queue sits in one Cluster hash slot and
 * two prefixes never see each other's jobs.
 *
 * This module makes the backend and maps its calls to the transitions
 * (transitions.ts); it is the only file that imports the driver. The
 * options are in options.ts, URL forms in url.ts, the scripts in lua*.ts,
 * records in records.ts, connections in connection.ts (the driver's shape
 * in driver.ts), events in events.ts, clean() in retention.ts, schedules
 * in transitions_schedule.ts, importJobs in transitions_import.ts, flows
 * (SPEC §12) in transitions_flows.ts, limits and groups (SPEC §7.3, §7.4)
 * in transitions_limits.ts.
 *
 * @module
 */

import { createClient, createCluster } from "redis";
import type {
  Backend,
  BackendImport,
  BackendSchedules,
} from "../../src/backend/interface.ts";
import type { BackendFlows } from "../../src/backend/interface_flows.ts";
import type { BackendLimits } from "../../src/backend/interface_limits.ts";
import { backendClosed } from "../../src/backend/closed.ts";
import { toBackendError } from "../../src/errors.ts";
import { type RedisBackendOptions, setupOf } from "./options.ts";
import { redisEvents } from "./events.ts";
import {
  cancelJob,
  claimJobs,
  completeJob,
  createScripts,
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

export type {
  DriverListener,
  MessageListener,
  RedisClientLike,
  RedisClusterLike,
} from "./driver.ts";
export type { RedisBackendOptions } from "./options.ts";

/**
 * Makes a Redis backend. It connects on first use; a connection that fails
 * rejects that call with a BackendError, and later calls try again. Jobs are
 * delivered at least once: a job whose worker dies is run again after its
 * lease runs out.
 *
 * @example A queue on Redis
 * ```ts ignore
 * import { createQueue, createWorker } from "@jobline/jobline";
 * import { redisBackend } from "@jobline/jobline/redis";
 *
 * const backend = redisBackend({ url: "redis://localhost:6379", prefix: "myapp" });
 * const queue = createQueue({ backend, name: "emails" });
 * await queue.enqueue("send", { to: "a@example.com" });
 * const worker = createWorker(queue, { send: async (job) => job.data });
 * await worker.stop();
 * await queue.close();
 * await backend.close();
 * ```
 *
 * @param options Where to connect and under which prefix.
 * @returns The backend.
 */
export function redisBackend(
  options: RedisBackendOptions = {},
): Backend & BackendFlows & BackendLimits {
  const { conn, ns } = setupOf(options, { createClient, createCluster });
  const events = redisEvents(conn, ns);
  let closed = false;
  const s = createScripts(conn, ns, events, () => closed);

  return {
    name: "redis",
    capabilities: {
      persistence: true,
      multiProcess: true,
      crossProcessEvents: true,
      clustering: true,
      wakeups: true,
      transactionalEnqueue: false,
      flows: true,
    },

    enqueue: (queue, jobs, { now }) => {
      const stored = enqueueJobs(s, queue, jobs, now);
      if (!closed) events.enqueued(queue, jobs);
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

    async listen(queue, topic, listener) {
      if (closed) throw backendClosed("redis");
      try {
        return await events.listen(queue, topic, listener);
      } catch (err) {
        throw toBackendError(err, "redis listen");
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      await conn.close();
    },
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
