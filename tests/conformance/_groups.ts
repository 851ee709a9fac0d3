/**
 * §7.4 Groups and fairness, and §7.3 limits under real workers: groups of
 * equal priority take turns, FIFO within a group, priority first; two
 * workers never run more jobs at once than a queue, type or group limit
 * allows; a worker waiting on a full limit starts as soon as a slot frees
 * (jobs that complete together included), and one held back by a rate
 * starts when the window moves on, without waiting for its poll interval.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ValidationError } from "../../src/errors.ts";
import type { Limits } from "../../src/limits_types.ts";
import { createWorker } from "../../src/worker/mod.ts";
import { type Case, sleep, waitFor } from "./_context.ts";

/**
 * The case of a claim of some types before a claim of every type, by name:
 * the PostgreSQL backend skips it (see its README section).
 */
export const SOME_TYPES_CASE =
  "a claim of one type does not hold back a group's job of another type and a higher priority from the claims after it";

/** The group cases. */
export const groupCases: Case[] = [
  {
    name:
      "enqueueMany() keeps each job's group in a batch mixing jobs with and without one",
    async run(ctx) {
      const queue = ctx.queue();
      const groups = ["g-1", undefined, "g-2", "g-1", undefined];
      const ids = await queue.enqueueMany(groups.map((group, i) => ({
        type: i % 2 === 0 ? "a" : "b",
        data: i,
        options: group === undefined ? {} : { group },
      })));
      const jobs = await Promise.all(ids.map((id) => queue.get(id)));
      assert.deepEqual(jobs.map((j) => [j?.data, j?.group]), [
        [0, "g-1"],
        [1, undefined],
        [2, "g-2"],
        [3, "g-1"],
        [4, undefined],
      ]);
    },
  },
  {
    name:
      "groups of equal priority take turns: after 100 jobs of group A then 3 of group B, the three B jobs are among the first six claims",
    async run(ctx) {
      const queue = ctx.queue();
      await queue.enqueueMany(Array.from({ length: 100 }, (_, i) => ({
        type: "t",
        data: i,
        options: { group: "A" },
      })));
      const b = await queue.enqueueMany([0, 1, 2].map((i) => ({
        type: "t",
        data: i,
        options: { group: "B" },
      })));
      const first = await queue.claimMany(6);
      const claimedB = first.filter((j) => j.group === "B").map((j) => j.id);
      assert.deepEqual(claimedB, b, "all three B jobs, in their order");
      const a = first.filter((j) => j.group === "A").map((j) => j.data);
      assert.deepEqual(a, [0, 1, 2], "A stays FIFO");
      assert.equal((await queue.get(b[0]!))?.group, "B");
      for (const group of ["", "a b", "x".repeat(129), 5]) {
        await assert.rejects(
          () => queue.enqueue("t", null, { group: group as string }),
          ValidationError,
        );
      }
    },
  },
  {
    name:
      "a group takes one turn whatever the types of its jobs: after 100 jobs of group A (or without a group) of two types then 3 of group B, the three B jobs are among the first six claims",
    async run(ctx) {
      for (const a of ["A", undefined]) {
        const queue = ctx.queue();
        await queue.enqueueMany(Array.from({ length: 100 }, (_, i) => ({
          type: i % 2 === 0 ? "x" : "y",
          data: i,
          options: a === undefined ? {} : { group: a },
        })));
        const b = await queue.enqueueMany([0, 1, 2].map((i) => ({
          type: "x",
          data: i,
          options: { group: "B" },
        })));
        const first = await queue.claimMany(6);
        const seen = first.map((j) => `${j.group ?? "-"}${j.data}`).join(" ");
        assert.deepEqual(
          first.filter((j) => j.group === "B").map((j) => j.id),
          b,
          `all three B jobs, in their order, when the others are ${
            a ?? "without a group"
          }: ${seen}`,
        );
        assert.deepEqual(
          first.filter((j) => j.group === a).map((j) => j.data),
          [0, 1, 2],
          `the others stay FIFO across their types: ${seen}`,
        );
      }
    },
  },
  {
    name:
      "a group whose next job arrives as its last one is claimed keeps its place in the turns: a chain of one group alternates with another group's backlog",
    async run(ctx) {
      // The chain's jobs of one type, then of two types in turn: a turn is
      // the group's, whatever lane of it a job comes to.
      for (const types of [["t"], ["t", "u"]]) {
        const queue = ctx.queue();
        await queue.enqueue("t", 0, { group: "chain" });
        await queue.enqueueMany(Array.from({ length: 10 }, (_, i) => ({
          type: "t",
          data: i,
          options: { group: "backlog" },
        })));
        const order: string[] = [];
        let next = 1;
        for (let i = 0; i < 12; i++) {
          const job = await queue.claim();
          assert.ok(job !== null, `claim ${i} found a job`);
          order.push(job.group!);
          if (job.group === "chain" && next < 10) {
            const type = types[next % types.length]!;
            await queue.enqueue(type, next++, { group: "chain" });
          }
          await queue.complete(job, null);
        }
        const backlog = order.slice(0, 10).filter((g) =>
          g === "backlog"
        ).length;
        assert.ok(
          backlog >= 4,
          `the backlog's jobs take every other turn, not one in ten (chain of ${types}): ${order}`,
        );
      }
    },
  },
  {
    name:
      "priority comes before turns, jobs without a group take turns as one group, and one group's backlog never starves another's",
    async run(ctx) {
      const queue = ctx.queue();
      const opts = (group?: string, priority?: number) => ({
        ...(group === undefined ? {} : { group }),
        ...(priority === undefined ? {} : { priority }),
      });
      await queue.enqueueMany([
        ...Array.from({ length: 20 }, (_, i) => ({
          type: "t",
          data: `big${i}`,
          options: opts("big"),
        })),
        { type: "t", data: "none0" },
        { type: "t", data: "none1" },
        { type: "t", data: "small0", options: opts("small") },
        { type: "t", data: "urgent", options: opts("big", 10) },
      ]);
      const order = (await queue.claimMany(8)).map((j) => j.data);
      assert.equal(order[0], "urgent", "the highest priority first");
      const rest = order.slice(1, 7);
      for (const d of ["none0", "small0"]) {
        assert.ok(rest.includes(d), `${d} among the next claims: ${order}`);
      }
      assert.ok(
        rest.indexOf("none0") < 3 && rest.indexOf("small0") < 3,
        `every group gets a turn before big gets a second: ${order}`,
      );
      assert.ok(rest.indexOf("none1") > rest.indexOf("none0"));
    },
  },
  {
    name:
      "a group limit holds whatever lanes of its group a claim emptied before: a job of a new type waits while the group is full",
    async run(ctx) {
      const queue = ctx.queue();
      await queue.setLimits({ groups: { concurrency: 1 } });
      await queue.enqueue("x", "x0", { group: "g" });
      await queue.enqueue("z", "z0", { group: "g" });
      const x0 = await queue.claim();
      assert.equal(x0?.data, "x0");
      await queue.complete(x0!, null);
      const z0 = await queue.claim({ types: ["z"] });
      assert.equal(z0?.data, "z0", "g full again");
      assert.equal(await queue.claim(), null);
      await queue.enqueue("x", "x1", { group: "g" });
      assert.deepEqual(
        await queue.claimMany(2, { types: ["x", "y", "z"] }),
        [],
        "g is at its limit",
      );
      await queue.complete(z0!, null);
      assert.equal((await queue.claim())?.data, "x1");
    },
  },
  {
    name:
      "under a group limit, a group's next job of a lower priority is claimed as soon as its slot frees",
    async run(ctx) {
      const queue = ctx.queue();
      await queue.setLimits({ groups: { concurrency: 1 } });
      await queue.enqueueMany([
        { type: "a", data: "low", options: { group: "g", priority: 1 } },
        { type: "a", data: "high", options: { group: "g", priority: 10 } },
      ]);
      const high = await queue.claim();
      assert.equal(high?.data, "high");
      assert.equal(await queue.claim(), null, "g is at its limit");
      await queue.complete(high!, null);
      assert.equal((await queue.claim())?.data, "low", "g's slot is free");
    },
  },
  {
    name:
      "a group's delayed job of a higher priority, once due, is claimed before lower-priority jobs of other groups",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const job = (data: string, group: string, priority: number) =>
        queue.enqueue("x", data, { group, priority, delay: 1_000 });
      await job("C5", "C", 5);
      await job("A10", "A", 10);
      clock.advance(700);
      await queue.enqueue("x", "A5", { group: "A", priority: 5 });
      assert.equal((await queue.claim())?.data, "A5", "the only job due");
      clock.advance(300);
      const next = [(await queue.claim())?.data, (await queue.claim())?.data];
      assert.deepEqual(next, ["A10", "C5"]);
    },
  },
  {
    name:
      "of a group's delayed jobs of higher priorities, the highest is claimed first once all are due",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const job = (data: string, group: string, priority: number, delay = 0) =>
        queue.enqueue("x", data, { group, priority, delay });
      await job("A5", "A", 5, 1_000);
      await job("A10", "A", 10, 2_000);
      await job("C7", "C", 7, 1_000);
      clock.advance(700);
      await job("A1", "A", 1);
      assert.equal((await queue.claim())?.data, "A1", "the only job due");
      clock.advance(1_800); // A5, A10 and C7 are due
      const next: unknown[] = [];
      for (let i = 0; i < 3; i++) next.push((await queue.claim())?.data);
      assert.deepEqual(next, ["A10", "C7", "A5"]);
    },
  },
  {
    name: SOME_TYPES_CASE,
    async run(ctx) {
      const other = ctx.queue();
      await other.setLimits({ groups: { concurrency: 1 } });
      await other.enqueueMany([
        { type: "a", data: "a1", options: { group: "g", priority: 1 } },
        { type: "a", data: "none", options: { priority: 1 } },
        { type: "b", data: "b5", options: { group: "g", priority: 5 } },
      ]);
      // only type a: g's job of type b is not this claim's to take
      const first = await other.claim({ types: ["a"] });
      assert.ok(first?.data === "a1" || first?.data === "none");
      await other.complete(first!, null);
      assert.equal((await other.claim())?.data, "b5", "priority first");
    },
  },
  {
    name:
      "two workers never run more jobs at once than the queue, type and group limits allow, and every job completes",
    timeout: 60_000,
    async run(ctx) {
      const queue = ctx.queue();
      await queue.setLimits({
        concurrency: 4,
        types: { b: { concurrency: 1 } },
        groups: { concurrency: 1 },
      });
      const running = { all: 0, b: 0 } as Record<string, number>;
      const most = { all: 0, b: 0 } as Record<string, number>;
      const groupsNow = new Map<string, number>();
      let groupMost = 0;
      const handler = async (job: { type: string; group?: string }) => {
        const keys = ["all", ...(job.type === "b" ? ["b"] : [])];
        for (const k of keys) most[k] = Math.max(most[k]!, ++running[k]!);
        const g = job.group;
        if (g !== undefined) {
          groupsNow.set(g, (groupsNow.get(g) ?? 0) + 1);
          groupMost = Math.max(groupMost, groupsNow.get(g)!);
        }
        await sleep(5);
        for (const k of keys) running[k]!--;
        if (g !== undefined) groupsNow.set(g, groupsNow.get(g)! - 1);
        return null;
      };
      const options = { concurrency: 5, pollInterval: 50 };
      const workers = [1, 2].map(() =>
        createWorker(queue, { a: handler, b: handler }, options)
      );
      ctx.defer(() =>
        Promise.all(workers.map((w) => w.stop({ timeout: 1_000 })))
      );
      const ids = await queue.enqueueMany(
        Array.from({ length: 40 }, (_, i) => ({
          type: i % 3 === 0 ? "b" : "a",
          data: i,
          ...(i % 2 === 0 ? { options: { group: `g${i % 5}` } } : {}),
        })),
      );
      await waitFor(
        "every job to complete",
        async () => (await queue.stats()).complete === ids.length,
        { timeout: 30_000 },
      );
      assert.ok(most.all! <= 4, `at most 4 at once, saw ${most.all}`);
      assert.ok(most.b! <= 1, `at most 1 of type b, saw ${most.b}`);
      assert.ok(groupMost <= 1, `at most 1 per group, saw ${groupMost}`);
      assert.ok(most.all! >= 2, "the two workers did run jobs side by side");
    },
  },
  {
    name:
      "a worker waiting on a full limit starts when a slot frees, and one held back by a rate when the window moves on, without waiting for its poll interval",
    async run(ctx) {
      const queue = ctx.queue();
      const poll = ctx.backend.capabilities.wakeups ? 30_000 : 250;
      await queue.setLimits({ concurrency: 1 });
      const done: unknown[] = [];
      const worker = createWorker(queue, {
        t: (job) => void done.push(job.data),
      }, { pollInterval: poll });
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      await queue.enqueue("hold", "held");
      const held = await queue.claim({ types: ["hold"] });
      await queue.enqueue("t", 1);
      await sleep(200);
      assert.deepEqual(done, [], "the slot is taken");
      await queue.complete(held!, null);
      await waitFor("the worker to start", () => done.length === 1, {
        timeout: 3_000,
      });
      await queue.setLimits({ rate: { max: 1, per: 300 } });
      await queue.enqueueMany([2, 3, 4].map((i) => ({ type: "t", data: i })));
      await waitFor("all three, one per window", () => done.length === 4, {
        timeout: 5_000,
      });
    },
  },
  {
    name:
      "jobs that complete together wake a worker waiting on the queue, type or group limit they filled",
    async run(ctx) {
      const poll = ctx.backend.capabilities.wakeups ? 30_000 : 250;
      const all: Limits[] = [
        { concurrency: 2 },
        { types: { t: { concurrency: 2 } } },
        { groups: { concurrency: 2 } },
      ];
      for (const limits of all) {
        const queue = ctx.queue();
        await queue.setLimits(limits);
        const options = limits.groups === undefined ? {} : { group: "a" };
        await queue.enqueueMany(
          [1, 2, 3].map((i) => ({ type: "t", data: i, options })),
        );
        const held = await queue.claimMany(2);
        assert.equal(held.length, 2);
        const done: unknown[] = [];
        const worker = createWorker(queue, {
          t: (job) => void done.push(job.data),
        }, { pollInterval: poll });
        ctx.defer(() => worker.stop({ timeout: 1_000 }));
        await sleep(150);
        assert.deepEqual(done, [], "the limit is full");
        // Asked for in one turn: a backend may stop both in one statement.
        await Promise.all(held.map((job) => queue.complete(job, null)));
        await waitFor("the worker to start", () => done.length === 1, {
          timeout: 3_000,
        });
        assert.deepEqual(done, [3]);
      }
    },
  },
];
