/**
 * The conformance suite on the Redis backend: once against a single
 * redis-server and once against a three-master Redis Cluster, both started
 * for this file on free loopback ports and stopped after it.
 */

import { redisBackend } from "../backends/redis/mod.ts";
import { testBackend } from "./conformance/mod.ts";
import { handOffCases } from "./conformance/_handoff.ts";
import {
  type RedisCluster,
  type RedisServer,
  startRedis,
  startRedisCluster,
} from "./_support/redis_server.ts";

let server: RedisServer | undefined;
let cluster: RedisCluster | undefined;

/**
 * Redis has no enqueueClaim: its enqueue wakes the workers of the process
 * as it is sent, so their claim follows it on the same connection.
 */
const skip = Object.fromEntries(handOffCases.map((c) => [
  c.name,
  "no enqueueClaim: an enqueue wakes the process's workers as it is sent",
]));

testBackend({
  name: "redis",
  create: () => redisBackend({ url: server!.url }),
  skip,
  setup: async () => {
    server = await startRedis();
  },
  teardown: async () => {
    await server?.destroy();
  },
});

testBackend({
  name: "redis cluster",
  create: () => redisBackend({ url: cluster!.url }),
  skip,
  setup: async () => {
    cluster = await startRedisCluster();
  },
  teardown: async () => {
    await cluster?.destroy();
  },
});
