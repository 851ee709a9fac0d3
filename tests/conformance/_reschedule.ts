/**
 * §7.5 reschedule: a pending job's runAt (or delay) and priority change,
 * its place among equals stays its enqueue order, anything else is left
 * alone, and bad input is a ValidationError. Claims on the queue's clock;
 * the wake-up case in real time with generous bounds.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ValidationError } from "../../src/errors.ts";
import type { JobUpdate } from "../../src/types.ts";
import { createWorker } from "../../src/worker/mod.ts";
import { type Case, waitFor } from "./_context.ts";

/** The reschedule cases. */
export const rescheduleCases: Case[] = [
  {
    name: "reschedule() moves a pending job's runAt later and earlier",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const updates: JobUpdate[] = [];
      const stop = await queue.listen("queue", (e) => {
        if (e.kind === "update") updates.push(e.update);
      });
      ctx.defer(stop);
      const x = await queue.enqueue("t", 1);
      const start = clock.now;
      assert.equal(await queue.reschedule(x, { delay: 5_000 }), true);
      assert.equal((await queue.get(x))?.runAt, start + 5_000);
      assert.equal((await queue.get(x))?.status, "pending");
      assert.equal(await queue.claim(), null);
      const y = await queue.enqueue("t", 2, { delay: 3_600_000 });
      assert.equal(await queue.reschedule(y, { runAt: new Date(start) }), true);
      assert.equal((await queue.claim())?.id, y, "due at once");
      clock.advance(4_999);
      assert.equal(await queue.claim(), null);
      clock.advance(1);
      assert.equal((await queue.claim())?.id, x);
      const z = await queue.enqueue("t", 3, { delay: 60_000 });
      assert.equal(await queue.reschedule(z, { runAt: start - 1 }), true);
      assert.equal(
        (await queue.get(z))?.runAt,
        clock.now,
        "a past runAt is now",
      );
      await waitFor(
        "the reschedule's update",
        () =>
          updates.some((u) =>
            u.jobId === x && u.status === "pending" && u.at === start
          ),
      );
    },
  },
  {
    name:
      "reschedule() changes priority and keeps the job's FIFO place among equals",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const [a, b, c] = await queue.enqueueMany(
        [1, 2, 3].map((n) => ({ type: "t", data: n })),
      );
      assert.equal(await queue.reschedule(a!, { priority: "low" }), true);
      assert.equal((await queue.get(a!))?.priority, 1);
      assert.equal(await queue.reschedule(c!, { priority: 50 }), true);
      assert.equal(await queue.reschedule(a!, { priority: "normal" }), true);
      const claimed = await queue.claimMany(3);
      assert.deepEqual(claimed.map((j) => j.id), [c, a, b]);
      assert.equal(claimed[0]!.priority, 50);
      // A delayed job made due later keeps its place too.
      const [d, e] = await queue.enqueueMany([
        { type: "t", data: 4, options: { delay: 1_000 } },
        { type: "t", data: 5 },
      ]);
      assert.equal(await queue.reschedule(d!, { delay: 0, priority: 5 }), true);
      assert.deepEqual((await queue.claimMany(2)).map((j) => j.id), [d, e]);
    },
  },
  {
    name:
      "reschedule() returns false for a processing, complete, cancelled or unknown job, or no change",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const [p, q, r, s] = await queue.enqueueMany(
        [1, 2, 3, 4].map((n) => ({ type: "t", data: n })),
      );
      const [jp, jq] = await queue.claimMany(2);
      await queue.complete(jq!, null);
      await queue.cancel(r!);
      assert.equal(await queue.reschedule(p!, { delay: 1_000 }), false);
      assert.equal(await queue.reschedule(q!, { priority: 9 }), false);
      assert.equal(await queue.reschedule(r!, { priority: 9 }), false);
      assert.equal(await queue.reschedule("nope", { priority: 9 }), false);
      assert.equal(await queue.reschedule(s!, { priority: "normal" }), false);
      assert.equal(await queue.reschedule(s!, { runAt: clock.now }), false);
      assert.equal((await queue.get(p!))?.status, "processing");
      await queue.heartbeat(jp!); // its lease still holds
      assert.equal((await queue.get(q!))?.status, "complete");
      assert.equal((await queue.get(s!))?.version, 1, "no change, no version");
    },
  },
  {
    name: "reschedule() rejects bad input with ValidationError",
    async run(ctx) {
      const queue = ctx.queue();
      const id = await queue.enqueue("t", 1);
      const bad: unknown[] = [
        {},
        null,
        { runAt: Date.now(), delay: 5 },
        { priority: 0 },
        { priority: 101 },
        { priority: 2.5 },
        { priority: "urgent" },
        { delay: -1 },
        { delay: NaN },
        { runAt: Infinity },
        { runAt: new Date(NaN) },
      ];
      for (const options of bad) {
        await assert.rejects(
          // deno-lint-ignore no-explicit-any
          queue.reschedule(id, options as any),
          ValidationError,
          JSON.stringify(options),
        );
      }
      await assert.rejects(
        queue.reschedule(42 as unknown as string, { delay: 1 }),
        ValidationError,
      );
      const job = await queue.get(id);
      assert.equal(job?.version, 1, "nothing changed");
    },
  },
  {
    name: "an idle worker starts a job promptly when reschedule() makes it due",
    async run(ctx) {
      if (!ctx.backend.capabilities.wakeups) return; // nothing to wake it
      const queue = ctx.queue();
      const started: number[] = [];
      const worker = createWorker(queue, {
        t: () => void started.push(Date.now()),
      }, { pollInterval: 60_000 });
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      const id = await queue.enqueue("t", null, { delay: 3_600_000 });
      await new Promise((r) => setTimeout(r, 300));
      const at = Date.now();
      assert.equal(await queue.reschedule(id, { delay: 0 }), true);
      await waitFor("the job to start", () => started.length > 0, {
        timeout: 5_000,
      });
      const waited = started[0]! - at;
      assert.ok(waited < 2_000, `started ${waited} ms after reschedule`);
    },
  },
];
