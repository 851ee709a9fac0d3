/**
 * worker.pause() and worker.resume(), for one worker: paused, it claims
 * and starts nothing, its running handlers finish, and the jobs it holds
 * claimed ahead, or that a claim under way brings back, go back to the
 * queue unstarted; resume() claims again at once, without waiting for a
 * poll. On a memory queue; the waits are real and short.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { memoryBackend } from "../backends/memory/mod.ts";
import type { Backend } from "../src/backend/interface.ts";
import { createQueue } from "../src/queue.ts";
import { createWorker } from "../src/worker/mod.ts";
import { sleep, waitFor } from "./_support/time.ts";
import { wrapClaim } from "./conformance/_context.ts";

/** A handler that waits at a gate the test opens. */
function gated(): { handler: () => Promise<string>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { handler: () => promise.then(() => "ok"), open };
}

/** A memory backend whose claims go through `claim`. */
function withClaim(claim: Parameters<typeof wrapClaim>[1]): Backend {
  return wrapClaim(memoryBackend(), claim);
}

describe("worker.pause() and worker.resume()", () => {
  test("paused, a worker claims nothing while its running job finishes; resume() claims at once", async () => {
    await using queue = createQueue();
    const { handler, open } = gated();
    const worker = createWorker(queue, { t: handler }, {
      pollInterval: 30_000, // a prompt start after resume() is not a poll
    });
    try {
      const first = await queue.enqueue("t", null);
      await waitFor("the first job to run", () => worker.running === 1);
      await worker.pause();
      assert.equal(worker.paused, true);
      const second = await queue.enqueue("t", null);
      open();
      await waitFor(
        "the running job to finish",
        async () => (await queue.get(first))?.status === "complete",
      );
      await sleep(150);
      assert.equal((await queue.get(second))?.status, "pending");
      assert.equal(worker.running, 0);
      const resumed = Date.now();
      worker.resume();
      assert.equal(worker.paused, false);
      await waitFor(
        "the second job to run",
        async () => (await queue.get(second))?.status === "complete",
      );
      assert.ok(Date.now() - resumed < 1_000, "resume() woke the worker");
    } finally {
      await worker.stop({ timeout: 1_000 });
    }
  });

  test("pause() gives back the jobs claimed ahead, their attempt not counted", async () => {
    // Each claim asks for one job more than the worker wants, as a claim
    // ahead of a free slot would.
    const backend = withClaim((inner, name, request) =>
      inner.claim(name, { ...request, limit: request.limit + 1 })
    );
    await using queue = createQueue({ backend });
    const { handler, open } = gated();
    // Both jobs wait before the worker starts: its first claim takes them
    // both (a worker that listens at once would claim the first alone,
    // and hold nothing ahead while its one slot is busy).
    const running = await queue.enqueue("t", null);
    const ahead = await queue.enqueue("t", null);
    const worker = createWorker(queue, { t: handler }, { pollInterval: 50 });
    try {
      await waitFor(
        "one running, one ahead",
        () => worker.running === 1 && worker.prefetched === 1,
      );
      await worker.pause();
      assert.equal(worker.prefetched, 0);
      const back = await queue.get(ahead);
      assert.equal(back?.status, "pending");
      assert.equal(back?.attempt, 0);
      open();
      await waitFor(
        "the running job to finish",
        async () => (await queue.get(running))?.status === "complete",
      );
      await sleep(150);
      assert.equal((await queue.get(ahead))?.status, "pending");
    } finally {
      await worker.stop({ timeout: 1_000 });
      await backend.close();
    }
  });

  test("a claim that comes back after pause() gives its jobs back", async () => {
    let claimed = 0;
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const backend = withClaim(async (inner, ...args) => {
      claimed++;
      await held;
      return inner.claim(...args);
    });
    await using queue = createQueue({ backend });
    const id = await queue.enqueue("t", null);
    let ran = false;
    const worker = createWorker(queue, { t: () => void (ran = true) }, {
      pollInterval: 50,
    });
    try {
      await waitFor("a claim under way", () => claimed === 1);
      await worker.pause();
      release();
      await sleep(150);
      assert.equal(ran, false);
      const job = await queue.get(id);
      assert.equal(job?.status, "pending");
      assert.equal(job?.attempt, 0);
      worker.resume();
      await waitFor("the job to run after resume()", () => ran);
    } finally {
      await worker.stop({ timeout: 1_000 });
      await backend.close();
    }
  });

  test("stop() ends a paused worker, and pause() or resume() after stop() do nothing", async () => {
    await using queue = createQueue();
    const worker = createWorker(queue, { t: () => "ok" }, {
      pollInterval: 50,
    });
    await worker.pause();
    await worker.pause(); // twice is fine
    await worker.stop({ timeout: 1_000 });
    worker.resume();
    await worker.pause();
    const id = await queue.enqueue("t", null);
    await sleep(150);
    assert.equal((await queue.get(id))?.status, "pending");
    assert.equal(worker.stopped, true);
  });
});
