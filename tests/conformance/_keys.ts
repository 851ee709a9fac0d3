/**
 * §4.8 Idempotency: a key held by a pending or processing job returns that
 * job's id and creates nothing; once the job finishes, is removed or expires
 * the key is free again.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Case, total } from "./_context.ts";

/** The idempotency cases. */
export const keyCases: Case[] = [
  {
    name:
      "enqueue() with a key held by a pending or processing job returns its id and creates nothing",
    async run(ctx) {
      const queue = ctx.queue();
      const id = await queue.enqueue("t", { n: 1 }, { key: "order-1" });
      assert.equal((await queue.get(id))?.key, "order-1");
      assert.equal(await queue.enqueue("t", { n: 2 }, { key: "order-1" }), id);
      assert.equal(
        await queue.enqueue("other", null, { key: "order-1", priority: 99 }),
        id,
        "the key is held whatever the type",
      );
      assert.equal(await total(queue), 1);
      const job = await queue.claim();
      assert.equal(job?.id, id);
      assert.equal(await queue.enqueue("t", { n: 3 }, { key: "order-1" }), id);
      assert.equal(await total(queue), 1);
      assert.deepEqual((await queue.get(id))?.data, { n: 1 });
      assert.equal(await queue.claim(), null);
      const other = await queue.enqueue("t", null, { key: "order-2" });
      assert.notEqual(other, id);
      assert.equal(await total(queue), 2);
    },
  },
  {
    name:
      "a key is free again once its job completes, fails, is cancelled or removed",
    async run(ctx) {
      const queue = ctx.queue();
      const ends: [string, (id: string) => Promise<void>][] = [
        ["complete", async () => {
          await queue.complete((await queue.claim())!, null);
        }],
        ["fail", async () => {
          await queue.fail((await queue.claim())!, new Error("x"), {
            retry: false,
          });
        }],
        ["cancel pending", async (id) => {
          assert.equal(await queue.cancel(id), true);
        }],
        ["cancel processing", async (id) => {
          await queue.claim();
          assert.equal(await queue.cancel(id), true);
        }],
        ["remove", async (id) => {
          assert.equal(await queue.remove(id), true);
        }],
      ];
      for (const [how, end] of ends) {
        const key = `key-${how}`;
        const first = await queue.enqueue("t", 1, { key });
        await end(first);
        const second = await queue.enqueue("t", 2, { key });
        assert.notEqual(second, first, `a new job after ${how}`);
        assert.equal(await queue.enqueue("t", 3, { key }), second);
        assert.equal(await queue.remove(second), true);
      }
    },
  },
  {
    name: "a key is free again once its job expires",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const first = await queue.enqueue("t", 1, { key: "k", ttl: 1 });
      clock.advance(999);
      assert.equal(await queue.enqueue("t", 2, { key: "k" }), first);
      clock.advance(1);
      const second = await queue.enqueue("t", 3, { key: "k" });
      assert.notEqual(second, first);
      assert.equal(await total(queue), 1);
    },
  },
  {
    name:
      "enqueueMany() with a key twice stores the first job and returns its id for both",
    async run(ctx) {
      const queue = ctx.queue();
      const held = await queue.enqueue("t", "held", { key: "h" });
      const ids = await queue.enqueueMany([
        { type: "t", data: "a", options: { key: "dup" } },
        { type: "t", data: "b" },
        { type: "t", data: "c", options: { key: "dup" } },
        { type: "t", data: "d", options: { key: "h" } },
        { type: "t", data: "e", options: { key: "other" } },
      ]);
      assert.equal(ids.length, 5);
      assert.equal(ids[2], ids[0]);
      assert.equal(ids[3], held);
      assert.equal(new Set(ids).size, 4);
      assert.deepEqual((await queue.get(ids[0]!))?.data, "a");
      assert.equal(await total(queue), 4);
      const claimed = await queue.claimMany(10);
      assert.deepEqual(claimed.map((j) => j.data), ["held", "a", "b", "e"]);
    },
  },
  {
    name:
      "retry() of a job whose key another job took leaves the key with that job",
    async run(ctx) {
      const queue = ctx.queue();
      const first = await queue.enqueue("t", 1, { key: "k" });
      await queue.cancel(first);
      const second = await queue.enqueue("t", 2, { key: "k" });
      assert.notEqual(second, first);
      assert.equal(await queue.retry(first), true);
      assert.equal((await queue.get(first))?.status, "pending");
      assert.equal(await queue.enqueue("t", 3, { key: "k" }), second);
      assert.equal(await total(queue), 2);
      // With the key free, a retried job takes it again.
      const third = await queue.enqueue("t", 4, { key: "j" });
      await queue.cancel(third);
      assert.equal(await queue.retry(third), true);
      assert.equal(await queue.enqueue("t", 5, { key: "j" }), third);
    },
  },
];
