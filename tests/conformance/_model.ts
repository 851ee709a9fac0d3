/**
 * The job model as the backend keeps it (§3), list, stats and remove, and
 * §4.12 capabilities.
 *
 * @module
 */

import assert from "node:assert/strict";
import { newId } from "../../src/id.ts";
import type { Case } from "./_context.ts";

/** The job model, list, stats, remove and capabilities cases. */
export const modelCases: Case[] = [
  {
    name: "get() returns the job as enqueued, and null for unknown ids",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock, maxAttempts: 4 });
      const id = await queue.enqueue("resize.image:v2-x_y", { url: "a.png" }, {
        priority: 42,
        key: "k1",
        ttl: 60,
        metadata: { user: "u1" },
      });
      assert.equal(typeof id, "string");
      const job = await queue.get(id);
      assert.deepEqual(job, {
        id,
        type: "resize.image:v2-x_y",
        data: { url: "a.png" },
        status: "pending",
        priority: 42,
        progress: 0,
        message: "",
        attempt: 0,
        maxAttempts: 4,
        runAt: clock.now,
        createdAt: clock.now,
        updatedAt: clock.now,
        ttl: 60,
        expiresAt: clock.now + 60_000,
        key: "k1",
        metadata: { user: "u1" },
        version: 1,
      });
      const plain = await queue.enqueue("t", null, { maxAttempts: 1 });
      const p = await queue.get(plain);
      assert.equal(p?.maxAttempts, 1);
      assert.equal(p?.priority, 5);
      assert.deepEqual(p?.metadata, {});
      for (const field of ["ttl", "expiresAt", "key", "result", "error"]) {
        assert.equal(field in p!, false, `${field} is left out`);
      }
      assert.equal(await queue.get(newId()), null);
    },
  },
  {
    name: "enqueueMany() stores each job of a mixed batch with its own options",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const odd = 'a "quoted", {braced} \\ back\nslash NULL é 😀 [1,2]';
      const ids = await queue.enqueueMany([
        { type: "a", data: odd, options: { priority: 9, ttl: 60, key: "k" } },
        { type: "b", data: { odd }, options: { metadata: { odd } } },
        { type: "a", data: null, options: { delay: 5_000 } },
        { type: "c", data: [1, odd], options: { removeOnComplete: true } },
        { type: "a", data: 1.5, options: { maxAttempts: 7 } },
      ]);
      const jobs = await Promise.all(ids.map((id) => queue.get(id)));
      const fields = jobs.map((j) => ({
        type: j?.type,
        data: j?.data,
        priority: j?.priority,
        ttl: j?.ttl,
        key: j?.key,
        metadata: j?.metadata,
        runAt: j?.runAt,
        maxAttempts: j?.maxAttempts,
      }));
      const plain = {
        priority: 5,
        ttl: undefined,
        key: undefined,
        metadata: {},
        runAt: clock.now,
        maxAttempts: 3,
      };
      assert.deepEqual(fields, [
        { ...plain, type: "a", data: odd, priority: 9, ttl: 60, key: "k" },
        { ...plain, type: "b", data: { odd }, metadata: { odd } },
        {
          ...plain,
          type: "a",
          data: null,
          runAt: clock.now + 5_000,
        },
        { ...plain, type: "c", data: [1, odd] },
        { ...plain, type: "a", data: 1.5, maxAttempts: 7 },
      ]);
      // Each job keeps its own retention: only the fourth goes as it ends.
      clock.advance(5_000);
      const claimed = await queue.claimMany(5);
      assert.equal(claimed.length, 5);
      for (const job of claimed) await queue.complete(job, null);
      const after = await Promise.all(ids.map((id) => queue.get(id)));
      assert.deepEqual(after.map((j) => j?.status ?? null), [
        "complete",
        "complete",
        "complete",
        null,
        "complete",
      ]);
    },
  },
  {
    name: "ids are unique and sort by creation time",
    async run(ctx) {
      const queue = ctx.queue();
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push(await queue.enqueue("t", i));
      ids.push(
        ...await queue.enqueueMany(
          Array.from({ length: 20 }, (_, i) => ({ type: "t", data: i })),
        ),
      );
      assert.equal(new Set(ids).size, 40);
      assert.deepEqual([...ids].sort(), ids);
    },
  },
  {
    name: "list() pages by cursor oldest first and filters by status and type",
    async run(ctx) {
      const queue = ctx.queue();
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        ids.push(await queue.enqueue(i % 2 === 0 ? "even" : "odd", i));
      }
      const pages: string[][] = [];
      let cursor: string | null = null;
      do {
        const page = await queue.list({ limit: 3, cursor });
        pages.push(page.jobs.map((j) => j.id));
        cursor = page.cursor;
      } while (cursor !== null && pages.length < 10);
      assert.deepEqual(pages.flat(), ids);
      assert.deepEqual(pages.map((p) => p.length), [3, 3, 1]);
      assert.deepEqual(
        (await queue.list({ type: "odd" })).jobs.map((j) => j.data),
        [1, 3, 5],
      );
      const [c1, c2] = await queue.claimMany(2); // ids 0 and 1
      await queue.complete(c1!, null);
      assert.deepEqual(
        (await queue.list({ status: "complete" })).jobs.map((j) => j.id),
        [ids[0]],
      );
      assert.deepEqual(
        (await queue.list({ status: "processing" })).jobs.map((j) => j.id),
        [c2?.id],
      );
      assert.deepEqual(
        (await queue.list({ status: "pending", type: "even", limit: 2 })).jobs
          .map((j) => j.data),
        [2, 4],
      );
      const page = await queue.list({
        status: "pending",
        type: "even",
        limit: 2,
        cursor: ids[4]!,
      });
      assert.deepEqual(page.jobs.map((j) => j.data), [6]);
      assert.equal(page.cursor, null);
      assert.deepEqual((await queue.list({ status: "failed" })).jobs, []);
    },
  },
  {
    name: "stats() counts jobs by status and by type",
    async run(ctx) {
      const queue = ctx.queue();
      assert.deepEqual(await queue.stats(), {
        waiting: 0,
        pending: 0,
        processing: 0,
        complete: 0,
        failed: 0,
        cancelled: 0,
        byType: {},
      });
      await queue.enqueueMany([
        { type: "a", data: 1, options: { priority: 10 } },
        { type: "a", data: 2, options: { priority: 9 } },
        { type: "a", data: 3, options: { priority: 8 } },
        { type: "b", data: 4, options: { priority: 7 } },
        { type: "b", data: 5, options: { priority: 6 } },
        { type: "c", data: 6, options: { priority: 1, delay: 60_000 } },
      ]);
      const [a1, a2, a3, b1] = await queue.claimMany(4);
      await queue.complete(a1!, null);
      await queue.fail(a2!, new Error("x"), { retry: false });
      await queue.cancel(b1!.id);
      const z = {
        waiting: 0,
        pending: 0,
        processing: 0,
        complete: 0,
        failed: 0,
      };
      assert.deepEqual(await queue.stats(), {
        waiting: 0,
        pending: 2,
        processing: 1,
        complete: 1,
        failed: 1,
        cancelled: 1,
        byType: {
          a: { ...z, processing: 1, complete: 1, failed: 1, cancelled: 0 },
          b: { ...z, pending: 1, cancelled: 1 },
          c: { ...z, pending: 1, cancelled: 0 },
        },
      });
      assert.equal(a3?.data, 3);
    },
  },
  {
    name: "remove() deletes a job whatever its status",
    async run(ctx) {
      const queue = ctx.queue();
      const [p, r, d, f] = await queue.enqueueMany([
        { type: "t", data: "pending", options: { priority: 1 } },
        { type: "t", data: "running", options: { priority: 9 } },
        { type: "t", data: "done", options: { priority: 8 } },
        { type: "t", data: "failed", options: { priority: 7 } },
      ]);
      const [, done, failed] = await queue.claimMany(3);
      await queue.complete(done!, "ok");
      await queue.fail(failed!, new Error("no"), { retry: false });
      for (const id of [p!, r!, d!, f!]) {
        assert.equal(await queue.remove(id), true);
        assert.equal(await queue.get(id), null);
        assert.equal(await queue.remove(id), false, "only once");
      }
      assert.equal(await queue.remove(newId()), false);
      assert.deepEqual((await queue.list()).jobs, []);
      assert.equal((await queue.stats()).processing, 0);
      assert.equal(await queue.claim(), null);
    },
  },
  {
    name: "capabilities are booleans and the name is a non-empty string",
    run(ctx) {
      const { name, capabilities } = ctx.backend;
      assert.equal(typeof name, "string");
      assert.ok(name.length > 0);
      const fields = [
        "persistence",
        "multiProcess",
        "crossProcessEvents",
        "clustering",
        "wakeups",
        "transactionalEnqueue",
      ] as const;
      for (const field of fields) {
        assert.equal(typeof capabilities[field], "boolean", field);
      }
      if (capabilities.crossProcessEvents) {
        assert.equal(capabilities.multiProcess, true);
      }
      if (capabilities.clustering) {
        assert.equal(capabilities.multiProcess, true);
      }
      return Promise.resolve();
    },
  },
];
