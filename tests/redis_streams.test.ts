/**
 * The conformance suite on the Redis Streams backend: once against a
 * single redis-server (with every script checking that it touches only
 * keys it declares, as Dragonfly requires) and once against a three-master
 * Redis Cluster, both started for this file on free loopback ports and
 * stopped after it. Claims ignore priority on this backend (FIFO by due
 * time), so the cases whose subject is priority order are skipped; it
 * stores no flows (`capabilities.flows` is false), so the flow cases are
 * skipped too, and so are the cases of limits and groups, which it has
 * neither (redis_streams_more.test.ts checks that it refuses both).
 */

import { redisStreamsBackend } from "../backends/redis_streams/mod.ts";
import { testBackend } from "./conformance/mod.ts";
import { flowCases } from "./conformance/_flows.ts";
import { flowFailureCases } from "./conformance/_flows_failure.ts";
import { limitCases } from "./conformance/_limits.ts";
import { groupPropertyCases } from "./conformance/_groups_property.ts";
import { groupCases } from "./conformance/_groups.ts";
import { handOffCases } from "./conformance/_handoff.ts";
import {
  type RedisCluster,
  type RedisServer,
  startRedis,
  startRedisCluster,
} from "./_support/redis_server.ts";

let server: RedisServer | undefined;
let cluster: RedisCluster | undefined;

const FIFO = "claims ignore priority here (capabilities.priorities is false)";

/** The cases whose subject is priority order, and why each is skipped. */
const skip: Record<string, string> = {
  "claim() returns the highest priority job first": FIFO,
  "priority names low, normal and high mean 1, 5 and 10":
    `${FIFO}; the names are stored as 1, 5 and 10 (see the streams test)`,
  "claim() with types claims only jobs of those types":
    `${FIFO}: its expected order is by priority (types: see the streams test)`,
  "claimMany() returns up to limit jobs, best first":
    `${FIFO}: "best first" is by priority`,
  "release() puts claimed jobs back to pending as before their claim, in their place in line":
    `${FIFO}: the place in line it checks is by priority`,
  "a delayed job of high priority does not hold back due jobs":
    `${FIFO}: a job due later joins the line behind those due before it`,
  "reschedule() changes priority and keeps the job's FIFO place among equals":
    `${FIFO}: a new priority is stored and changes no place, and a job made due again joins the line then`,
  "random command sequences behave as the reference model (property-based)":
    `${FIFO}: the reference model claims by priority, then enqueue order`,
};
const NO_FLOWS = "this backend stores no flows (capabilities.flows is false)";
for (const c of [...flowCases, ...flowFailureCases]) skip[c.name] = NO_FLOWS;
const NO_LIMITS =
  "this backend has no limits or groups (capabilities.limits is false)";
for (const c of [...limitCases, ...groupCases, ...groupPropertyCases]) {
  skip[c.name] = NO_LIMITS;
}
for (const c of handOffCases) {
  skip[c.name] =
    "no enqueueClaim: an enqueue wakes the process's workers as it is sent";
}

testBackend({
  name: "redis-streams",
  create: () => redisStreamsBackend({ url: server!.url, checkKeys: true }),
  skip,
  setup: async () => {
    server = await startRedis();
  },
  teardown: async () => {
    await server?.destroy();
  },
});

testBackend({
  name: "redis-streams cluster",
  create: () => redisStreamsBackend({ url: cluster!.url }),
  skip,
  setup: async () => {
    cluster = await startRedisCluster();
  },
  teardown: async () => {
    await cluster?.destroy();
  },
});
