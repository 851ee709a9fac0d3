/**
 * §7.3 Limits: setLimits/getLimits stored in the backend; concurrency of
 * the queue, of a type and of each group key, binding every handle's
 * claims; rate windows of any `per`, moved by the queue's clock; a held
 * back job stays pending with its attempt uncounted; a dead worker's job
 * holds its slot until its lease runs out. Workers: _limits_workers.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ValidationError } from "../../src/errors.ts";
import type { Limits } from "../../src/limits_types.ts";
import type { Queue } from "../../src/queue_types.ts";
import type { Case } from "./_context.ts";

/** Claims until a claim comes back empty; the claimed jobs' types and groups. */
export async function claimAll(queue: Queue, max = 50): Promise<string[]> {
  const jobs = await queue.claimMany(max, { leaseMs: 600_000 });
  return jobs.map((j) =>
    `${j.type}${j.group === undefined ? "" : ":" + j.group}`
  );
}

/** The limit cases. */
export const limitCases: Case[] = [
  {
    name:
      "setLimits() stores limits that getLimits() reads back from any handle, setLimits({}) clears them, and bad limits are a ValidationError that stores nothing",
    async run(ctx) {
      const a = ctx.queue();
      const b = ctx.queue({ name: a.name });
      assert.deepEqual(await a.getLimits(), {});
      const limits: Limits = {
        groups: { rate: { per: 60_000, max: 10 }, concurrency: 1 },
        types: {
          transcode: { concurrency: 4 },
          email: { rate: { max: 100, per: 1_000 } },
        },
        rate: { max: 1_000, per: 1_000 },
        concurrency: 50,
      };
      await a.setLimits(limits);
      const read = await b.getLimits();
      assert.deepEqual(read, limits);
      assert.deepEqual(Object.keys(read), [
        "concurrency",
        "rate",
        "types",
        "groups",
      ]);
      const bad: unknown[] = [
        null,
        { concurrency: 0 },
        { concurrency: 1.5 },
        { rate: { max: 1 } },
        { rate: { max: 1, per: 0 } },
        { types: { "a b": { concurrency: 1 } } },
        { types: { t: { concurrency: 1, extra: 1 } } },
        { groups: { concurrency: -1 } },
        { tenants: {} },
      ];
      for (const limits of bad) {
        await assert.rejects(
          () => a.setLimits(limits as Limits),
          ValidationError,
          JSON.stringify(limits),
        );
      }
      assert.deepEqual(await b.getLimits(), limits, "unchanged");
      await b.setLimits({});
      assert.deepEqual(await a.getLimits(), {});
    },
  },
  {
    name:
      "a queue concurrency limit binds the claims of every handle; a held-back job stays pending with its attempt uncounted",
    async run(ctx) {
      const a = ctx.queue();
      const b = ctx.queue({ name: a.name });
      await a.setLimits({ concurrency: 2 });
      const ids = await a.enqueueMany(
        [1, 2, 3, 4].map((i) => ({ type: "t", data: i })),
      );
      const first = await a.claimMany(5, { leaseMs: 600_000 });
      assert.equal(first.length, 2);
      assert.equal((await b.claimMany(5)).length, 0, "another handle too");
      const held = await a.get(ids[2]!);
      assert.deepEqual([held?.status, held?.attempt], ["pending", 0]);
      await a.complete(first[0]!, null);
      const next = await b.claimMany(5, { leaseMs: 600_000 });
      assert.deepEqual(next.map((j) => j.id), [ids[2]]);
      await a.fail(first[1]!, "x", { retry: false });
      assert.equal((await b.claimMany(5)).length, 1, "a failure frees a slot");
      await a.setLimits({});
      await a.enqueue("t", 5);
      assert.equal((await b.claimMany(5)).length, 1, "no limit any more");
    },
  },
  {
    name:
      "a type named twice in a claim's types counts once against its concurrency, and a claim of every type while each type with pending jobs is paused gives nothing",
    async run(ctx) {
      const queue = ctx.queue();
      await queue.setLimits({ types: { a: { concurrency: 1 } } });
      await queue.enqueueMany([
        { type: "a", data: 1 },
        { type: "a", data: 2 },
        { type: "b", data: 3 },
      ]);
      const claimed = await queue.claimMany(5, { types: ["a", "a"] });
      assert.deepEqual(claimed.map((j) => j.data), [1]);
      assert.equal((await queue.stats()).processing, 1);
      // A queue limit only, with every type that has pending jobs paused.
      await queue.setLimits({ concurrency: 5 });
      await queue.pause("a");
      await queue.pause("b");
      assert.deepEqual(await queue.claimMany(5), []);
      await queue.resume("b");
      assert.deepEqual((await queue.claimMany(5)).map((j) => j.data), [3]);
    },
  },
  {
    name:
      "a type concurrency limit binds its type only, and a group limit each group key, not jobs without a group",
    async run(ctx) {
      const queue = ctx.queue();
      await queue.setLimits({
        types: { a: { concurrency: 1 } },
        groups: { concurrency: 1 },
      });
      await queue.enqueueMany([
        { type: "a", data: 1 },
        { type: "a", data: 2 },
        { type: "b", data: 3, options: { group: "g1" } },
        { type: "b", data: 4, options: { group: "g1" } },
        { type: "c", data: 5, options: { group: "g2" } },
        { type: "b", data: 6 },
        { type: "b", data: 7 },
      ]);
      const claimed = await claimAll(queue);
      assert.deepEqual(claimed.sort(), ["a", "b", "b", "b:g1", "c:g2"]);
      assert.deepEqual(await claimAll(queue), [], "the rest are held back");
      const stats = await queue.stats();
      assert.deepEqual([stats.pending, stats.processing], [2, 5]);
    },
  },
  {
    name:
      "a cancelled, removed or released job frees its slot, and one whose worker died holds it until its lease runs out",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      await queue.setLimits({ groups: { concurrency: 1 } });
      const opts = { group: "g" };
      const ids = await queue.enqueueMany(
        [1, 2, 3, 4, 5].map((i) => ({ type: "t", data: i, options: opts })),
      );
      const take = async () => (await queue.claimMany(5, { leaseMs: 1_000 }));
      assert.deepEqual((await take()).map((j) => j.id), [ids[0]]);
      await queue.cancel(ids[0]!);
      const second = await take();
      assert.deepEqual(second.map((j) => j.id), [ids[1]]);
      await queue.remove(ids[1]!);
      const third = await take();
      assert.deepEqual(third.map((j) => j.id), [ids[2]]);
      await queue.release(third);
      const again = await take();
      assert.deepEqual(
        again.map((j) => j.id),
        [ids[2]],
        "released, then again",
      );
      clock.advance(999);
      assert.deepEqual(await take(), [], "a dead worker's job holds its slot");
      clock.advance(1);
      const after = await take();
      assert.deepEqual(after.map((j) => [j.id, j.attempt]), [[ids[2], 2]]);
    },
  },
  {
    name:
      "rate limits of the queue, a type and each group allow at most max claims in any window of per ms, moved by the queue's clock",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const fill = (n: number, type: string, group?: string) =>
        queue.enqueueMany(Array.from({ length: n }, (_, i) => ({
          type,
          data: i,
          ...(group === undefined ? {} : { options: { group } }),
        })));
      await queue.setLimits({ rate: { max: 2, per: 1_000 } });
      await fill(6, "q");
      assert.equal((await claimAll(queue)).length, 2);
      clock.advance(500);
      assert.equal((await claimAll(queue)).length, 0);
      clock.advance(499);
      assert.equal((await claimAll(queue)).length, 0, "the window is 1,000 ms");
      clock.advance(1);
      assert.equal((await claimAll(queue)).length, 2);
      clock.advance(1_000);
      assert.equal((await claimAll(queue)).length, 2);

      await queue.setLimits({
        types: { e: { rate: { max: 3, per: 60_000 } } },
      });
      await fill(5, "e");
      await fill(2, "f");
      assert.deepEqual((await claimAll(queue)).sort(), [
        "e",
        "e",
        "e",
        "f",
        "f",
      ]);
      clock.advance(59_999);
      assert.deepEqual(await claimAll(queue), []);
      clock.advance(1);
      assert.deepEqual(await claimAll(queue), ["e", "e"]);

      await queue.setLimits({ groups: { rate: { max: 1, per: 10_000 } } });
      await fill(2, "g", "x");
      await fill(2, "g", "y");
      await fill(1, "g");
      assert.deepEqual((await claimAll(queue)).sort(), ["g", "g:x", "g:y"]);
      clock.advance(9_999);
      assert.deepEqual(await claimAll(queue), []);
      clock.advance(1);
      assert.deepEqual((await claimAll(queue)).sort(), ["g:x", "g:y"]);
    },
  },
];
