/**
 * §4.1 Order and §4.2 atomic claims: priority first, FIFO among equals, the
 * `types` filter, claimMany best first, and concurrent claimers that never
 * share a job.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Case } from "./_context.ts";

/** The order cases. */
export const orderCases: Case[] = [
  {
    name: "claim() returns the highest priority job first",
    async run(ctx) {
      const queue = ctx.queue();
      const ids = new Map<number, string>();
      for (const p of [1, 50, 100, 7, 99]) {
        ids.set(p, await queue.enqueue("t", { p }, { priority: p }));
      }
      const order: number[] = [];
      for (let job = await queue.claim(); job; job = await queue.claim()) {
        assert.equal(job.id, ids.get(job.priority));
        order.push(job.priority);
      }
      assert.deepEqual(order, [100, 99, 50, 7, 1]);
    },
  },
  {
    name: "priority names low, normal and high mean 1, 5 and 10",
    async run(ctx) {
      const queue = ctx.queue();
      await queue.enqueue("t", "low", { priority: "low" });
      await queue.enqueue("t", "default");
      await queue.enqueue("t", "high", { priority: "high" });
      await queue.enqueue("t", "normal", { priority: "normal" });
      await queue.enqueue("t", "six", { priority: 6 });
      const got: [unknown, number][] = [];
      for (let job = await queue.claim(); job; job = await queue.claim()) {
        got.push([job.data, job.priority]);
      }
      assert.deepEqual(got, [
        ["high", 10],
        ["six", 6],
        ["default", 5],
        ["normal", 5],
        ["low", 1],
      ]);
    },
  },
  {
    name: "claim() is FIFO among jobs of equal priority",
    async run(ctx) {
      const queue = ctx.queue();
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) ids.push(await queue.enqueue("t", i));
      ids.push(
        ...await queue.enqueueMany(
          [8, 9, 10, 11].map((i) => ({ type: "t", data: i })),
        ),
      );
      for (let i = 12; i < 15; i++) ids.push(await queue.enqueue("u", i));
      const claimed: string[] = [];
      for (let job = await queue.claim(); job; job = await queue.claim()) {
        claimed.push(job.id);
      }
      assert.deepEqual(claimed, ids);
    },
  },
  {
    name: "claim() with types claims only jobs of those types",
    async run(ctx) {
      const queue = ctx.queue();
      const a = await queue.enqueue("a", 1, { priority: 100 });
      const b1 = await queue.enqueue("b", 2);
      const c = await queue.enqueue("c", 3, { priority: 50 });
      const b2 = await queue.enqueue("b", 4, { priority: 60 });
      assert.equal((await queue.claim({ types: ["b"] }))?.id, b2);
      assert.equal((await queue.claim({ types: ["c", "b"] }))?.id, c);
      assert.equal((await queue.claim({ types: ["b", "nope"] }))?.id, b1);
      assert.equal(await queue.claim({ types: ["b", "c"] }), null);
      assert.deepEqual(await queue.claimMany(5, { types: ["nope"] }), []);
      assert.equal((await queue.claim())?.id, a);
    },
  },
  {
    name: "claimMany() returns up to limit jobs, best first",
    async run(ctx) {
      const queue = ctx.queue();
      const ids = await queue.enqueueMany([
        { type: "t", data: 0, options: { priority: 3 } },
        { type: "t", data: 1, options: { priority: 9 } },
        { type: "u", data: 2, options: { priority: 3 } },
        { type: "t", data: 3, options: { priority: 10 } },
        { type: "u", data: 4, options: { priority: 1 } },
      ]);
      const first = await queue.claimMany(3);
      assert.deepEqual(first.map((j) => j.id), [ids[3], ids[1], ids[0]]);
      for (const job of first) {
        assert.equal(job.status, "processing");
        assert.equal(job.attempt, 1);
        assert.equal(typeof job.lease.token, "string");
      }
      const rest = await queue.claimMany(10);
      assert.deepEqual(rest.map((j) => j.id), [ids[2], ids[4]]);
      assert.deepEqual(await queue.claimMany(10), []);
      assert.equal(await queue.claim(), null);
    },
  },
  {
    name:
      "queues of different names on one backend never see each other's jobs",
    async run(ctx) {
      const one = ctx.queue();
      const two = ctx.queue();
      const id = await one.enqueue("t", "one");
      assert.equal(await two.get(id), null);
      assert.equal(await two.claim(), null);
      assert.equal((await two.stats()).pending, 0);
      assert.deepEqual((await two.list()).jobs, []);
      assert.equal(await two.cancel(id), false);
      assert.equal(await two.remove(id), false);
      assert.equal((await one.claim())?.id, id);
    },
  },
  {
    name: "8 concurrent claimers over 300 jobs claim every job exactly once",
    timeout: 60_000,
    async run(ctx) {
      const first = ctx.queue();
      const ids = await first.enqueueMany(
        Array.from({ length: 300 }, (_, i) => ({
          type: i % 3 === 0 ? "x" : "y",
          data: i,
          options: { priority: 1 + (i % 4) },
        })),
      );
      const claimers = [
        first,
        ...Array.from({ length: 7 }, () => ctx.queue({ name: first.name })),
      ];
      const seen: string[] = [];
      await Promise.all(claimers.map(async (queue, n) => {
        for (let round = 0;; round++) {
          const jobs = (n + round) % 2 === 0
            ? await queue.claimMany(1 + ((n + round) % 5))
            : [await queue.claim()].filter((j) => j !== null);
          if (jobs.length === 0) return;
          for (const job of jobs) {
            seen.push(job.id);
            await queue.complete(job, n);
          }
        }
      }));
      assert.equal(seen.length, 300, "300 claims in all");
      assert.deepEqual([...seen].sort(), [...ids].sort());
      const stats = await first.stats();
      assert.equal(stats.complete, 300);
      assert.equal(stats.pending + stats.processing, 0);
    },
  },
];
