/**
 * The hand-off between an enqueue and the workers of its process
 * (src/handoff.ts, src/worker/handoff.ts): who is offered the jobs (a
 * running worker with room that handles their types, the workers in
 * turns), and what a hand-off that fails or is still under way does to
 * the worker (it claims again; stop() waits for it and gives its jobs
 * back). On a memory backend whose enqueueClaim a test may hold or fail;
 * the backend's own rules are the conformance suite's (_handoff.ts).
 *
 * @module
 */

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryBackend } from "../backends/memory/mod.ts";
import { sqliteBackend } from "../backends/sqlite/mod.ts";
import type { Backend } from "../src/backend/interface.ts";
import { createQueue } from "../src/queue.ts";
import type { Queue } from "../src/queue_types.ts";
import { createWorker } from "../src/worker/mod.ts";
import { sleep, waitFor } from "./_support/time.ts";

type EnqueueClaim = NonNullable<Backend["enqueueClaim"]>;

/**
 * A memory backend whose enqueueClaim goes through `through(inner, ...)`,
 * and that counts the calls of enqueue and enqueueClaim.
 */
function wrapped(
  through: (
    inner: EnqueueClaim,
    ...args: Parameters<EnqueueClaim>
  ) => ReturnType<EnqueueClaim> = (inner, ...args) => inner(...args),
): { backend: Backend; calls: { enqueue: number; enqueueClaim: number } } {
  const inner = memoryBackend();
  const calls = { enqueue: 0, enqueueClaim: 0 };
  const own = inner.enqueueClaim!.bind(inner);
  const backend: Backend = {
    ...inner,
    enqueue(...args) {
      calls.enqueue++;
      return inner.enqueue(...args);
    },
    enqueueClaim(...args) {
      calls.enqueueClaim++;
      return through(own, ...args);
    },
  };
  return { backend, calls };
}

/** Lets the workers finish what an enqueue set off and go idle. */
const settle = () => sleep(50);

/** A worker of one slot, never polling, that records the data it runs. */
function oneSlot(queue: Queue) {
  const ran: unknown[] = [];
  const worker = createWorker(queue, {
    t: (job) => void ran.push(job.data),
  }, { pollInterval: 60_000, concurrency: 1, prefetch: 0 });
  return { ran, worker };
}

/** The worker is free again: the next job enqueued runs, and only it. */
async function runsNext(queue: Queue, ran: unknown[]): Promise<void> {
  await settle();
  await queue.enqueue("t", "next");
  await waitFor("the next job to run", () => ran.length === 1);
  assert.deepEqual(ran, ["next"]);
}

