/**
 * The hand-off, on backends that have `enqueueClaim` (memory, SQLite,
 * PostgreSQL): the enqueue and the claim are one atomic step, the claim
 * keeps every rule of a claim (order, due time, types, pause, limits,
 * keys), and an idle worker of the process gets an enqueued job from the
 * enqueue itself, no claim of its own finding it. A backend without
 * `enqueueClaim` skips these cases (the Redis suites do).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Backend, JobRecord } from "../../src/backend/interface.ts";
import { createWorker } from "../../src/worker/mod.ts";
import {
  type Case,
  type CaseContext,
  newJob,
  sleep,
  waitFor,
} from "./_context.ts";

const LEASE = 30_000;

/** The backend's enqueueClaim: a case fails clearly without one. */
function enqueueClaimOf(
  ctx: CaseContext,
): NonNullable<Backend["enqueueClaim"]> {
  const fn = ctx.backend.enqueueClaim;
  assert.ok(
    fn !== undefined,
    `${ctx.backend.name} has no enqueueClaim: skip the hand-off cases`,
  );
  return fn.bind(ctx.backend);
}

const ids = (jobs: readonly JobRecord[]) => jobs.map((j) => j.id);

/** The hand-off cases. */
export const handOffCases: Case[] = [
  {
    name:
      "enqueueClaim stores a batch and claims from it in the same step: the claimed jobs are processing under a lease, the rest pending",
    async run(ctx) {
      const enqueueClaim = enqueueClaimOf(ctx);
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const now = clock.now;
      const { outcomes, claimed } = await enqueueClaim(queue.name, [
        newJob("hand-1", null, now),
        newJob("hand-2", null, now),
        newJob("hand-3", null, now),
      ], { types: null, limit: 2, leaseMs: LEASE, now });
      assert.deepEqual(outcomes, [
        { id: "hand-1", created: true },
        { id: "hand-2", created: true },
        { id: "hand-3", created: true },
      ]);
      assert.deepEqual(ids(claimed), ["hand-1", "hand-2"]);
      for (const job of claimed) {
        assert.equal(job.status, "processing");
        assert.equal(job.attempt, 1);
        assert.equal(job.lease?.until, now + LEASE);
      }
      const stats = await queue.stats();
      assert.deepEqual([stats.pending, stats.processing], [1, 2]);
      const job = await queue.claim();
      assert.equal(job?.id, "hand-3", "the job not claimed stays pending");
    },
  },
  {
    name:
      "enqueueClaim claims as claim() does: the best pending job first, only due jobs, only the types asked",
    async run(ctx) {
      const enqueueClaim = enqueueClaimOf(ctx);
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const now = clock.now;
      const urgent = await queue.enqueue("tick", 1, { priority: 90 });
      const later = await queue.enqueue("tick", 2, { delay: 60_000 });
      const first = await enqueueClaim(queue.name, [
        newJob("new-1", null, now),
      ], { types: null, limit: 1, leaseMs: LEASE, now });
      assert.deepEqual(ids(first.claimed), [urgent], "the best job first");
      const none = await enqueueClaim(queue.name, [
        newJob("new-2", null, now),
      ], { types: ["other"], limit: 5, leaseMs: LEASE, now });
      assert.deepEqual(none.claimed, [], "no job of another type");
      const rest = await enqueueClaim(queue.name, [
        newJob("new-3", null, now),
      ], { types: ["tick"], limit: 5, leaseMs: LEASE, now });
      assert.deepEqual(
        ids(rest.claimed),
        ["new-1", "new-2", "new-3"],
        "enqueue order among equals; the delayed job is not due",
      );
      assert.equal((await queue.get(later))?.status, "pending");
    },
  },
  {
    name:
      "enqueueClaim honours pause, concurrency limits and keys: what it may not claim stays pending, a held key creates nothing",
    async run(ctx) {
      const enqueueClaim = enqueueClaimOf(ctx);
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const now = clock.now;
      const ask = { types: null, limit: 5, leaseMs: LEASE, now };
      await queue.pause();
      const paused = await enqueueClaim(queue.name, [
        newJob("p-1", null, now),
      ], ask);
      assert.deepEqual(paused.claimed, [], "a paused queue is claimed by none");
      await queue.resume();
      await queue.setLimits({ concurrency: 1 });
      const one = await enqueueClaim(queue.name, [
        newJob("p-2", null, now),
      ], ask);
      assert.deepEqual(ids(one.claimed), ["p-1"], "one at a time");
      const full = await enqueueClaim(queue.name, [
        newJob("p-3", null, now),
      ], ask);
      assert.deepEqual(full.claimed, [], "the limit is full");
      const keyed = await enqueueClaim(queue.name, [
        newJob("k-1", "the-key", now),
        newJob("k-2", "the-key", now),
      ], ask);
      assert.deepEqual(keyed.outcomes, [
        { id: "k-1", created: true },
        { id: "k-1", created: false },
      ]);
      assert.equal(await queue.get("k-2"), null, "a held key creates nothing");
      assert.equal((await queue.stats()).pending, 3);
    },
  },
  {
    name:
      "an idle worker of the process gets a job from the enqueue that stores it: no claim of its own finds the job",
    async run(ctx) {
      enqueueClaimOf(ctx);
      const found: string[] = [];
      let claims = 0;
      let claiming = 0;
      const inner = ctx.backend;
      // Counts the worker's own claims and what they find; the enqueue's
      // claim (enqueueClaim) is the backend's own, untouched.
      const backend = new Proxy(inner, {
        get(target, prop) {
          if (prop === "claim") {
            return async (...args: Parameters<Backend["claim"]>) => {
              claiming++;
              try {
                const jobs = await target.claim(...args);
                found.push(...ids(jobs));
                return jobs;
              } finally {
                claiming--;
                claims++;
              }
            };
          }
          const value = Reflect.get(target, prop, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      const queue = ctx.queue({ backend });
      const started: string[] = [];
      const worker = createWorker(queue, {
        t: (job) => void started.push(job.id),
      }, { pollInterval: 60_000, concurrency: 2 });
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      // Idle: the worker's claims (its first, and those the enqueues'
      // wake-ups set off) are over, however slow the store.
      const idle = async () => {
        await sleep(100);
        await waitFor("the worker's claims to end", () => claiming === 0);
      };
      await waitFor("the worker's first claim", () => claims > 0);
      await idle();
      const a = await queue.enqueue("t", 1);
      await waitFor(
        "the first job to complete",
        async () => (await queue.stats()).complete === 1,
      );
      await idle();
      const [b, c] = await queue.enqueueMany([
        { type: "t", data: 2 },
        { type: "t", data: 3 },
      ]);
      await waitFor("the jobs to run", () => started.length === 3);
      assert.deepEqual(started.sort(), [a, b, c].sort());
      assert.deepEqual(found, [], "the jobs came with the enqueues");
      await waitFor(
        "the jobs to complete",
        async () => (await queue.stats()).complete === 3,
      );
    },
  },
  {
    name:
      "a hand-off under way as queue.pause() is heard gives its job back: it stays pending and runs after resume()",
    async run(ctx) {
      enqueueClaimOf(ctx);
      // The backend's enqueueClaim, held back (once `gate` is set) after it
      // stored and claimed, until the pause has been heard.
      let gate: Promise<void> | undefined;
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      const backend = new Proxy(ctx.backend, {
        get(target, prop) {
          if (prop === "enqueueClaim") {
            return async (
              ...args: Parameters<NonNullable<Backend["enqueueClaim"]>>
            ) => {
              const out = await target.enqueueClaim!(...args);
              if (gate !== undefined && out.claimed.length > 0) {
                entered();
                await gate;
              }
              return out;
            };
          }
          const value = Reflect.get(target, prop, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      const queue = ctx.queue({ backend });
      const heard: unknown[] = [];
      ctx.defer(
        await queue.listen("worker", (e) => {
          if (e.kind === "paused") heard.push(e);
        }),
      );
      const started: unknown[] = [];
      const worker = createWorker(queue, {
        t: (job) => void started.push(job.data),
      }, { concurrency: 2, pollInterval: 60_000 });
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      await queue.enqueue("t", 0);
      await waitFor("the first job to run", () => started.length === 1);
      await sleep(50); // idle again, offering to take
      let open!: () => void;
      gate = new Promise<void>((resolve) => (open = resolve));
      const enqueued = queue.enqueue("t", 1);
      await inside;
      await queue.pause();
      await waitFor("the pause to be heard", () => heard.length === 1);
      open();
      const id = await enqueued;
      await waitFor(
        "the job to be given back",
        async () => (await queue.get(id))?.status === "pending",
      );
      await sleep(100);
      assert.deepEqual(started, [0], "nothing started while paused");
      gate = undefined;
      await queue.resume();
      await waitFor("the job to run", () => started.length === 2);
    },
  },
];
