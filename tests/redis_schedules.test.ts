/**
 * Schedules on Redis beyond the conformance suite: they and their next
 * occurrences survive a restart of a server with appendonly yes (killed,
 * then started on its files); listSchedules({ dueBy }) reads the due index
 * soonest first; and a queue's schedule keys share its hash tag
 * (fireSchedule's compare-and-set is a conformance case). One redis-server
 * per test that needs its own, on free loopback ports.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "redis";
import { redisBackend } from "../backends/redis/mod.ts";
import type { Backend, BackendSchedules } from "../src/backend/interface.ts";
import { createQueue } from "../src/queue.ts";
import { startRedis } from "./_support/redis_server.ts";

const T = Date.parse("2026-06-01T10:15:00.000Z");

/** A Redis backend, typed with the schedule calls it has. */
const open = (url: string): Backend & BackendSchedules =>
  redisBackend({ url, prefix: "sch" }) as Backend & BackendSchedules;

describe("redis schedules", () => {
  test("schedules and their next occurrences survive a restart of a server with appendonly yes", async () => {
    const server = await startRedis({
      appendonly: "yes",
      appendfsync: "always",
    });
    try {
      let now = T;
      const first = open(server.url);
      const queue = createQueue({
        backend: first,
        name: "q",
        clock: () => now,
      });
      await queue.schedule("ping", { every: 30_000, type: "ping", data: 1 });
      await queue.schedule("nightly", {
        cron: "0 3 * * *",
        tz: "Europe/Paris",
        type: "report",
        options: { priority: "high" },
      });
      now += 30_000;
      assert.equal(await queue.runSchedules(), 1, "ping fires once");
      const before = await queue.schedules();
      const records = await first.listSchedules("q", { dueBy: null, now });
      await queue.close();
      await first.close();

      await server.kill(); // no shutdown save: only the AOF keeps them
      await server.start();

      const second = open(server.url);
      const again = createQueue({
        backend: second,
        name: "q",
        clock: () => now,
      });
      assert.deepEqual(await again.schedules(), before);
      assert.deepEqual(
        await second.listSchedules("q", { dueBy: null, now }),
        records,
        "versions too",
      );
      assert.deepEqual(before.map((s) => [s.name, s.nextRunAt]), [
        ["nightly", Date.parse("2026-06-02T01:00:00.000Z")],
        ["ping", T + 60_000],
      ]);
      assert.equal(await again.runSchedules(), 0, "nothing due yet");
      now = T + 60_000;
      assert.equal(await again.runSchedules(), 1);
      assert.deepEqual(
        (await again.list()).jobs.map((j) => [j.type, j.runAt]),
        [["ping", T + 30_000], ["ping", T + 60_000]],
      );
      await again.close();
      await second.close();
    } finally {
      await server.destroy();
    }
  });

  test("listSchedules({ dueBy }) reads the due index soonest first, and the keys share the queue's hash tag", async () => {
    const server = await startRedis();
    const backend = open(server.url);
    const client = createClient({ url: server.url });
    client.on("error", () => {});
    try {
      const now = T;
      for (const [name, at] of [["c", 30], ["a", 20], ["b", 10], ["d", 99]]) {
        await backend.putSchedule("q", {
          name: name as string,
          definition: "{}",
          nextRunAt: T + (at as number),
        }, { now });
      }
      await backend.putSchedule("other", {
        name: "x",
        definition: "{}",
        nextRunAt: T,
      }, { now });
      const due = await backend.listSchedules("q", { dueBy: T + 30, now });
      assert.deepEqual(due.map((s) => s.name), ["b", "a", "c"]);
      const all = await backend.listSchedules("q", { dueBy: null, now });
      assert.deepEqual(all.map((s) => s.name), ["a", "b", "c", "d"]);
      await client.connect();
      const keys = (await client.sendCommand(["KEYS", "*"]) as string[]).sort();
      assert.deepEqual(keys, [
        "sch:{other}:schedules",
        "sch:{other}:schedules:next",
        "sch:{q}:schedules",
        "sch:{q}:schedules:next",
      ]);
      assert.equal(
        Number(
          await client.sendCommand(["ZSCORE", "sch:{q}:schedules:next", "d"]),
        ),
        T + 99,
      );
    } finally {
      await client.close();
      await backend.close();
      await server.destroy();
    }
  });
});
