/**
 * The Redis Streams backend, on npm `redis` (node-redis): due jobs flow
 * through one Redis stream per queue and type, read by one consumer group.
 * A job that becomes due is added to its type's stream (XADD); a claim
 * reads it through the group (XREADGROUP), which holds the entry in the
 * group's pending list while the job runs; completing or failing it
 * acknowledges the entry (XACK), which stays in the stream as history
 * until the stream is trimmed (`trimLength`, MAXLEN ~). A job whose
 * lease runs out is delivered again from the pending list (XCLAIM), with
 * the attempt counted. Delayed jobs wait in a sorted set until due.
 *
 * Leases and fencing tokens are the Redis backend's: the lease deadline
 * follows the queue's clock, a stale token gets LeaseLostError. Claims are
 * FIFO by the time jobs became due, across types; priority is stored but
 * ignored (`capabilities.priorities` is false). `replay()` reads a
 * stream's history back (`capabilities.replay`).
 *
 * Every transition is one Lua script that declares every key it touches
 * (lua*.ts): job state lives in per-queue hashes keyed by job id, since a
 * claim learns its jobs' ids only as it reads the streams. Every key of a
 * queue carries the queue's hash tag, so a queue sits in one Cluster slot.
 * Connections and pub/sub events are the Redis backend's
 * (backends/redis/connection.ts, events.ts). This module makes the
 * backend and maps its calls; it is the only file that imports the driver.
 *
 * @module
 */

import { noFlows, noLimits } from "../../src/backend/unsupported.ts";
import { ValidationError } from "../../src/errors.ts";
import { createClient, createCluster } from "redis";
import type {
  Backend,
  BackendImport,
  BackendSchedules,
} from "../../src/backend/interface.ts";
import { backendClosed } from "../../src/backend/closed.ts";
import { toBackendError } from "../../src/errors.ts";
import { redisEvents } from "./events.ts";
import { type RedisStreamsBackendOptions, setupOf } from "./options.ts";
import {
  type ReplayOptions,
  replayStream,
  type StreamEntry,
} from "./replay.ts";
import { cleanJobs } from "./retention.ts";
import { createRunner } from "./scripts.ts";
import {
  claimJobs,
  completeJob,
  createParts,
  enqueueJobs,
  extendLease,
  failJob,
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

export type {
  DriverListener,
  MessageListener,
  RedisClientLike,
  RedisClusterLike,
} from "../redis/driver.ts";
export type { RedisStreamsBackendOptions } from "./options.ts";
export type { ReplayOptions, StreamEntry } from "./replay.ts";

/**
 * The Redis Streams backend: a backend with schedules and import, and a
 * stream history to read back.
 *
 * @example
 * ```ts ignore
 * import { redisStreamsBackend } from "@jobline/jobline/redis-streams";
 * const backend = redisStreamsBackend({ url: "redis+streams://localhost:6379" });
 * const history = await backend.replay("emails", "send", { count: 10 });
 * ```
 */
export interface RedisStreamsBackend
  extends Backend, BackendSchedules, BackendImport {
  /**
   * Reads the history of a queue's stream of one type, oldest first: an
   * entry per time a job of that type became due (its id and data), kept
   * until the stream is trimmed. It claims nothing.
   *
   * @param queue The queue's name.
   * @param type The job type.
   * @param options Where to start (`from` a time, or `after` an entry id)
   *   and how many entries (`count`, default 100).
   * @returns The entries.
   */
  replay(
    queue: string,
    type: string,
    options?: ReplayOptions,
  ): Promise<StreamEntry[]>;
}

/**
 * Makes a Redis Streams backend. It connects on first use; a connection
 * that fails rejects that call with a BackendError, and later calls try
 * again. Jobs are delivered at least once: a job whose worker dies is
 * delivered again after its lease runs out.
 *
 * @example A queue on Redis Streams
 * ```ts ignore
 * import { createQueue, createWorker } from "@jobline/jobline";
 * import { redisStreamsBackend } from "@jobline/jobline/redis-streams";
 *
 * const backend = redisStreamsBackend({ url: "redis+streams://localhost:6379" });
 * const queue = createQueue({ backend, name: "emails" });
 * await queue.enqueue("send", { to: "a@example.com" });
 * const worker = createWorker(queue, { send: async (job) => job.data });
 * await worker.stop();
 * console.log(await backend.replay("emails", "send"));
 * await queue.close();
 * await backend.close();
 * ```
 *
 * @param options Where to connect, under which prefix, and the streams'
 *   trim length.
 * @returns The backend.
 */
export function redisStreamsBackend(
  options: RedisStreamsBackendOptions = {},
): RedisStreamsBackend {
  const setup = setupOf(options, { createClient, createCluster });
  const { conn } = setup;
  let closed = false;
  const r = createRunner({ ...setup, isClosed: () => closed });
  const events = redisEvents(conn, r.ns);
  const p = createParts(r, events);

  return {
    name: "redis-streams",
    capabilities: {
      persistence: true,
      multiProcess: true,
      crossProcessEvents: true,
      clustering: true,
      wakeups: true,
      transactionalEnqueue: false,
      priorities: false,
      replay: true,
      flows: false,
      limits: false,
    },
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
      if (!closed) events.enqueued(queue, jobs);
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

    async listen(queue, topic, listener) {
      if (closed) throw backendClosed("redis-streams");
      try {
        return await events.listen(queue, topic, listener);
      } catch (err) {
        throw toBackendError(err, "redis-streams listen");
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      await conn.close();
    },
  };
}
