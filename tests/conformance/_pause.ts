/**
 * §7.2 Pause and resume: a paused queue or type is claimed by nobody,
 * enqueue still works, running jobs finish, the state lives in the backend,
 * and resume wakes idle workers. Claims on the queue's clock; the wake-up
 * case in real time with generous bounds.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createWorker } from "../../src/worker/mod.ts";
import { type Case, gate, sleep, waitFor, wrapClaim } from "./_context.ts";

/** The pause cases. */
export const pauseCases: Case[] = [
  {
    name:
      "pause() reaches the jobs a worker claimed and has not started: they go back to pending, unstarted, as do those of a claim under way, and run after resume()",
    async run(ctx) {
      // Each claim asks the backend for 3 jobs (as a worker claiming ahead
      // would); `hold`, while set, keeps a claim's jobs from the worker
      // until it opens.
      let hold: { promise: Promise<void>; open: () => void } | undefined;
      let held = gate();
      const backend = wrapClaim(ctx.backend, async (inner, queue, request) => {
        const jobs = await inner.claim(queue, { ...request, limit: 3 });
        const wait = hold;
        if (wait !== undefined && jobs.length > 0) {
          held.open();
          await wait.promise;
        }
        return jobs;
      });
      const queue = ctx.queue({ backend });
      const heard: string[] = [];
      const unlisten = await queue.listen("worker", (e) => {
        if (e.kind === "paused") heard.push(e.type ?? "*");
      });
      ctx.defer(unlisten);
      const first = gate();
      const started: unknown[] = [];
      const worker = createWorker(queue, {
        t: async (job) => {
          started.push(job.data);
          if (job.data === 0) await first.promise;
          return null;
        },
      }, { concurrency: 1, pollInterval: 50 });
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      const ids = await queue.enqueueMany(
        [0, 1, 2].map((i) => ({ type: "t", data: i })),
      );
      // Claimed ahead: job 0 runs, 1 and 2 wait in the worker's line.
      await waitFor("job 0 to start", () => started.length === 1);
      await waitFor("two jobs in line", () => worker.prefetched === 2);
      await queue.pause();
      await waitFor("the pause to be heard", () => heard.length === 1);
      await waitFor("the line to empty", () => worker.prefetched === 0);
      for (const id of ids.slice(1)) {
        await waitFor(
          "the job to be given back",
          async () => (await queue.get(id))?.status === "pending",
        );
        const job = await queue.get(id);
        assert.equal(job?.attempt, 0, "its attempt not counted");
      }
      first.open();
      await waitFor(
        "job 0 to complete",
        async () => (await queue.get(ids[0]!))?.status === "complete",
      );
      assert.deepEqual(started, [0], "nothing else started");
      // A claim under way as the pause comes: its jobs go back too.
      hold = gate();
      held = gate();
      await queue.resume();
      await held.promise;
      await queue.pause("t");
      await waitFor("the pause to be heard", () => heard.length === 2);
      hold.open();
      for (const id of ids.slice(1)) {
        await waitFor(
          "the job to be given back",
          async () => (await queue.get(id))?.status === "pending",
        );
      }
      await sleep(200);
      assert.deepEqual(started, [0], "nothing of the claim under way started");
      hold = undefined;
      await queue.resume("t");
      await waitFor("every job to run", () => started.length === 3);
      assert.deepEqual(heard, ["*", "t"]);
    },
  },
  {
    name:
      "pause() stops claims of every type, enqueue still works, and resume() makes the jobs claimable",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const a = await queue.enqueue("a", 1);
      assert.equal(await queue.pause(), true);
      assert.equal(await queue.pause(), false, "already paused");
      const b = await queue.enqueue("b", 2);
      assert.equal((await queue.stats()).pending, 2, "enqueue still works");
      assert.deepEqual(await queue.claimMany(5), []);
      assert.equal(await queue.claim({ types: ["a"] }), null);
      clock.advance(60_000);
      assert.equal(await queue.claim({ types: ["a", "b"] }), null);
      assert.equal(await queue.isPaused(), true);
      assert.equal(
        await queue.isPaused("a"),
        true,
        "the queue's pause covers a type",
      );
      assert.equal(await queue.resume(), true);
      assert.equal(await queue.resume(), false, "already resumed");
      assert.equal(await queue.isPaused(), false);
      assert.deepEqual((await queue.claimMany(5)).map((j) => j.id), [a, b]);
    },
  },
  {
    name:
      "pause(type) holds back that type only, and the state is the backend's",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const other = ctx.queue({ name: queue.name, clock: clock.clock });
      const a = await queue.enqueue("a", 1, { priority: "high" });
      const b = await queue.enqueue("b", 2);
      assert.equal(await queue.pause("a"), true);
      assert.equal(
        await other.isPaused("a"),
        true,
        "another queue object sees it",
      );
      assert.equal(await other.isPaused("b"), false);
      assert.equal(await other.isPaused(), false);
      assert.equal(await other.claim({ types: ["a"] }), null);
      assert.deepEqual((await other.claimMany(5)).map((j) => j.id), [b]);
      const a2 = await queue.enqueue("a", 3);
      // A type paused on its own stays paused when the queue resumes.
      await queue.pause();
      await queue.resume();
      assert.equal(await other.claim(), null);
      assert.equal(await other.resume("a"), true);
      assert.equal(await queue.isPaused("a"), false);
      assert.deepEqual((await queue.claimMany(5)).map((j) => j.id), [a, a2]);
    },
  },
  {
    name: "a paused queue's running jobs can still be updated and complete",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const [x, y] = await queue.enqueueMany([
        { type: "t", data: 1 },
        { type: "t", data: 2 },
      ]);
      const [jx, jy] = await queue.claimMany(2);
      await queue.pause();
      await queue.update(jx!, { progress: 0.5 });
      await queue.heartbeat(jx!);
      await queue.complete(jx!, "done");
      assert.equal(await queue.fail(jy!, new Error("again")), "pending");
      clock.advance(3_600_000);
      assert.equal((await queue.get(x!))?.status, "complete");
      assert.equal(await queue.claim(), null, "the retry waits for resume");
      await queue.resume();
      assert.equal((await queue.claim())?.id, y);
    },
  },
  {
    name:
      "an idle worker starts promptly after resume(), well within its poll interval",
    async run(ctx) {
      if (!ctx.backend.capabilities.wakeups) return; // nothing to wake it
      const queue = ctx.queue();
      await queue.pause();
      const started: number[] = [];
      const worker = createWorker(queue, {
        t: () => void started.push(Date.now()),
      }, { pollInterval: 60_000 });
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      const id = await queue.enqueue("t", null);
      await sleep(400);
      assert.equal(started.length, 0, "no job starts while paused");
      const resumedAt = Date.now();
      await queue.resume();
      await waitFor("the job to start", () => started.length > 0, {
        timeout: 5_000,
      });
      const waited = started[0]! - resumedAt;
      assert.ok(waited < 2_000, `started ${waited} ms after resume`);
      await waitFor(
        "the job to complete",
        async () => (await queue.get(id))?.status === "complete",
      );
    },
  },
  {
    name:
      "a job claimed ahead and cancelled while a pause gives it back frees no slot it never took: the worker stays within its concurrency",
    async run(ctx) {
      for (const how of ["worker", "queue"] as const) {
        // Each claim asks the backend for 2 jobs: one runs, one waits.
        const backend = wrapClaim(
          ctx.backend,
          (inner, queue, request) =>
            inner.claim(queue, { ...request, limit: 2 }),
        );
        const queue = ctx.queue({ backend });
        let running = 0;
        let most = 0;
        const started: unknown[] = [];
        const gates: (() => void)[] = [];
        let free = false;
        const worker = createWorker(queue, {
          t: async (job) => {
            running++;
            most = Math.max(most, running);
            started.push(job.data);
            if (!free) {
              await new Promise<void>((resolve) => gates.push(resolve));
            }
            running--;
          },
        }, { concurrency: 1, pollInterval: 20 });
        ctx.defer(async () => {
          free = true;
          for (const open of gates.splice(0)) open();
          await worker.stop({ timeout: 1_000 });
        });
        const [, second] = await queue.enqueueMany([
          { type: "t", data: 1 },
          { type: "t", data: 2 },
        ]);
        await waitFor("the first job to run", () => started.length === 1);
        await waitFor("the second in line", () => worker.prefetched === 1);
        await Promise.all([
          how === "worker" ? worker.pause() : queue.pause(),
          queue.cancel(second!),
        ]);
        if (how === "worker") worker.resume();
        else await queue.resume();
        await queue.enqueueMany([3, 4].map((data) => ({ type: "t", data })));
        await sleep(300);
        assert.equal(most, 1, `${how} pause: at most one handler at once`);
        assert.deepEqual(started, [1], `${how} pause: job 1 still runs`);
        free = true;
        for (const open of gates.splice(0)) open();
        await waitFor("jobs 3 and 4 to run", () => started.length === 3);
        assert.equal(most, 1);
      }
    },
  },
];