describe("hand-off", () => {
  test("only a running worker with room that handles the jobs' types is offered them", async () => {
    const { backend, calls } = wrapped();
    await using queue = createQueue({ backend });
    let release = () => {};
    let starts = 0;
    const worker = createWorker(queue, {
      slow: () => {
        starts++;
        return new Promise<void>((resolve) => (release = resolve));
      },
    }, { pollInterval: 60_000, concurrency: 1, prefetch: 0 });
    try {
      await settle();
      await queue.enqueue("other", null);
      assert.deepEqual(calls, { enqueue: 1, enqueueClaim: 0 }, "other type");
      await settle(); // the claim its wake-up set off is over
      await queue.enqueue("slow", null);
      assert.deepEqual(calls, { enqueue: 1, enqueueClaim: 1 }, "offered");
      await waitFor("the job to run", () => worker.running === 1);
      await queue.enqueue("slow", null);
      assert.deepEqual(calls, { enqueue: 2, enqueueClaim: 1 }, "no room");
      release();
      await waitFor("the second job to run", () => starts === 2);
      await worker.pause();
      release();
      await waitFor("the worker to idle", () => worker.running === 0);
      await queue.enqueue("slow", null);
      assert.deepEqual(calls, { enqueue: 3, enqueueClaim: 1 }, "paused");
    } finally {
      release();
      await worker.stop({ timeout: 1_000 });
    }
  });

  test("with handOff: false an enqueue is a plain one, and the idle worker claims the job itself", async () => {
    const { backend, calls } = wrapped();
    await using queue = createQueue({ backend, handOff: false });
    const ran: unknown[] = [];
    let claims = 0;
    const claim = backend.claim.bind(backend);
    backend.claim = (...args) => (claims++, claim(...args));
    const worker = createWorker(
      queue,
      { t: (job) => void ran.push(job.data) },
      {
        pollInterval: 60_000,
      },
    );
    try {
      await settle();
      const before = claims;
      await queue.enqueueMany([{ type: "t", data: 1 }, { type: "t", data: 2 }]);
      await queue.enqueue("t", 3);
      await waitFor("the jobs to run", () => ran.length === 3);
      assert.deepEqual(calls, { enqueue: 2, enqueueClaim: 0 });
      assert.ok(claims > before, "the worker's own claims took them");
    } finally {
      await worker.stop({ timeout: 1_000 });
    }
  });

  test("handOff must be a boolean", () => {
    assert.throws(
      () => createQueue({ handOff: "no" as unknown as boolean }),
      (err: Error) =>
        err.name === "ValidationError" && /handOff/.test(err.message),
    );
  });

  test("the workers of a process take turns at the enqueues", async () => {
    const { backend } = wrapped();
    await using queue = createQueue({ backend });
    const ran: string[] = [];
    const workers = ["a", "b"].map((name) =>
      createWorker(queue, {
        t: () => void ran.push(name),
      }, { pollInterval: 60_000, concurrency: 1 })
    );
    try {
      await settle();
      for (let i = 1; i <= 4; i++) {
        await queue.enqueue("t", i);
        await waitFor("the job to run", () => ran.length === i);
        await settle();
      }
      assert.deepEqual(ran, ["a", "b", "a", "b"]);
    } finally {
      for (const worker of workers) await worker.stop({ timeout: 1_000 });
    }
  });

  test("a failed hand-off leaves the worker free: the enqueue rejects, and the next job runs", async () => {
    let fail = true;
    const { backend } = wrapped((inner, ...args) => {
      if (!fail) return inner(...args);
      fail = false;
      return Promise.reject(new Error("connection lost"));
    });
    await using queue = createQueue({ backend });
    const { ran, worker } = oneSlot(queue);
    try {
      await settle();
      await assert.rejects(queue.enqueue("t", "lost"), /connection lost/);
      await runsNext(queue, ran);
    } finally {
      await worker.stop({ timeout: 1_000 });
    }
  });

  test("claimed jobs that cannot be read are reported; the enqueue resolves and the worker runs the next job", async () => {
    let broken = true;
    const { backend } = wrapped(async (inner, ...args) => {
      const done = await inner(...args);
      if (!broken) return done;
      broken = false;
      return {
        ...done,
        claimed: done.claimed.map((job) => ({ ...job, data: "{broken" })),
      };
    });
    await using queue = createQueue({ backend });
    const errors: unknown[] = [];
    const { ran, worker } = oneSlot(queue);
    worker.on("error", (err) => void errors.push(err));
    try {
      await settle();
      const id = await queue.enqueue("t", "unread");
      assert.equal(errors.length, 1, "the worker reported it");
      assert.ok(errors[0] instanceof SyntaxError);
      assert.equal((await queue.get(id))?.status, "processing");
      await runsNext(queue, ran);
    } finally {
      await worker.stop({ timeout: 1_000 });
    }
  });

  test("a worker that backs off after a failed claim is offered nothing", async () => {
    const inner = wrapped();
    let fail = true;
    const backend: Backend = {
      ...inner.backend,
      claim(...args) {
        if (fail) return Promise.reject(new Error("store down"));
        return inner.backend.claim(...args);
      },
    };
    await using queue = createQueue({ backend });
    const errors: unknown[] = [];
    // One claim at a time: the worker is always claiming or backing off.
    const worker = createWorker(queue, { t: () => null }, {
      pollInterval: 60_000,
      prefetch: 0,
    });
    worker.on("error", (err) => void errors.push(err));
    try {
      await waitFor("a failed claim", () => errors.length > 0);
      const id = await queue.enqueue("t", null);
      assert.deepEqual(inner.calls, { enqueue: 1, enqueueClaim: 0 });
      fail = false;
      await waitFor(
        "the job to run after the backoff",
        async () => (await queue.get(id))?.status === "complete",
      );
    } finally {
      await worker.stop({ timeout: 1_000 });
    }
  });

  const dir = mkdtempSync(join(tmpdir(), "jobline-handoff-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const stores: [string, () => Backend][] = [
    ["memory", () => memoryBackend()],
    ["sqlite", () => sqliteBackend({ path: join(dir, "wake.db") })],
  ];
  for (const [name, make] of stores) {
    test(`${name}: a hand-off wakes no worker for the jobs it took, so no empty claim follows it`, async () => {
      const inner = make();
      let claims = 0;
      let claiming = 0;
      const backend: Backend = {
        ...inner,
        async claim(...args) {
          claims++;
          claiming++;
          try {
            return await inner.claim(...args);
          } finally {
            claiming--;
          }
        },
      };
      await using queue = createQueue({ backend });
      let done = 0;
      const worker = createWorker(queue, { t: () => void done++ }, {
        pollInterval: 60_000,
        concurrency: 4, // more free slots than a job: a wake-up would claim
      });
      try {
        await waitFor("the worker's first claim", () => claims > 0);
        await settle();
        await waitFor("the worker's claims to end", () => claiming === 0);
        const before = claims;
        for (let i = 1; i <= 10; i++) {
          await queue.enqueue("t", i);
          await waitFor("the job to run", () => done === i);
          await settle();
        }
        assert.equal(claims - before, 0);
        // A batch the claim leaves jobs of (none of type "u" is handled)
        // still wakes: the worker's claim follows.
        await queue.enqueueMany([
          { type: "t", data: "x" },
          { type: "u", data: "y" },
        ]);
        await waitFor("a claim after the wake-up", () => claims > before);
      } finally {
        await worker.stop({ timeout: 1_000 });
        await inner.close();
      }
    });
  }

  test("stop() waits for a hand-off under way and gives its jobs back unstarted", async () => {
    let reply = () => {};
    const { backend } = wrapped(async (inner, ...args) => {
      const done = await inner(...args);
      await new Promise<void>((resolve) => (reply = resolve));
      return done;
    });
    await using queue = createQueue({ backend });
    let runs = 0;
    const worker = createWorker(queue, { t: () => void runs++ }, {
      pollInterval: 60_000,
    });
    await settle();
    const enqueued = queue.enqueue("t", null);
    await waitFor(
      "the enqueue's claim",
      async () => (await queue.stats()).processing === 1,
    );
    let stopped = false;
    const stopping = worker.stop({ timeout: 1_000 }).then(() => {
      stopped = true;
    });
    await settle();
    assert.equal(stopped, false, "stop() waits for the hand-off");
    reply();
    const id = await enqueued;
    await stopping;
    const job = await queue.get(id);
    assert.equal(job?.status, "pending");
    assert.equal(job?.attempt, 0, "its attempt is not counted");
    assert.equal(runs, 0);
  });
});
