/**
 * §4.7 TTL: after `ttl` seconds from creation a job is gone whatever its
 * status: get, claim, list and stats no longer see it. Fake clock.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ValidationError } from "../../src/errors.ts";
import type { Case } from "./_context.ts";

/** The largest ttl, in seconds: 100 years of 365.25 days. */
const MAX_TTL = 3_155_760_000;

/** The TTL cases. */
export const ttlCases: Case[] = [
  {
    name: "a job is gone after its ttl, whatever its status",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const created = clock.now;
      // The jobs to claim go first, so the claims pick them in enqueue
      // order as well as by priority (a FIFO backend passes too).
      const done = await queue.enqueue("t", "done", { ttl: 10, priority: 9 });
      const running = await queue.enqueue("t", "run", { ttl: 10, priority: 8 });
      const pending = await queue.enqueue("t", "pending", { ttl: 10 });
      const delayed = await queue.enqueue("t", "delayed", {
        ttl: 10,
        delay: 20_000,
      });
      const keeper = await queue.enqueue("u", "keeper");
      const claimed = await queue.claim();
      assert.equal(claimed?.id, done);
      await queue.complete(claimed!, null);
      const first = await queue.claimMany(1, { types: ["t"] });
      assert.deepEqual(first.map((j) => j.id), [running]);
      const expiresAt = (await queue.get(pending))?.expiresAt;
      assert.equal(expiresAt, created + 10_000);
      assert.equal((await queue.get(pending))?.ttl, 10);
      clock.advance(9_999);
      for (const id of [pending, delayed, done, running, keeper]) {
        assert.ok(await queue.get(id), "still there before the ttl");
      }
      clock.advance(1);
      for (const id of [pending, delayed, done, running]) {
        assert.equal(await queue.get(id), null, "gone at the ttl");
      }
      assert.deepEqual(
        (await queue.list()).jobs.map((j) => j.id),
        [keeper],
      );
      const stats = await queue.stats();
      assert.deepEqual(
        { ...stats, byType: undefined },
        {
          waiting: 0,
          pending: 1,
          processing: 0,
          complete: 0,
          failed: 0,
          cancelled: 0,
          byType: undefined,
        },
      );
      assert.deepEqual(Object.keys(stats.byType), ["u"]);
      clock.advance(30_000);
      assert.deepEqual((await queue.claimMany(10)).map((j) => j.id), [keeper]);
      assert.equal(await queue.cancel(pending), false);
      assert.equal(await queue.retry(done), false);
    },
  },
  {
    name: "a completed job with a ttl stays readable until it expires",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const id = await queue.enqueue("t", null, { ttl: 2.5 });
      const job = await queue.claim();
      await queue.complete(job!, { ok: 1 });
      clock.advance(2_499);
      assert.deepEqual((await queue.get(id))?.result, { ok: 1 });
      assert.equal((await queue.stats()).complete, 1);
      clock.advance(1);
      assert.equal(await queue.get(id), null);
      assert.equal((await queue.stats()).complete, 0);
      assert.deepEqual((await queue.list({ status: "complete" })).jobs, []);
    },
  },
  {
    name:
      "a ttl above 100 years is a ValidationError, and one of 100 years expires at a finite time",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      for (const ttl of [MAX_TTL + 1, 1e12, 1e308]) {
        await assert.rejects(
          queue.enqueue("t", null, { ttl }),
          ValidationError,
          String(ttl),
        );
        assert.throws(
          () => ctx.queue({ defaultTtl: ttl }),
          ValidationError,
          `defaultTtl ${ttl}`,
        );
      }
      assert.equal((await queue.stats()).pending, 0);
      const id = await queue.enqueue("t", null, { ttl: MAX_TTL });
      const job = await queue.get(id);
      assert.equal(job?.ttl, MAX_TTL);
      assert.equal(job?.expiresAt, clock.now + MAX_TTL * 1000);
      clock.advance(MAX_TTL * 1000 - 1);
      assert.equal((await queue.claim())?.id, id);
      clock.advance(1);
      assert.equal(await queue.get(id), null);
    },
  },
  {
    name: "defaultTtl applies to jobs enqueued without a ttl",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock, defaultTtl: 5 });
      const plain = await queue.enqueue("t", null);
      const own = await queue.enqueue("t", null, { ttl: 60 });
      assert.equal((await queue.get(plain))?.expiresAt, clock.now + 5_000);
      clock.advance(5_000);
      assert.equal(await queue.get(plain), null);
      assert.equal((await queue.claim())?.id, own);
    },
  },
];
