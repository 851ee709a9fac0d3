/**
 * A worker's part in schedules: it fires a due schedule as it starts and
 * then every poll interval, not while paused; when the store fails, it
 * reports each failure and looks less and less often, then recovers. On a
 * memory queue whose clock the test moves; the waits are real and short.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { memoryBackend } from "../backends/memory/mod.ts";
import { BackendError } from "../src/errors.ts";
import { createQueue } from "../src/queue.ts";
import { createWorker } from "../src/worker/mod.ts";
import { sleep, waitFor } from "./_support/time.ts";

describe("a worker's schedule looks", () => {
  test("a due schedule runs as the worker starts; a paused worker fires none until resumed", async () => {
    let now = Date.now();
    await using queue = createQueue({ clock: () => now });
    await queue.schedule("tick", { every: 60_000, type: "tick" });
    now += 60_000;
    const runs: number[] = [];
    const handlers = {
      tick: (j: { runAt: number }) => void runs.push(j.runAt),
    };
    const first = createWorker(queue, handlers, {
      pollInterval: 60_000, // only the look at start can fire it in time
    });
    await waitFor("the due occurrence to run", () => runs.length === 1);
    await first.stop();
    const second = createWorker(queue, handlers, { pollInterval: 20 });
    try {
      await second.pause();
      now += 60_000;
      await sleep(200); // ten poll intervals
      assert.equal((await queue.stats()).pending, 0, "paused: nothing fired");
      second.resume();
      await waitFor("the next occurrence to run", () => runs.length === 2);
    } finally {
      await second.stop();
    }
  });

  test("while the store fails, each failure is reported and the looks slow down; then it recovers", async () => {
    const inner = memoryBackend();
    let failing = true;
    const backend = {
      ...inner,
      listSchedules: (...args: Parameters<typeof inner.listSchedules>) =>
        failing
          ? Promise.reject(new Error("store unavailable"))
          : inner.listSchedules(...args),
    };
    await using queue = createQueue({ backend });
    const errors: unknown[] = [];
    const worker = createWorker(queue, { tick: () => "ok" }, {
      pollInterval: 20,
      onError: (err) => void errors.push(err),
    });
    try {
      await sleep(1_000);
      // Every 20 ms, 50 looks would fail; doubling waits, about 6.
      assert.ok(errors.length >= 3 && errors.length <= 10, `${errors.length}`);
      for (const err of errors) assert.ok(err instanceof BackendError);
      failing = false;
      await queue.schedule("tick", { every: 1, type: "tick" });
      await waitFor(
        "a job of the schedule to complete",
        async () => (await queue.stats()).complete > 0,
        { timeout: 10_000 },
      );
    } finally {
      await worker.stop();
      await inner.close();
    }
  });
});
