/**
 * The Redis backends (sorted sets and streams) wake their own workers as
 * they send an enqueue: a worker that shares the backend object hears the
 * wake-up before the enqueue's reply (its claim then goes out on the same
 * connection behind the enqueue, one round trip in all), and again when
 * the pub/sub wake-up comes, as workers of other processes do. Against a
 * redis-server started for this file on a free loopback port and stopped
 * after it.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { redisBackend } from "../backends/redis/mod.ts";
import { redisStreamsBackend } from "../backends/redis_streams/mod.ts";
import { createQueue, createWorker } from "../mod.ts";
import type { Backend, BackendEvent } from "../src/backend/interface.ts";
import { fakeClock, wrapClaim } from "./conformance/_context.ts";
import { redisFixture } from "./_support/redis_fixture.ts";
import { sleep, waitFor } from "./_support/time.ts";

const redis = redisFixture((url) => {
  const both: Record<string, Backend> = {
    redis: redisBackend({ url, prefix: "wake" }),
    "redis-streams": redisStreamsBackend({ url, prefix: "wakes" }),
  };
  return {
    both,
    close: async () => {
      for (const b of Object.values(both)) await b.close();
    },
  };
});

let n = 0;

/** A queue of its own on a fake clock, and what its workers hear. */
async function setup(kind: string) {
  const name = `w${++n}`;
  const clock = fakeClock();
  const backend = redis.backend.both[kind]!;
  const queue = createQueue({ backend, name, clock: clock.clock });
  const heard: { event: BackendEvent; replied: boolean }[] = [];
  let replied = false;
  const stop = await backend.listen(
    name,
    "worker",
    (event) => heard.push({ event, replied }),
  );
  return {
    name,
    queue,
    clock,
    heard,
    stop,
    /** Marks the enqueue's reply as come; what is heard after says so. */
    reply: () => void (replied = true),
  };
}

for (const kind of ["redis", "redis-streams"]) {
  describe(`${kind}: an enqueue wakes the backend's own workers`, () => {
    test("the wake-up is heard before the enqueue's reply, then the pub/sub one", async () => {
      const s = await setup(kind);
      try {
        await s.queue.enqueue("t", 1);
        s.reply();
        await waitFor("the pub/sub wake-up", () => s.heard.length >= 2);
        const at = s.clock.now;
        assert.deepEqual(s.heard.map((h) => h.event), [
          { kind: "wake", at }, // as the enqueue went out
          { kind: "wake", at }, // by pub/sub, before or after the reply
        ]);
        assert.equal(s.heard[0]!.replied, false);
      } finally {
        await s.stop();
      }
    });

    test("it is for the earliest run time of the batch, and only for its queue", async () => {
      const s = await setup(kind);
      const other = await setup(kind);
      try {
        await s.queue.enqueueMany([
          { type: "t", data: 1, options: { delay: 5_000 } },
          { type: "t", data: 2, options: { delay: 1_000 } },
        ]);
        s.reply();
        await waitFor("the pub/sub wake-up", () => s.heard.length >= 2);
        const at = s.clock.now + 1_000;
        assert.deepEqual(s.heard.map((h) => h.event), [
          { kind: "wake", at },
          { kind: "wake", at },
        ]);
        assert.equal(s.heard[0]!.replied, false);
        assert.deepEqual(other.heard, []);
        // a batch of none sends nothing and wakes no one
        const backend = redis.backend.both[kind]!;
        await backend.enqueue(s.name, [], { now: s.clock.now });
        assert.equal(s.heard.length, 2);
      } finally {
        await s.stop();
        await other.stop();
      }
    });

    test("an idle worker's first claim after the enqueue finds the job, on a backend just made", async () => {
      // a fresh backend object: its first enqueue goes out before the
      // claim its wake-up sets off, as every later one does
      const url = redis.server.url;
      const fresh = kind === "redis"
        ? redisBackend({ url, prefix: "wake1" })
        : redisStreamsBackend({ url, prefix: "wakes1" });
      let enqueued = false;
      let claims = 0;
      const after: number[] = [];
      const backend = wrapClaim(fresh, async (inner, ...args) => {
        const sent = enqueued;
        const claimed = await inner.claim(...args);
        claims++;
        if (sent) after.push(claimed.length);
        return claimed;
      });
      const queue = createQueue({ backend, name: `w${++n}` });
      const ran: unknown[] = [];
      // a poll interval far beyond the test: only a wake-up starts the job
      const worker = createWorker(queue, {
        t: (job) => void ran.push(job.data),
      }, { concurrency: 4, pollInterval: 600_000 });
      try {
        // its first claim (slow on a backend just made) found none: it waits
        await waitFor("the worker's first claim", () => claims > 0);
        await sleep(50);
        enqueued = true;
        await queue.enqueue("t", "x");
        await waitFor("the job to run", () => ran.length === 1);
        assert.deepEqual(ran, ["x"]);
        assert.equal(after[0], 1, "the first claim after the enqueue took it");
      } finally {
        await worker.stop();
        await queue.close();
        await fresh.close();
      }
    });
  });
}
