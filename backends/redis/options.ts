/**
 * The options of the Redis backend: their type, their checks, and the
 * connection they describe (made from a URL, then the backend's to close, or
 * borrowed from the user's node-redis client). Imports no driver: redis.ts
 * passes its factories in.
 *
 * @module
 */

import { ValidationError } from "../../src/errors.ts";
import { invalid } from "../../src/validate.ts";
import {
  type Connection,
  openConnection,
  type RedisClientLike,
  type RedisClusterLike,
  type RedisLike,
} from "./connection.ts";
import { type Drivers, factoryOf, parseRedisUrl } from "./url.ts";

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

/**
 * Checks the options of a new backend (ValidationError on a bad one) and
 * opens the connection they describe; it connects on first use.
 */
export function connectionOf(
  options: RedisBackendOptions,
  drivers: Drivers,
): { prefix: string; conn: Connection } {
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
    return { prefix, conn: openConnection({ client }) };
  }
  const target = url ?? "redis://localhost:6379";
  parseRedisUrl(target);
  const factory = factoryOf(target, clientOptions, connectTimeout, drivers);
  return { prefix, conn: openConnection({ factory }) };
}
