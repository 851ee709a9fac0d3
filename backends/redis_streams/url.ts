/**
 * URLs of the Redis Streams backend: `redis+streams://` (one server),
 * `rediss+streams://` (TLS) and `redis+streams+cluster://` (a Redis
 * Cluster), the Redis backend's URL forms with `+streams` in the scheme.
 * The scheme table (src/schemes.ts) loads this file with the main entry to
 * check URLs when a queue is created, so it must never import the driver,
 * nor any file that does.
 *
 * @module
 */

import { ValidationError } from "../../src/errors.ts";
import { invalid } from "../../src/validate.ts";
import { parseRedisUrl, type RedisTarget } from "../redis/url.ts";

/** The schemes of this backend, and the Redis scheme each stands for. */
export const STREAMS_SCHEMES: Readonly<Record<string, string>> = {
  "redis+streams:": "redis:",
  "rediss+streams:": "rediss:",
  "redis+streams+cluster:": "redis+cluster:",
};

const FORMS =
  "redis+streams://[user[:pass]@]host[:port][/db], rediss+streams://... or redis+streams+cluster://host:port,host:port,...";

/**
 * The Redis URL a Redis Streams URL stands for (`redis+streams://h` is
 * `redis://h`); a Redis URL (`redis://`, `rediss://`, `redis+cluster://`)
 * is returned as it is.
 *
 * @example
 * ```ts
 * import { redisUrlOf } from "./url.ts";
 * console.log(redisUrlOf("redis+streams://localhost:6379/0")); // "redis://localhost:6379/0"
 * ```
 */
export function redisUrlOf(url: string): string {
  const scheme = typeof url === "string"
    ? /^[a-z+]+:/i.exec(url)?.[0]?.toLowerCase()
    : undefined;
  const redis = scheme === undefined ? undefined : STREAMS_SCHEMES[scheme];
  return redis === undefined ? url : redis + url.slice(scheme!.length);
}

/**
 * Checks a Redis Streams URL without connecting.
 *
 * @example
 * ```ts
 * import { parseRedisStreamsUrl } from "./url.ts";
 * console.log(parseRedisStreamsUrl("redis+streams+cluster://a:7000,b:7000").cluster); // true
 * ```
 *
 * @param url The URL: `redis+streams://`, `rediss+streams://` or
 *   `redis+streams+cluster://` (a Redis URL is accepted too).
 * @returns Whether it names a Cluster, and its nodes.
 * @throws {ValidationError} when the URL is malformed.
 */
export function parseRedisStreamsUrl(url: string): RedisTarget {
  try {
    return parseRedisUrl(redisUrlOf(url));
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    throw invalid("create redis-streams backend", "url", FORMS, url);
  }
}
