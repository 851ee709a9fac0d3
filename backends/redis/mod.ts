/**
 * The Redis backend, on npm `redis` (node-redis): every transition is one Lua
 * script (atomic, one round trip) that also publishes the updates it causes;
 * pub/sub carries updates and wakes idle workers. Every key of a queue lives
 * under `<prefix>:{<queue>}:`, so one queue sits in one Cluster hash slot and
 * two prefixes never see each other's jobs.
 *
 * This module makes the backend, with listen and close; calls.ts maps its
 * other calls to the transitions (transitions.ts). It is the only file
 * that imports the driver. The options are in options.ts, URL forms in url.ts, the scripts in lua*.ts,
 * records in records.ts, connections in connection.ts (the driver's shape
 * in driver.ts), events in events.ts, clean() in retention.ts, schedules
 * in transitions_schedule.ts, importJobs in transitions_import.ts, flows
 * (SPEC §12) in transitions_flows.ts, limits and groups (SPEC §7.3, §7.4)
 * in transitions_limits.ts.
 *
 * @module
 */

import { createClient, createCluster } from "redis";
import type { Backend } from "../../src/backend/interface.ts";
import type { BackendFlows } from "../../src/backend/interface_flows.ts";
import type { BackendLimits } from "../../src/backend/interface_limits.ts";
import { backendClosed } from "../../src/backend/closed.ts";
import { toBackendError } from "../../src/errors.ts";
import { backendCalls } from "./calls.ts";
import { type RedisBackendOptions, setupOf } from "./options.ts";
import { redisEvents } from "./events.ts";
import { createScripts } from "./transitions.ts";

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
  const s = createScripts(conn, ns, () => closed);

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

    ...backendCalls(s, events, () => closed),

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
