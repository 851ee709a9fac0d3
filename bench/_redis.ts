/**
 * Redis rows of `deno task bench`: the shared workload (bench/_measure.ts) on
 * a redis-server this file starts on a free port and stops after.
 */

import { redisBackend } from "../backends/redis/mod.ts";
import { startRedis } from "../tests/_support/redis_server.ts";
import { type Figures, measure, type Sizes } from "./_measure.ts";

/** Workload sizes for Redis. */
export function redisSizes(quick: boolean): Sizes {
  return quick
    ? {
      enqueue: 5_000,
      enqueueMany: 50_000,
      claim: 10_000,
      worker: 30_000,
      latency: 100,
    }
    : {
      enqueue: 20_000,
      enqueueMany: 200_000,
      claim: 30_000,
      worker: 100_000,
      latency: 300,
    };
}

/** The workload on the Redis server at `url`. */
export function measureRedis(
  url: string,
  sizes: Sizes = redisSizes(true),
  label = "redis",
): Promise<Figures> {
  return measure(label, () => redisBackend({ url }), sizes);
}

/** Starts a redis-server, measures, stops it. */
export async function benchRows(
  { quick }: { quick: boolean },
): Promise<Figures[]> {
  const server = await startRedis();
  try {
    return [await measureRedis(server.url, redisSizes(quick))];
  } finally {
    await server.destroy();
  }
}
