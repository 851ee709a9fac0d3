/**
 * The final update of a job removed as it finishes (`removeOnComplete:
 * true`) when it finishes while `subscribe(queue, id)` or `waitFor` reads
 * the job: the update comes, the read finds no job, and the update must
 * still be given. A memory backend whose `get` takes a round trip stands
 * for a networked one, where the read is on its way while the job
 * completes.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { memoryBackend } from "../backends/memory/mod.ts";
import type { Backend } from "../src/backend/interface.ts";
import { createQueue } from "../src/queue.ts";
import { subscribe } from "../src/subscribe.ts";
import { sleep } from "./_support/time.ts";

/** A memory backend whose reads, once `slow`, take 50 ms on the way. */
function slowReads() {
  const inner = memoryBackend();
  let reading: () => void = () => {};
  const state = {
    slow: false,
    /** Resolves when the next slow read is on its way. */
    nextRead: () => new Promise<void>((resolve) => (reading = resolve)),
  };
  const backend: Backend = {
    ...inner,
    async get(queue, id, o) {
      if (state.slow) {
        reading();
        await sleep(50);
      }
      return await inner.get(queue, id, o);
    },
  };
  return { backend, state, close: () => inner.close() };
}

describe("a job removed as it finishes, while it is being read", () => {
  test("subscribe gives its final update", async () => {
    const { backend, state, close } = slowReads();
    await using queue = createQueue({ backend, handOff: false });
    const id = await queue.enqueue("t", null, { removeOnComplete: true });
    const job = (await queue.claim())!;
    state.slow = true;
    const read = state.nextRead();
    const statuses: string[] = [];
    const iterating = (async () => {
      for await (const u of subscribe(queue, id)) statuses.push(u.status);
    })();
    await read; // listening, and the first read is on its way
    await queue.complete(job, { ok: true });
    await iterating;
    assert.deepEqual(statuses, ["complete"]);
    await close();
  });

  test("waitFor gives the job as it finished", async () => {
    const { backend, state, close } = slowReads();
    await using queue = createQueue({ backend, handOff: false });
    const id = await queue.enqueue("t", null, { removeOnComplete: true });
    const job = (await queue.claim())!;
    state.slow = true;
    const firstRead = state.nextRead();
    const waiting = queue.waitFor(id, { timeout: 5_000 });
    await firstRead; // the job is read, running
    const secondRead = state.nextRead();
    await secondRead; // listening, and the job read again
    await queue.complete(job, { ok: true });
    const done = await waiting;
    assert.equal(done?.status, "complete", JSON.stringify(done));
    assert.deepEqual(done?.result, { ok: true });
    assert.equal(await queue.get(id), null, "removed as it finished");
    await close();
  });

  test("waitFor asked for just before a complete in the same turn gives the job as it finished", async () => {
    // The complete runs at once (the backend loaded); waitFor listened
    // before it and read the job beside it. It used to read first, listen
    // a tick later, and miss the final update of the removed job.
    const backend = memoryBackend();
    await using queue = createQueue({ backend, handOff: false });
    for (let i = 0; i < 3; i++) {
      const id = await queue.enqueue("t", i, { removeOnComplete: true });
      const job = (await queue.claim())!;
      const waiting = queue.waitFor(id, { timeout: 5_000 });
      await queue.complete(job, { i });
      const done = await waiting;
      assert.equal(done?.status, "complete", JSON.stringify(done));
      assert.deepEqual(done?.result, { i });
      assert.equal(done?.data, i);
      assert.equal(await queue.get(id), null, "removed as it finished");
    }
    await backend.close();
  });

  test("waitFor of a job that is missing is null, and of a finished one the job", async () => {
    await using queue = createQueue({ backend: memoryBackend() });
    assert.equal(await queue.waitFor("nope", { timeout: 1_000 }), null);
    const id = await queue.enqueue("t", 1);
    const job = (await queue.claim())!;
    await queue.complete(job, "done");
    const done = await queue.waitFor(id, { timeout: 1_000 });
    assert.equal(done?.status, "complete");
    assert.equal(done?.result, "done");
    assert.equal(done?.data, 1);
  });
});
