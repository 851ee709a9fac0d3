/**
 * §4.9 Updates: subscribe() to one job (current state first, each update in
 * order, ends on a terminal status, on removal, on abort) and to a whole
 * queue. Real time: these cases depend on the backend's event delivery.
 *
 * @module
 */

import assert from "node:assert/strict";
import { JobNotFoundError } from "../../src/errors.ts";
import { newId } from "../../src/id.ts";
import type { Queue } from "../../src/queue_types.ts";
import { subscribe } from "../../src/subscribe.ts";
import type { JobUpdate } from "../../src/types.ts";
import { createWorker } from "../../src/worker/mod.ts";
import { type Case, sleep, waitFor } from "./_context.ts";

async function collect(
  iterator: AsyncIterable<JobUpdate>,
  into: JobUpdate[] = [],
): Promise<JobUpdate[]> {
  for await (const update of iterator) into.push(update);
  return into;
}

function assertIncreasing(updates: JobUpdate[]): void {
  for (let i = 1; i < updates.length; i++) {
    assert.ok(
      updates[i]!.version > updates[i - 1]!.version,
      `versions increase: ${updates.map((u) => u.version).join(", ")}`,
    );
  }
}

/** Resolves once a queue-wide subscription already hears updates. */
async function primed(queue: Queue, seen: JobUpdate[]): Promise<void> {
  await waitFor("the subscription to hear a probe", async () => {
    await queue.enqueue("probe", null);
    await sleep(20);
    return seen.length > 0;
  }, { timeout: 5_000, interval: 30 });
}

