/**
 * The options of the Redis Streams backend: their type and checks. The
 * connection and key prefix work as on the Redis backend, whose option
 * code (backends/redis/options.ts) makes them; this adds the stream
 * options and each queue's namespace, `<prefix>:{<queue>}:rs:` (beside a
 * Redis backend queue of the same name and prefix, never in its keys).
 * Imports no driver: mod.ts passes its factories in.
 *
 * @module
 */

import { ValidationError } from "../../src/errors.ts";
import { invalid } from "../../src/validate.ts";
import type { Connection } from "../redis/connection.ts";
import type { RedisClientLike, RedisClusterLike } from "../redis/driver.ts";
import {
  type Drivers,
  type RedisBackendOptions,
  setupOf as redisSetupOf,
} from "../redis/options.ts";
import { parseRedisStreamsUrl, redisUrlOf } from "./url.ts";

/**
 * Options of {@linkcode redisStreamsBackend}. Give `url` or `client`, not
 * both.
 *
 * @example
 * ```ts ignore
 * import type { RedisStreamsBackendOptions } from "@jobline/jobline/redis-streams";
 * const options: RedisStreamsBackendOptions = {
 *   url: "redis+streams://localhost:6379",
 *   trimLength: 100_000,
 * };
 * ```
 */
export interface RedisStreamsBackendOptions {
  /**
   * `redis+streams://[[user]:password@]host[:port][/db]`,
   * `rediss+streams://...` (TLS), or
   * `redis+streams+cluster://[[user]:password@]host:port,host:port,...`
   * for a Redis Cluster. The Redis backend's forms (`redis://`, ...) are
   * accepted too.
   *
   * @default {"redis+streams://localhost:6379"}
   */
  url?: string;
  /**
   * A node-redis client or cluster client of yours, connected or not. It
   * stays yours: close() does not close it.
   */
  client?: RedisClientLike | RedisClusterLike;
  /**
   * The namespace of every key and channel. Must not contain `{` or `}`.
   *
   * @default {"jobline"}
   */
  prefix?: string;
  /**
   * Extra node-redis client options for connections made from `url`.
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
  /**
   * How many entries of history each stream keeps beyond the entries not
   * yet delivered (which a trim never drops). Trimming is approximate
   * (MAXLEN ~, in the call that adds entries): a stream may hold a little
   * more.
   *
   * @default {10000}
   */
  trimLength?: number;
  /**
   * The consumer name under which this backend reads each stream's
   * consumer group ("jobline"). Leases, not consumer names, decide who
   * holds a job; one name for every process keeps the group from growing
   * a consumer per process started.
   *
   * @default {"jobline"}
   */
  consumer?: string;
  /**
   * Makes every script fail on a key it did not declare, as Dragonfly
   * does: for checking that on Redis.
   *
   * @default {false}
   */
  checkKeys?: boolean;
}

/** What the options describe. */
export interface Setup {
  /** The backend's connections, not yet connected. */
  conn: Connection;
  /** A queue's namespace: `<prefix>:{<queue>}:rs:`. */
  ns: (queue: string) => string;
  /** History entries kept per stream. */
  trimLength: number;
  /** The consumer name. */
  consumer: string;
  /** Whether scripts check their keys. */
  checkKeys: boolean;
}

const ACT = "create redis-streams backend";

/** The Redis backend's options among ours. */
function redisOptions(
  options: RedisStreamsBackendOptions,
): RedisBackendOptions {
  const out: RedisBackendOptions = {};
  const { url, client, prefix, clientOptions, connectTimeout } = options;
  if (url !== undefined) {
    parseRedisStreamsUrl(url);
    out.url = redisUrlOf(url);
  }
  if (client !== undefined) out.client = client;
  if (prefix !== undefined) out.prefix = prefix;
  if (clientOptions !== undefined) out.clientOptions = clientOptions;
  if (connectTimeout !== undefined) out.connectTimeout = connectTimeout;
  return out;
}

/**
 * Checks the options of a new backend (ValidationError on a bad one) and
 * sets up what they describe; it connects on first use.
 */
export function setupOf(
  options: RedisStreamsBackendOptions,
  drivers: Drivers,
): Setup {
  if (options === null || typeof options !== "object") {
    throw invalid(ACT, "options", "an object", options);
  }
  const { trimLength = 10_000, consumer = "jobline", checkKeys = false } =
    options;
  if (!Number.isSafeInteger(trimLength) || trimLength < 0) {
    throw invalid(ACT, "trimLength", "a non-negative integer", trimLength);
  }
  if (typeof consumer !== "string" || !/^[^\s]{1,128}$/.test(consumer)) {
    throw invalid(ACT, "consumer", "1 to 128 characters, no spaces", consumer);
  }
  if (typeof checkKeys !== "boolean") {
    throw invalid(ACT, "checkKeys", "a boolean", checkKeys);
  }
  let redis: ReturnType<typeof redisSetupOf>;
  try {
    redis = redisSetupOf(redisOptions(options), drivers);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    throw new ValidationError(
      err.message.replace("create redis backend", ACT),
      { cause: err },
    );
  }
  const made = new Map<string, string>();
  const ns = (queue: string): string => {
    let key = made.get(queue);
    if (key === undefined) made.set(queue, key = `${redis.ns(queue)}rs:`);
    return key;
  };
  return { conn: redis.conn, ns, trimLength, consumer, checkKeys };
}
