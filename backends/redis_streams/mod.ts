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
 * backend, with listen and close; calls.ts maps its other calls. It is
 * the only file that imports the driver.
 *
 * @module
 */

import { createClient, createCluster } from "redis";
import type {
  Backend,
  BackendImport,
  BackendSchedules,
} from "../../src/backend/interface.ts";
import { backendClosed } from "../../src/backend/closed.ts";
import { toBackendError } from "../../src/errors.ts";
import { backendCalls } from "./calls.ts";
import { redisEvents } from "./events.ts";
import { type RedisStreamsBackendOptions, setupOf } from "./options.ts";
import type { ReplayOptions, StreamEntry } from "./replay.ts";
import { createRunner } from "./scripts.ts";
import { createParts } from "./transitions.ts";

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
  const p = createParts(r);

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
    ...backendCalls(r, p, events, () => closed),

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
