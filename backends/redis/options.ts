/**
 * The options of the Redis backend: their type, their checks, and what they
 * describe: the connection (made from a URL, then the backend's to close, or
 * borrowed from the user's node-redis client) and each queue's key
 * namespace. Imports no driver: mod.ts passes its factories in.
 *
 * @module
 */

import { ValidationError } from "../../src/errors.ts";
import { invalid } from "../../src/validate.ts";
import { type Connection, type Factory, openConnection } from "./connection.ts";
import type { RedisClientLike, RedisClusterLike, RedisLike } from "./driver.ts";
import { parseRedisUrl, type RedisTarget } from "./url.ts";

/**
 * Options of {@linkcode redisBackend}. Give `url` or `client`, not both.
 *
 * @example
 * ```ts ignore
 * import type { RedisBackendOptions } from "@jobline/jobline/redis";
 * const options: RedisBackendOptions = {
 *   url: "redis+cluster://10.0.0.1:6379,10.0.0.2:6379",
 *   prefix: "myapp",
 * };
 * ```
 */
export interface RedisBackendOptions {
  /**
   * `redis://[[user]:password@]host[:port][/db]`, `rediss://...` (TLS), or
   * `redis+cluster://[[user]:password@]host:port,host:port,...` for a Redis
   * Cluster (any reachable nodes; the rest are discovered).
   *
   * @default {"redis://localhost:6379"}
   */
  url?: string;
  /**
   * A node-redis client (`createClient()`) or cluster client
   * (`createCluster()`) of yours, connected or not. It stays yours: close()
   * does not close it. The backend opens one subscriber connection of its
   * own with `duplicate()`.
   */
  client?: RedisClientLike | RedisClusterLike;
  /**
   * The namespace of every key and channel. Queues under different prefixes
   * never see each other's jobs. Must not contain `{` or `}`.
   *
   * @default {"jobline"}
   */
  prefix?: string;
  /**
   * Extra node-redis client options for connections made from `url`
   * (`password`, `socket.tls`, `socket.ca`, `RESP`, ...). On a Cluster they
   * are each node's `defaults`.
   *
   * @default {{}}
   */
  clientOptions?: Record<string, unknown>;
  /**
   * How long (ms) a connection attempt may take.
   *
   * @default {5000}
   */
  connectTimeout?: number;
}

/** The driver's two factories (passed in: only mod.ts imports the driver). */
export interface Drivers {
  createClient(options: Record<string, unknown>): unknown;
  createCluster(
    options: { rootNodes: { url: string }[] } & Record<string, unknown>,
  ): unknown;
}

/** What the options describe. */
export interface Setup {
  /** The backend's connections, not yet connected. */
  conn: Connection;
  /** A queue's namespace: `<prefix>:{<queue>}:`, the prefix of its keys. */
  ns: (queue: string) => string;
}

/**
 * Checks the options of a new backend (ValidationError on a bad one) and
 * sets up what they describe: the connection (it connects on first use) and
 * the key namespaces.
 */
export function setupOf(
  options: RedisBackendOptions,
  drivers: Drivers,
): Setup {
  const act = "create redis backend";
  if (options === null || typeof options !== "object") {
    throw invalid(act, "options", "an object", options);
  }
  const {
    url,
    client,
    prefix = "jobline",
    clientOptions = {},
    connectTimeout = 5_000,
  } = options;
  if (url !== undefined && client !== undefined) {
    throw new ValidationError(
      "Cannot create redis backend with both 'url' and 'client'",
    );
  }
  if (typeof prefix !== "string" || prefix === "" || /[{}]/.test(prefix)) {
    throw invalid(act, "prefix", "a non-empty string without { or }", prefix);
  }
  if (clientOptions === null || typeof clientOptions !== "object") {
    throw invalid(act, "clientOptions", "an object", clientOptions);
  }
  if (
    typeof connectTimeout !== "number" || !Number.isFinite(connectTimeout) ||
    connectTimeout <= 0
  ) {
    throw invalid(act, "connectTimeout", "a positive number", connectTimeout);
  }
  if (client !== undefined) {
    if (
      client === null || typeof client !== "object" ||
      typeof (client as RedisLike).sendCommand !== "function"
    ) {
      throw invalid(act, "client", "a node-redis client or cluster", client);
    }
    return { conn: openConnection({ client }), ns: namespaces(prefix) };
  }
  const target = url ?? "redis://localhost:6379";
  const factory = factoryOf(
    parseRedisUrl(target),
    clientOptions,
    connectTimeout,
    drivers,
  );
  return { conn: openConnection({ factory }), ns: namespaces(prefix) };
}

/** Each queue's namespace under `prefix`, made once per queue. */
function namespaces(prefix: string): (queue: string) => string {
  const made = new Map<string, string>();
  return (queue) => {
    let key = made.get(queue);
    if (key === undefined) {
      key = `${prefix}:{${queue}}:`;
      made.set(queue, key);
    }
    return key;
  };
}

/**
 * How the backend makes its own connections from a URL: one server
 * (`redis://`, `rediss://`) or a Cluster (`redis+cluster://`). They never
 * queue commands while offline, and reconnect as the strategy says.
 */
function factoryOf(
  target: RedisTarget,
  clientOptions: Record<string, unknown>,
  connectTimeout: number,
  { createClient, createCluster }: Drivers,
): Factory {
  const socketOf = (reconnect: (retries: number) => number | false) => ({
    connectTimeout,
    ...(clientOptions.socket as Record<string, unknown> | undefined),
    reconnectStrategy: reconnect,
  });
  const { cluster, nodes, ...auth } = target;
  if (cluster) {
    return {
      cluster: true,
      make: (reconnect) =>
        createCluster({
          rootNodes: nodes,
          defaults: {
            ...auth,
            ...clientOptions,
            socket: socketOf(reconnect),
            disableOfflineQueue: true,
          },
        }) as unknown as RedisLike,
    };
  }
  return {
    cluster: false,
    make: (reconnect) =>
      createClient({
        ...clientOptions,
        url: nodes[0]!.url,
        socket: socketOf(reconnect),
        disableOfflineQueue: true,
      }) as unknown as RedisLike,
  };
}
