/**
 * How often a worker claims when jobs arrive one at a time (src/worker/mod.ts's
 * loop): a claim that takes the job and, once it has run, one that finds the
 * queue empty, and no claim sent ahead beside them. Real time, on a memory
 * queue whose claims are counted: the subject is the number of calls.
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

describe("a worker's claims while jobs arrive one at a time", () => {
  test("each job costs two claims: the one that takes it and one that finds nothing more", async () => {
    const inner = memoryBackend();
    let claims = 0;
    // The worker's own claims, woken by each enqueue: no hand-off
    // (src/handoff.ts), which would bring the jobs with the enqueues.
    const { enqueueClaim: _handOff, ...own } = inner;
    const backend: Backend = {
      ...own,
      claim: (queue, request) => (claims++, inner.claim(queue, request)),
    };
    const queue = createQueue({ backend });
    let done = 0;
    const worker = createWorker(queue, { t: () => void done++ });
    try {
      // The worker learns first that its claims are quick and its handlers
      // rare: until then it may claim ahead of its free slot.
      const arrive = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const before = done;
          await queue.enqueue("t", null);
          await waitFor("the job to run", () => done > before);
          await sleep(10);
        }
      };
      await arrive(20);
      const before = claims;
      await arrive(20);
      const spent = claims - before;
      assert.ok(spent >= 20, `${spent} claims for 20 jobs`);
      assert.ok(spent <= 2 * 20 + 1, `${spent} claims for 20 jobs`);
    } finally {
      await worker.stop();
      await queue.close();
      await inner.close();
    }
  });
});
