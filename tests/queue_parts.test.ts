/**
 * The queue's parts, each alone: the backend handle (loading a URL's backend
 * once, ownership, close, error wrapping, listeners ended at close) and the
 * argument checks the facade calls.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { memoryBackend } from "../backends/memory/mod.ts";
import type { Backend, BackendEvent } from "../src/backend/interface.ts";
import {
  BackendError,
  QueueClosedError,
  ValidationError,
} from "../src/errors.ts";
import { createBackendHandle } from "../src/queue_handle.ts";
import { registerBackend } from "../src/schemes.ts";
import {
  checkChange,
  checkClaimed,
  checkLeaseMs,
  checkListOptions,
  checkTypes,
} from "../src/validate.ts";
import type { ClaimedJob } from "../src/types.ts";
import { sleep } from "./_support/time.ts";

/** A memory backend with some members replaced, and its closes counted. */
function spied(over: Partial<Backend> = {}): Backend & { closes: number } {
  const inner = memoryBackend();
  const spy = {
    closes: 0,
    close: async () => {
      spy.closes++;
      await inner.close();
    },
  };
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === "closes") return spy.closes;
      if (prop === "close") return spy.close;
      if (prop in over) return over[prop as keyof Backend];
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as Backend & { closes: number };
}

/** Registers a scheme whose backends are counted; returns its URL. */
function countedScheme(
  scheme: string,
  load: () => Promise<Backend>,
): { url: string; loads: () => number } {
  let loads = 0;
  registerBackend(scheme, {
    parse(url) {
      if (url !== scheme) throw new TypeError(`not ${scheme}`);
    },
    load: () => (loads++, load()),
  });
  return { url: scheme, loads: () => loads };
}

describe("backend handle", () => {
  test("loads a URL's backend on first use, once, however many calls wait for it", async () => {
    const made: ReturnType<typeof spied>[] = [];
    const { url, loads } = countedScheme("handle-once:", async () => {
      await sleep(10);
      const b = spied();
      made.push(b);
      return b;
    });
    const handle = createBackendHandle<never>("q", { url });
    assert.equal(loads(), 0, "nothing loads before the first call");
    const stats = await Promise.all(
      [1, 2, 3].map(() =>
        handle.call("stats", (b) => b.stats("q", { now: 0 }))
      ),
    );
    assert.equal(stats.length, 3);
    assert.equal(loads(), 1);
    assert.equal(await handle.open(), made[0]);
    await handle.close();
    assert.equal(
      made[0]?.closes,
      1,
      "a backend made from a URL is the queue's to close",
    );
  });

  test("a failed load rejects that call, and the next call tries again", async () => {
    let fail = true;
    const { url, loads } = countedScheme("handle-retry:", () => {
      if (fail) return Promise.reject(new Error("driver missing"));
      return Promise.resolve(spied());
    });
    const handle = createBackendHandle<never>("q", { url });
    await assert.rejects(handle.open(), BackendError);
    fail = false;
    assert.ok(await handle.open());
    assert.equal(loads(), 2);
    await handle.close();
  });

  test("close() never closes a backend it was given, and then every call rejects with QueueClosedError", async () => {
    const given = spied();
    const handle = createBackendHandle("mine", { backend: given });
    await handle.call("stats", (b) => b.stats("mine", { now: 0 }));
    assert.equal(handle.closed, false);
    await handle.close();
    await handle.close();
    assert.equal(handle.closed, true);
    assert.equal(given.closes, 0, "a backend passed in stays its owner's");
    await assert.rejects(
      handle.call("stats", (b) => b.stats("mine", { now: 0 })),
      (err: unknown) =>
        err instanceof QueueClosedError &&
        err.message === "Cannot use queue 'mine' as it is closed",
    );
    await given.close();
  });

  test("closing while a URL's backend loads closes it once loaded", async () => {
    const made: ReturnType<typeof spied>[] = [];
    const { url } = countedScheme("handle-loading:", async () => {
      await sleep(20);
      const b = spied();
      made.push(b);
      return b;
    });
    const handle = createBackendHandle<never>("q", { url });
    const opening = handle.open();
    await handle.close();
    await opening;
    assert.equal(made[0]?.closes, 1);
  });

  test("a store error becomes a BackendError naming the backend and the call, with its cause", async () => {
    const cause = new Error("disk full");
    const backend = spied({ stats: () => Promise.reject(cause) });
    const handle = createBackendHandle("q", { backend });
    await assert.rejects(
      handle.call("stats", (b) => b.stats("q", { now: 0 })),
      (err: unknown) =>
        err instanceof BackendError &&
        err.message === "memory stats failed: disk full" && err.cause === cause,
    );
    const own = new ValidationError("bad");
    await assert.rejects(
      handle.call("stats", () => Promise.reject(own)),
      (err: unknown) => err === own,
    );
    await backend.close();
  });

  test("close() tells each listener, then ends its listening", async () => {
    let stops = 0;
    const backend = spied({
      listen: (
        _name: string,
        _topic: unknown,
        _listener: (e: BackendEvent) => void,
      ) => Promise.resolve(() => (stops++, Promise.resolve())),
    } as Partial<Backend>);
    const handle = createBackendHandle("q", { backend });
    const told: string[] = [];
    await handle.listen("queue", () => {}, () => told.push("a"));
    const stopB = await handle.listen("worker", () => {}, () => told.push("b"));
    await stopB();
    await stopB();
    assert.equal(stops, 1, "a listener stops once");
    await handle.close();
    assert.deepEqual(told, ["a"], "only the listener still listening is told");
    assert.equal(stops, 2);
    await backend.close();
  });

  test("a bad URL is a ValidationError when the handle is made", () => {
    assert.throws(
      () => createBackendHandle("q", { url: "nope://x" }),
      ValidationError,
    );
    assert.throws(
      () => createBackendHandle("q", { url: "handle-once:extra" }),
      ValidationError,
    );
  });
});

