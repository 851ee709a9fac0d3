/**
 * §3 and §4.4 The stored error of a failed attempt: whatever a handler
 * throws becomes `{ message, name?, stack? }`, even a value that cannot
 * become a string, and messages and stacks are cut to a bounded size
 * (marked) before they are stored or published.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { QueueEvent } from "../../src/queue_types.ts";
import type { JobError } from "../../src/types.ts";
import { createWorker } from "../../src/worker/mod.ts";
import { type Case, waitFor } from "./_context.ts";

/** The most UTF-8 bytes a stored message and stack may have. */
const MESSAGE_BYTES = 8 * 1024;
const STACK_BYTES = 16 * 1024;

const utf8 = (text: string) => new TextEncoder().encode(text).length;

/** Values no String() can turn into a string, each with its label. */
function unprintables(): [string, unknown][] {
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const badMessage = new Error("x");
  Object.defineProperty(badMessage, "message", {
    get() {
      throw new Error("no message for you");
    },
  });
  return [
    ["Object.create(null)", Object.create(null)],
    ["an object whose toString throws", {
      toString() {
        throw new Error("no string for you");
      },
    }],
    ["a revoked Proxy", revoked.proxy],
    ["an Error whose message getter throws", badMessage],
  ];
}

/** Checks a stored error is a bounded, printable description. */
function assertPrintable(error: JobError | undefined, what: string): void {
  assert.equal(typeof error?.message, "string", what);
  assert.ok(error!.message.length > 0, what);
  if (error!.name !== undefined) assert.equal(typeof error!.name, "string");
  if (error!.stack !== undefined) assert.equal(typeof error!.stack, "string");
}

/** The stored-error cases. */
export const errorCases: Case[] = [
  {
    name:
      "fail() with a thrown value that cannot become a string still fails the attempt with a stored error",
    async run(ctx) {
      const queue = ctx.queue();
      for (const [what, value] of unprintables()) {
        const id = await queue.enqueue("t", null);
        const job = await queue.claim();
        assert.equal(job?.id, id);
        assert.equal(await queue.fail(job!, value), "pending", what);
        const stored = await queue.get(id);
        assert.equal(stored?.status, "pending", what);
        assertPrintable(stored?.error, what);
        await queue.remove(id);
      }
      const id = await queue.enqueue("t", null);
      await queue.fail((await queue.claim())!, Object.create(null));
      assert.equal(
        (await queue.get(id))?.error?.message,
        "[unprintable thrown value]",
      );
    },
  },
  {
    name:
      "a worker whose handler throws Object.create(null) fails the job with a stored error, never leaving it processing",
    async run(ctx) {
      const queue = ctx.queue({ maxAttempts: 1 });
      const worker = createWorker(queue, {
        t: () => {
          throw Object.create(null);
        },
      }, { pollInterval: 50, onError: () => {} });
      ctx.defer(() => worker.stop({ timeout: 1_000 }));
      const id = await queue.enqueue("t", null);
      const job = await waitFor("the job to fail", async () => {
        const j = await queue.get(id);
        return j?.status === "failed" && j;
      });
      assert.equal(job.error?.message, "[unprintable thrown value]");
    },
  },
  {
    name:
      "error messages are cut to 8 KiB and stacks to 16 KiB, marked, before they are stored or published",
    async run(ctx) {
      const queue = ctx.queue();
      const id = await queue.enqueue("t", null);
      const heard: QueueEvent[] = [];
      const stop = await queue.listen({ job: id }, (e) => void heard.push(e));
      ctx.defer(stop);
      const err = new Error("é".repeat(50_000));
      err.stack = `Error: big\n${"    at frame (file.ts:1:1)\n".repeat(5_000)}`;
      await queue.fail((await queue.claim())!, err);
      const update = await waitFor(
        "the failure's update",
        () =>
          heard.find((e) =>
            e.kind === "update" && e.update.status === "pending" &&
            e.update.error !== undefined
          ),
      );
      const stored = (await queue.get(id))?.error;
      assert.ok(update.kind === "update");
      for (const error of [stored, update.update.error]) {
        assert.ok(error);
        assert.equal(error.name, "Error");
        assert.ok(utf8(error.message) <= MESSAGE_BYTES, "message bounded");
        assert.ok(utf8(error.message) > MESSAGE_BYTES - 100, "message kept");
        assert.match(error.message, /^(é)+… \[truncated from 100000 bytes\]$/);
        assert.ok(utf8(error.stack!) <= STACK_BYTES, "stack bounded");
        assert.match(error.stack!, /^Error: big\n {4}at frame/);
        assert.match(error.stack!, /\[truncated from \d+ bytes\]$/);
      }
      const small = await queue.enqueue("t", null);
      const plain = new Error("short");
      await queue.fail((await queue.claim())!, plain);
      const kept = (await queue.get(small))?.error;
      assert.equal(kept?.message, "short");
      assert.equal(kept?.stack, plain.stack);
    },
  },
];