/** The update cases. */
export const updateCases: Case[] = [
  {
    name:
      "subscribe(queue, id) yields the current state, then each update in order, and ends after a terminal status",
    async run(ctx) {
      const queue = ctx.queue();
      const id = await queue.enqueue("t", { n: 1 });
      const iterator = subscribe(queue, id)[Symbol.asyncIterator]();
      const first = await iterator.next();
      assert.equal(first.done, false);
      assert.equal(first.value?.jobId, id);
      assert.equal(first.value?.type, "t");
      assert.equal(first.value?.status, "pending");
      assert.equal(first.value?.version, 1);
      const rest = collect({ [Symbol.asyncIterator]: () => iterator });
      const worker = createWorker(queue, {
        t: async (_job, { progress }) => {
          await progress(0.25, "one");
          await progress(0.5);
          await progress(0.75, "three");
          return { done: true };
        },
      }, { pollInterval: 50 });
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      const updates = [first.value!, ...await rest];
      assert.deepEqual(
        updates.map((u) => [u.status, u.progress, u.message, u.attempt]),
        [
          ["pending", 0, "", 0],
          ["processing", 0, "", 1],
          ["processing", 0.25, "one", 1],
          ["processing", 0.5, "one", 1],
          ["processing", 0.75, "three", 1],
          ["complete", 0.75, "three", 1],
        ],
      );
      assertIncreasing(updates);
      assert.deepEqual(updates.at(-1)?.result, { done: true });
      for (const u of updates) {
        assert.equal(u.jobId, id);
        assert.equal(typeof u.at, "number");
      }
    },
  },
  {
    name: "subscribe() on a finished job yields its state once and returns",
    async run(ctx) {
      const queue = ctx.queue();
      const id = await queue.enqueue("t", null);
      await queue.complete((await queue.claim())!, [1, 2]);
      const updates = await collect(subscribe(queue, id));
      assert.equal(updates.length, 1);
      assert.equal(updates[0]?.status, "complete");
      assert.deepEqual(updates[0]?.result, [1, 2]);
      const failed = await queue.enqueue("t", null);
      await queue.fail((await queue.claim())!, new Error("no"), {
        retry: false,
      });
      const more = await collect(subscribe(queue, failed));
      assert.deepEqual(more.map((u) => u.status), ["failed"]);
      assert.equal(more[0]?.error?.message, "no");
    },
  },
  {
    name: "subscribe() on an unknown job yields nothing and returns",
    async run(ctx) {
      const queue = ctx.queue();
      assert.deepEqual(await collect(subscribe(queue, newId())), []);
    },
  },
  {
    name:
      'subscribe(queue, id, { ifMissing: "throw" }) throws JobNotFoundError for an unknown job and for one gone before it finished',
    async run(ctx) {
      const queue = ctx.queue();
      const unknown = newId();
      const missing = (err: unknown) => {
        assert.ok(err instanceof JobNotFoundError, String(err));
        assert.equal(err.code, "JOB_NOT_FOUND");
        assert.equal(err.jobId, unknown);
        return true;
      };
      const options = { ifMissing: "throw" as const };
      await assert.rejects(
        collect(subscribe(queue, unknown, options)),
        missing,
      );
      const id = await queue.enqueue("t", null);
      const seen: JobUpdate[] = [];
      const done = collect(
        subscribe(queue, id, { ...options, resyncInterval: 100 }),
        seen,
      );
      await waitFor("the current state", () => seen.length === 1);
      assert.equal(await queue.remove(id), true);
      await assert.rejects(done, (err: unknown) => {
        assert.ok(err instanceof JobNotFoundError, String(err));
        assert.equal(err.jobId, id);
        return true;
      });
      const finished = await queue.enqueue("t", null);
      await queue.complete((await queue.claim())!, 1);
      const last = await collect(subscribe(queue, finished, options));
      assert.deepEqual(last.map((u) => u.status), ["complete"]);
    },
  },
  {
    name: "subscribe() ends when its signal aborts",
    async run(ctx) {
      const queue = ctx.queue();
      const id = await queue.enqueue("t", null);
      const controller = new AbortController();
      const seen: JobUpdate[] = [];
      const done = collect(
        subscribe(queue, id, { signal: controller.signal }),
        seen,
      );
      await waitFor("the current state", () => seen.length === 1);
      controller.abort();
      await done;
      assert.deepEqual(seen.map((u) => u.status), ["pending"]);
      const aborted = AbortSignal.abort();
      assert.deepEqual(
        await collect(subscribe(queue, id, { signal: aborted })),
        [],
      );
      assert.deepEqual(
        await collect(subscribe(queue, undefined, { signal: aborted })),
        [],
      );
    },
  },
  {
    name: "subscribe() ends when the job is removed",
    async run(ctx) {
      const queue = ctx.queue();
      const id = await queue.enqueue("t", null);
      const seen: JobUpdate[] = [];
      const done = collect(subscribe(queue, id, { resyncInterval: 100 }), seen);
      await waitFor("the current state", () => seen.length === 1);
      assert.equal(await queue.remove(id), true);
      let ended = false;
      void done.then(() => (ended = true));
      await waitFor("the iteration to end", () => ended, { timeout: 5_000 });
      assert.deepEqual(seen.map((u) => u.status), ["pending"]);
    },
  },
  {
    name:
      "subscribe(queue) yields the updates of every job of the queue until aborted",
    async run(ctx) {
      const queue = ctx.queue();
      const controller = new AbortController();
      const seen: JobUpdate[] = [];
      const done = collect(
        subscribe(queue, undefined, { signal: controller.signal }),
        seen,
      );
      await primed(queue, seen);
      const [a, b, c] = await queue.enqueueMany([
        { type: "t", data: "a" },
        { type: "u", data: "b" },
        { type: "t", data: "c" },
      ]);
      const [ja, jb] = await queue.claimMany(2, { types: ["t", "u"] });
      assert.deepEqual([ja?.id, jb?.id], [a, b]);
      await queue.update(jb!, { progress: 0.5, message: "half" });
      await queue.complete(jb!, "B");
      await queue.update(ja!, { message: "working" });
      await queue.fail(ja!, new Error("A failed"), { retry: false });
      await queue.cancel(c!, "not needed");
      await queue.retry(c!);
      const of = (id: string) => seen.filter((u) => u.jobId === id);
      await waitFor(
        "every update",
        () => of(c!).length === 3 && of(a!).length === 4 && of(b!).length === 4,
      );
      assert.deepEqual(
        of(a!).map((u) => [u.status, u.message]),
        [["pending", ""], ["processing", ""], ["processing", "working"], [
          "failed",
          "working",
        ]],
      );
      assert.equal(of(a!).at(-1)?.error?.message, "A failed");
      assert.deepEqual(
        of(b!).map((u) => [u.status, u.progress]),
        [["pending", 0], ["processing", 0], ["processing", 0.5], [
          "complete",
          0.5,
        ]],
      );
      assert.equal(of(b!).at(-1)?.result, "B");
      assert.deepEqual(
        of(c!).map((u) => u.status),
        ["pending", "cancelled", "pending"],
      );
      assert.equal(of(c!)[1]?.error?.message, "not needed");
      for (const id of [a!, b!, c!]) assertIncreasing(of(id));
      controller.abort();
      await done;
      const count = seen.length;
      await queue.enqueue("t", "after");
      await sleep(50);
      assert.equal(seen.length, count, "nothing after the abort");
    },
  },
  {
    name:
      "a lease expiry, a cancel and a retry each publish an update to subscribers",
    async run(ctx) {
      const clock = ctx.fakeClock();
      const queue = ctx.queue({ clock: clock.clock });
      const id = await queue.enqueue("t", null);
      const seen: JobUpdate[] = [];
      const done = collect(subscribe(queue, id), seen);
      await waitFor("the current state", () => seen.length === 1);
      await queue.claim({ leaseMs: 1_000 });
      clock.advance(1_000);
      await queue.claim({ types: ["other"] });
      await waitFor("the expiry", () => seen.length === 3);
      assert.deepEqual(
        seen.map((u) => [u.status, u.attempt, u.error?.message]),
        [
          ["pending", 0, undefined],
          ["processing", 1, undefined],
          ["pending", 1, "lease expired"],
        ],
      );
      assert.equal(await queue.cancel(id, "enough"), true);
      await done;
      assert.deepEqual(seen.at(-1)?.status, "cancelled");
      assert.deepEqual(seen.at(-1)?.error?.message, "enough");
      assertIncreasing(seen);
      const finished = await collect(subscribe(queue, id));
      assert.deepEqual(finished.map((u) => u.status), ["cancelled"]);
      assert.equal(await queue.retry(id), true);
      const retried: JobUpdate[] = [];
      const more = collect(subscribe(queue, id), retried);
      await waitFor("the retried state", () => retried.length === 1);
      await queue.complete((await queue.claim())!, "ok");
      await more;
      assert.deepEqual(
        retried.map((u) => [u.status, u.attempt, u.error?.message]),
        [["pending", 0, undefined], ["processing", 1, undefined], [
          "complete",
          1,
          undefined,
        ]],
      );
    },
  },
  {
    name:
      "subscribe() hears updates made through another queue object of the same name",
    async run(ctx) {
      const watcher = ctx.queue();
      const actor = ctx.queue({ name: watcher.name });
      const id = await actor.enqueue("t", null);
      const seen: JobUpdate[] = [];
      const done = collect(subscribe(watcher, id), seen);
      await waitFor("the current state", () => seen.length === 1);
      const job = await actor.claim();
      await actor.update(job!, { progress: 0.5 });
      await actor.complete(job!, 1);
      await done;
      assert.deepEqual(seen.map((u) => [u.status, u.progress]), [
        ["pending", 0],
        ["processing", 0],
        ["processing", 0.5],
        ["complete", 0.5],
      ]);
    },
  },
];
