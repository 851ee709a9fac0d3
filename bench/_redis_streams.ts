/**
 * Redis Streams rows of the benchmarks: the shared workload
 * (bench/_measure.ts) on the Redis Streams backend, on a server someone
 * else started (the peers table runs it on the Redis backend's server).
 */

import { redisStreamsBackend } from "../backends/redis_streams/mod.ts";
import { type Figures, measure, type Sizes } from "./_measure.ts";

/** The workload on the Redis server at `url`, through the Streams backend. */
export function measureRedisStreams(
  url: string,
  sizes: Sizes,
  label = "jobline (redis-streams)",
): Promise<Figures> {
  return measure(label, () => redisStreamsBackend({ url }), sizes);
}
