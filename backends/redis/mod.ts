/**
 * The Redis backend, on npm `redis` (node-redis): every transition is one Lua
 * script (atomic, one round trip) that also publishes the updates it causes;
 * pub/sub carries updates and wakes idle workers. Every key of a queue lives
 * under `<prefix>:{<queue>}:`, so one queue sits in one Cluster hash slot and
 * two prefixes never see each other's jobs.
 *
 * This module owns the mapping of backend calls to scripts; the options and
 * their checks are in _redis_options.ts, URL forms in _redis_url.ts, the
 * scripts in _redis_scripts.ts, connections in _redis_conn.ts, listeners in
 * _redis_events.ts.
 *
 * @module
 */

import { createClient, createCluster } from "redis";
import type {
  Backend,
  ClaimRequest,
  EnqueueOutcome,
  JobRecord,
  ListRequest,
} from "../../src/backend/interface.ts";
import {
  BackendError,
  LeaseLostError,
  toBackendError,
} from "../../src/errors.ts";
import type {
  BackendCapabilities,
  QueueStats,
  StatusCounts,
} from "../../src/types.ts";
import { claimedHash, decodeHash, enqueueArgs, recordOf } from "./records.ts";
import { connectionOf, type RedisBackendOptions } from "./options.ts";
import { eventHub } from "./events.ts";
import type { ScriptName } from "./lua.ts";
import { batcher } from "../../src/backend/batch.ts";

export type { RedisClientLike, RedisClusterLike } from "./connection.ts";
export type { RedisBackendOptions } from "./options.ts";

const LIST_BUDGET = 1_000;