describe("argument checks", () => {
  test("checkClaimed takes only a job that claim() returned", () => {
    const job = { id: "a", lease: { token: "t", until: 0 } } as ClaimedJob;
    assert.deepEqual(checkClaimed(job, "complete job"), {
      id: "a",
      token: "t",
    });
    assert.throws(
      () => checkClaimed({ id: "a" } as ClaimedJob, "complete job"),
      /Cannot complete job as 'job' must be a job returned by claim\(\)/,
    );
  });

  test("checkTypes takes a non-empty array of type names, or none", () => {
    assert.equal(checkTypes(undefined, "claim jobs"), null);
    assert.deepEqual(checkTypes(["a", "b"], "claim jobs"), ["a", "b"]);
    assert.throws(() => checkTypes([], "claim jobs"), ValidationError);
    assert.throws(() => checkTypes(["has space"], "claim jobs"), /'types'/);
  });

  test("checkLeaseMs falls back to the queue's lease and refuses zero", () => {
    assert.equal(checkLeaseMs(undefined, "claim jobs", 30_000), 30_000);
    assert.equal(checkLeaseMs(5, "claim jobs", 30_000), 5);
    assert.throws(() => checkLeaseMs(0, "claim jobs", 30_000), /'leaseMs'/);
  });

  test("checkListOptions fills in the defaults and checks each field", () => {
    assert.deepEqual(checkListOptions({}), {
      status: null,
      type: null,
      limit: 100,
      after: null,
    });
    assert.deepEqual(
      checkListOptions({ status: "failed", type: "t", limit: 5, cursor: "x" }),
      { status: "failed", type: "t", limit: 5, after: "x" },
    );
    assert.throws(() => checkListOptions({ limit: 0 }), /'limit'/);
    assert.throws(
      () => checkListOptions({ status: "gone" as never }),
      /'status'/,
    );
    assert.throws(() => checkListOptions({ cursor: "" }), /'cursor'/);
  });

  test("checkChange keeps only the fields given, checked", () => {
    assert.deepEqual(checkChange({ progress: 0.5 }), { progress: 0.5 });
    assert.deepEqual(checkChange({ message: "m" }), { message: "m" });
    assert.throws(() => checkChange({ progress: 2 }), /'progress'/);
    assert.throws(() => checkChange(null as never), /'change'/);
  });
});
