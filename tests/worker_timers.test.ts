/**
 * Durations longer than a timer holds: runtimes clamp a setTimeout or
 * setInterval above 2^31-1 ms (about 24.8 days) to 1 ms, so a lease, poll
 * interval, delay, stop timeout or re-read interval that long must never
 * reach a timer as it is. Real time, on a memory queue whose backend calls
 * are counted: the subject is how often timers fire.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { memoryBackend } from "../backends/memory/mod.ts";
import type { Backend } from "../src/backend/interface.ts";
import { longTimeout, MAX_TIMER_MS, timerMs } from "../src/timers.ts";
import { createQueue } from "../src/queue.ts";
import type { Queue } from "../src/queue_types.ts";
import { subscribe } from "../src/subscribe.ts";
import { createWorker } from "../src/worker/mod.ts";
import type { WorkerOptions } from "../src/worker/types.ts";
import { sleep, waitFor } from "./_support/time.ts";

/** About 116 days: far more than a timer holds. */
const LONG = 1e10;

/** A memory queue whose backend counts its calls by method. */
async function withCounted(
  body: (queue: Queue, calls: Record<string, number>) => Promise<void>,
): Promise<void> {
  const inner = memoryBackend();
  const calls: Record<string, number> = {};
  const backend = new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls[String(prop)] = (calls[String(prop)] ?? 0) + 1;
        return value.apply(target, args);
      };
    },
  }) as Backend;
  const queue = createQueue({ backend, leaseMs: LONG });
  try {
    await body(queue, calls);
  } finally {
    await queue.close();
    await inner.close();
  }
}

/** A worker of type "t" whose handlers wait for `open()`. */
function heldWorker(queue: Queue, options: WorkerOptions) {
  let open = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  const worker = createWorker(queue, { t: () => opened }, options);
  return {
    worker,
    open,
    /** Lets the handlers return, and stops the worker. */
    async stop(): Promise<void> {
      open();
      await worker.stop({ timeout: 5_000 });
    },
  };
}

/** How many more calls of `method` come in `ms` of real time. */
async function callsDuring(
  calls: Record<string, number>,
  method: string,
  ms: number,
): Promise<number> {
  const before = calls[method] ?? 0;
  await sleep(ms);
  return (calls[method] ?? 0) - before;
}

describe("durations above 2^31-1 ms", () => {
  test("a lease of 1e10 ms gives no burst of heartbeats", async () => {
    await withCounted(async (queue, calls) => {
      const held = heldWorker(queue, { leaseMs: LONG, pollInterval: 60_000 });
      try {
        await queue.enqueue("t", null);
        await waitFor("the handler", () => held.worker.running === 1);
        const beats = await callsDuring(calls, "heartbeat", 300);
        assert.ok(beats <= 1, `${beats} heartbeats in 300 ms`);
      } finally {
        await held.stop();
      }
    });
  });

  test("a poll interval of 1e10 ms gives no burst of claims from an idle worker", async () => {
    await withCounted(async (queue, calls) => {
      const held = heldWorker(queue, { pollInterval: LONG });
      try {
        await waitFor("the first claim", () => (calls.claim ?? 0) > 0);
        await sleep(50);
        const claims = await callsDuring(calls, "claim", 300);
        assert.ok(claims <= 1, `${claims} claims in 300 ms`);
      } finally {
        await held.stop();
      }
    });
  });

  test("a re-read interval of 1e10 ms gives no burst of reads in subscribe()", async () => {
    await withCounted(async (queue, calls) => {
      const id = await queue.enqueue("t", null);
      const controller = new AbortController();
      const updates = subscribe(queue, id, {
        signal: controller.signal,
        resyncInterval: LONG,
      });
      assert.equal((await updates.next()).value?.status, "pending");
      const reading = updates.next();
      const reads = await callsDuring(calls, "get", 300);
      controller.abort();
      assert.equal((await reading).done, true);
      assert.ok(reads <= 1, `${reads} reads in 300 ms`);
    });
  });

  test("stop({ timeout: 1e10 }) waits for a running handler instead of aborting it at once", async () => {
    await withCounted(async (queue) => {
      let aborted = false;
      const worker = createWorker(queue, {
        t: async (_job, { signal }) => {
          await sleep(100);
          aborted = signal.aborted;
          return "done";
        },
      }, { pollInterval: 50 });
      const id = await queue.enqueue("t", null);
      await waitFor("the handler", () => worker.running === 1);
      await worker.stop({ timeout: LONG });
      assert.equal(aborted, false);
      assert.equal((await queue.get(id))?.status, "complete");
    });
  });

  test("no duration reaches setTimeout or setInterval above 2^31-1 ms", async () => {
    const asked: number[] = [];
    const { setTimeout: realTimeout, setInterval: realInterval } = globalThis;
    // Records each delay asked for, then sets the real timer.
    const spy = <F>(real: F): F =>
      ((fn: () => void, ms?: number, ...rest: unknown[]) => {
        asked.push(Number(ms ?? 0));
        return (real as unknown as (...a: unknown[]) => unknown)(
          fn,
          ms,
          ...rest,
        );
      }) as unknown as F;
    globalThis.setTimeout = spy(realTimeout);
    globalThis.setInterval = spy(realInterval);
    try {
      await withCounted(async (queue) => {
        const held = heldWorker(queue, {
          leaseMs: LONG,
          pollInterval: LONG,
          heartbeatInterval: LONG,
        });
        const later = await queue.enqueue("t", null, { delay: LONG });
        await queue.enqueue("t", null);
        await waitFor("the handler", () => held.worker.running === 1);
        const controller = new AbortController();
        const updates = subscribe(queue, later, {
          signal: controller.signal,
          resyncInterval: LONG,
        });
        assert.equal((await updates.next()).value?.status, "pending");
        const next = updates.next();
        await sleep(50);
        controller.abort();
        await next;
        // stop() keeps the timeout of its first call.
        const stopping = held.worker.stop({ timeout: LONG });
        await sleep(50);
        held.open();
        await stopping;
      });
    } finally {
      globalThis.setTimeout = realTimeout;
      globalThis.setInterval = realInterval;
    }
    const over = asked.filter((ms) => ms > MAX_TIMER_MS);
    assert.deepEqual(over, [], "delays above 2^31-1 ms");
    assert.ok(asked.length > 0);
  });
});

describe("long timers", () => {
  test("timerMs() caps a delay at 2^31-1 ms and keeps shorter ones", () => {
    assert.equal(MAX_TIMER_MS, 2 ** 31 - 1);
    assert.equal(timerMs(LONG), MAX_TIMER_MS);
    assert.equal(timerMs(1_000), 1_000);
    assert.equal(timerMs(-5), 0);
  });

  test("longTimeout() chains timers up to the whole delay, and cancels", async () => {
    const fired: number[] = [];
    const began = performance.now();
    // A cap of 20 ms stands for 2^31-1: 70 ms take four timers.
    longTimeout(() => void fired.push(performance.now() - began), 70, 20);
    const cancel = longTimeout(() => void fired.push(-1), 70, 20);
    await sleep(30);
    cancel();
    await waitFor("the first to fire", () => fired.length > 0);
    await sleep(60);
    assert.equal(fired.length, 1);
    assert.ok(fired[0]! >= 65, `fired after ${fired[0]} ms`);
  });
});