function emptyCounts(): StatusCounts {
  return { pending: 0, processing: 0, complete: 0, failed: 0, cancelled: 0 };
}

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
export function redisBackend(options: RedisBackendOptions = {}): Backend {
  const { prefix, conn } = connectionOf(options, {
    createClient,
    createCluster,
  });
  const hub = eventHub(conn);
  const namespaces = new Map<string, string>();
  let closed = false;

  function ns(queue: string): string {
    let key = namespaces.get(queue);
    if (key === undefined) {
      key = `${prefix}:{${queue}}:`;
      namespaces.set(queue, key);
    }
    return key;
  }

  async function run(
    name: ScriptName,
    queue: string,
    args: string[],
  ): Promise<unknown> {
    if (closed) throw new BackendError("redis backend is closed");
    try {
      return await conn.run(name, ns(queue), args);
    } catch (err) {
      throw toBackendError(err, `redis ${name}`);
    }
  }

  /** id, token, result, now */
  type Completion = [string, string, string, string];
  const completions = batcher<Completion>(
    (queue, items) =>
      run("complete", queue, [
        items[0]![3],
        String(items.length),
        ...items.flat(),
      ]),
    (item, reply) => {
      if (reply === 0) throw new LeaseLostError(item[0]);
    },
  );

  function lost(reply: unknown, id: string): void {
    if (reply === 0 || reply === "0") throw new LeaseLostError(id);
  }

  const capabilities: BackendCapabilities = {
    persistence: true,
    multiProcess: true,
    crossProcessEvents: true,
    clustering: true,
    wakeups: true,
    transactionalEnqueue: false,
  };

  return {
    name: "redis",
    capabilities,

    async enqueue(queue, jobs, { now }): Promise<EnqueueOutcome[]> {
      if (jobs.length === 0) return [];
      const reply = await run(
        "enqueue",
        queue,
        enqueueArgs(now, jobs),
      ) as unknown[];
      const out: EnqueueOutcome[] = jobs.map((job) => ({
        id: job.id,
        created: true,
      }));
      for (let i = 0; i + 1 < reply.length; i += 2) {
        out[Number(reply[i])] = { id: String(reply[i + 1]), created: false };
      }
      return out;
    },

    async claim(queue, req: ClaimRequest): Promise<JobRecord[]> {
      const { types, limit, leaseMs, now } = req;
      const args = [
        String(now),
        String(limit),
        String(now + leaseMs),
        String(types?.length ?? 0),
      ];
      if (types !== null) args.push(...types);
      const reply = await run("claim", queue, args) as unknown[];
      const until = now + leaseMs;
      const out: JobRecord[] = [];
      for (const values of reply) {
        const h = claimedHash(values as unknown[]);
        const record = recordOf(h);
        if (record === null) continue;
        // The script returns the job as it was; apply the claim here.
        record.status = "processing";
        record.attempt++;
        record.version++;
        record.startedAt = now;
        record.updatedAt = now;
        record.lease = { token: `${h.q}.${record.version}`, until };
        hub.claimed(ns(queue), record.id, record.version);
        out.push(record);
      }
      return out;
    },

    async heartbeat(queue, ref, { leaseMs, now }) {
      const until = now + leaseMs;
      lost(
        await run("heartbeat", queue, [
          String(now),
          ref.id,
          ref.token,
          String(until),
        ]),
        ref.id,
      );
      return until;
    },

    async update(queue, ref, { progress, message, now }) {
      lost(
        await run("update", queue, [
          String(now),
          ref.id,
          ref.token,
          progress === undefined ? "" : String(progress),
          message === undefined ? "0" : "1",
          message ?? "",
        ]),
        ref.id,
      );
    },

    complete(queue, ref, result, { now }) {
      return completions.add(queue, [ref.id, ref.token, result, String(now)])
        .finally(() => hub.settled(ns(queue), ref.id));
    },

    async fail(queue, ref, { error, retryAt, now }) {
      hub.settled(ns(queue), ref.id);
      const reply = await run("fail", queue, [
        String(now),
        ref.id,
        ref.token,
        JSON.stringify(error),
        retryAt === null ? "" : String(retryAt),
      ]);
      lost(reply, ref.id);
      return String(reply) as "pending" | "failed";
    },

    async release(queue, leases, { now }) {
      if (leases.length === 0) return [];
      const args = [String(now)];
      for (const { id, token } of leases) args.push(id, token);
      const ids = (await run("release", queue, args) as unknown[]).map(String);
      for (const id of ids) hub.settled(ns(queue), id);
      return ids;
    },

    async cancel(queue, id, { reason, now }) {
      const error = JSON.stringify({ name: "CancelledError", message: reason });
      return Number(await run("cancel", queue, [String(now), id, error])) ===
        1;
    },

    async retry(queue, id, { now }) {
      return Number(await run("retry", queue, [String(now), id])) === 1;
    },

    async remove(queue, id, { now }) {
      return Number(await run("remove", queue, [String(now), id])) === 1;
    },

    async get(queue, id, { now }) {
      if (closed) throw new BackendError("redis backend is closed");
      const key = ns(queue);
      let reply: unknown;
      try {
        reply = await conn.send(key, ["HGETALL", `${key}j:${id}`]);
      } catch (err) {
        throw toBackendError(err, "redis get");
      }
      const record = decodeHash(reply);
      if (
        record === null ||
        (record.expiresAt !== null && record.expiresAt <= now)
      ) return null;
      return record;
    },

    async list(queue, req: ListRequest): Promise<JobRecord[]> {
      const { status, type, limit, now } = req;
      const out: JobRecord[] = [];
      let after = req.after ?? "";
      for (;;) {
        const [last, scanned, jobs] = await run("list", queue, [
          String(now),
          after,
          status ?? "",
          type ?? "",
          String(limit - out.length),
          String(LIST_BUDGET),
        ]) as [string, number, unknown[]];
        for (const flat of jobs) {
          const record = decodeHash(flat);
          if (record !== null) out.push(record);
        }
        if (out.length >= limit || Number(scanned) < LIST_BUDGET) return out;
        after = String(last);
      }
    },

    async stats(queue, { now }): Promise<QueueStats> {
      const reply = await run("stats", queue, [String(now)]) as unknown[];
      const stats: QueueStats = { ...emptyCounts(), byType: {} };
      for (let i = 0; i + 1 < reply.length; i += 2) {
        const field = String(reply[i]);
        const n = Number(reply[i + 1]);
        const colon = field.indexOf(":");
        const status = field.slice(0, colon) as keyof StatusCounts;
        if (n === 0 || !(status in stats)) continue;
        stats[status] += n;
        (stats.byType[field.slice(colon + 1)] ??= emptyCounts())[status] += n;
      }
      return stats;
    },

    async listen(queue, topic, listener) {
      if (closed) throw new BackendError("redis backend is closed");
      try {
        return await hub.listen(ns(queue), topic, listener);
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
