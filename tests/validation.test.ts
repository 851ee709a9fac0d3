/**
 * Validation messages: every bad argument gets a ValidationError whose
 * message names the action, the field, the rule and the value, in the std
 * style "Cannot X as 'f' must be R: current value is V".
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createQueue } from "../src/queue.ts";
import { createWorker } from "../src/worker/mod.ts";
import { ValidationError } from "../src/errors.ts";
import type { Queue } from "../src/queue_types.ts";

/** Asserts a ValidationError with code "VALIDATION" and a message matching `message`. */
async function rejectsWith(
  call: () => unknown,
  message: string | RegExp,
): Promise<void> {
  await assert.rejects(
    async () => await call(),
    (err: unknown) => {
      assert.ok(
        err instanceof ValidationError,
        `not a ValidationError: ${err}`,
      );
      assert.equal(err.code, "VALIDATION");
      assert.equal(err.name, "ValidationError");
      if (typeof message === "string") assert.equal(err.message, message);
      else assert.match(err.message, message);
      return true;
    },
  );
}

async function withQueue(
  run: (queue: Queue) => Promise<void>,
  options = {},
): Promise<void> {
  const queue = createQueue(options);
  try {
    await run(queue);
  } finally {
    await queue.close();
  }
}

const TYPE_RULE = "1 to 128 characters of [A-Za-z0-9_.:-]";
const PRIORITY_RULE = 'an integer in 1..100 or "low", "normal", "high"';

describe("validation messages", () => {
  test("enqueue() names the field, the rule and the value", async () => {
    await withQueue(async (queue) => {
      const cases: [() => unknown, string][] = [
        [
          () => queue.enqueue("has space", null),
          `Cannot enqueue job as 'type' must be ${TYPE_RULE}: current value is "has space"`,
        ],
        [
          () => queue.enqueue(42 as never, null),
          `Cannot enqueue job as 'type' must be ${TYPE_RULE}: current value is 42`,
        ],
        [
          () => queue.enqueue("t", null, { priority: 0 }),
          `Cannot enqueue job as 'priority' must be ${PRIORITY_RULE}: current value is 0`,
        ],
        [
          () => queue.enqueue("t", null, { priority: "urgent" as never }),
          `Cannot enqueue job as 'priority' must be ${PRIORITY_RULE}: current value is "urgent"`,
        ],
        [
          () => queue.enqueue("t", null, { delay: -1 }),
          "Cannot enqueue job as 'delay' must be a finite number >= 0: current value is -1",
        ],
        [
          () => queue.enqueue("t", null, { delay: Infinity }),
          "Cannot enqueue job as 'delay' must be a finite number >= 0: current value is Infinity",
        ],
        [
          () => queue.enqueue("t", null, { ttl: 0 }),
          "Cannot enqueue job as 'ttl' must be a finite number > 0: current value is 0",
        ],
        [
          () => queue.enqueue("t", null, { delay: 1, runAt: 5 }),
          "Cannot enqueue job with both 'delay' and 'runAt'",
        ],
        [
          () => queue.enqueue("t", null, { key: "" }),
          "Cannot enqueue job as 'key' must be a string of 1 to 512 characters: current value is \"\"",
        ],
        [
          () => queue.enqueue("t", null, { metadata: [] as never }),
          "Cannot enqueue job as 'metadata' must be a JSON object: current value is an array",
        ],
        [
          () => queue.enqueue("t", null, { maxAttempts: 0 }),
          "Cannot enqueue job as 'maxAttempts' must be an integer >= 1 and <= 1000000: current value is 0",
        ],
      ];
      for (const [call, message] of cases) await rejectsWith(call, message);
    });
  });

  test("data that is not JSON is named by what it holds and where", async () => {
    await withQueue(async (queue) => {
      const cycle: Record<string, unknown> = {};
      cycle.self = cycle;
      const cases: [unknown, string | RegExp][] = [
        [
          undefined,
          "Cannot enqueue job as 'data' must be a JSON value (use null for no data): current value is undefined",
        ],
        [{ a: [1, NaN] }, /'data' must be JSON, but key '1' holds NaN/],
        [{ deep: { x: -Infinity } }, /but key 'x' holds -Infinity/],
        [{ f: () => 1 }, /but key 'f' holds a function/],
        [10n, /but the value holds a bigint: current value is 10n$/],
        [Symbol("s"), /but the value holds a symbol/],
        [[{ n: 1n }], /but key 'n' holds a bigint/],
        [cycle, /^Cannot enqueue job as 'data' must be JSON: /],
      ];
      for (const [data, message] of cases) {
        await rejectsWith(() => queue.enqueue("t", data), message);
      }
      assert.equal((await queue.stats()).pending, 0);
    });
  });

  test("too large data reports the limit in bytes of UTF-8", async () => {
    await withQueue(async (queue) => {
      // 30 two-byte characters and the quotes: 62 bytes, though 32 characters.
      await rejectsWith(
        () => queue.enqueue("t", "é".repeat(30)),
        "Cannot enqueue job as 'data' must be at most 50 bytes of JSON: current size is 62 bytes",
      );
      await rejectsWith(
        () => queue.enqueue("t", "x".repeat(100)),
        /must be at most 50 bytes of JSON: current size is over 50 bytes$/,
      );
      // Four-byte characters count four: 12 * 4 + 2 = 50 bytes fits.
      await queue.enqueue("t", "😀".repeat(12));
      await rejectsWith(
        () => queue.enqueue("t", "😀".repeat(13)),
        /current size is 54 bytes$/,
      );
      await queue.enqueue("t", "x".repeat(48)); // 50 bytes
      await rejectsWith(
        () => queue.enqueue("t", "x".repeat(49)),
        /current size is over 50 bytes$/,
      );
      await rejectsWith(
        () => queue.enqueue("t", null, { metadata: { s: "x".repeat(60) } }),
        /'metadata' must be at most 50 bytes/,
      );
    }, { maxPayloadBytes: 50 });
  });

  test("claim, list, update and complete check their arguments", async () => {
    await withQueue(async (queue) => {
      await rejectsWith(
        () => queue.claimMany(0),
        "Cannot claim jobs as 'limit' must be an integer >= 1 and <= 10000: current value is 0",
      );
      await rejectsWith(
        () => queue.claim({ types: [] }),
        "Cannot claim jobs as 'types' must be a non-empty array of job types: current value is an array",
      );
      await rejectsWith(
        () => queue.claim({ leaseMs: -5 }),
        /'leaseMs' must be a finite number > 0: current value is -5$/,
      );
      await rejectsWith(
        () => queue.list({ status: "done" as never }),
        "Cannot list jobs as 'status' must be one of waiting, pending, processing, complete, failed, cancelled: current value is \"done\"",
      );
      await rejectsWith(() => queue.list({ limit: 0 }), /'limit' must be/);
      await queue.enqueue("t", null);
      const job = await queue.claim();
      assert.ok(job);
      await rejectsWith(
        () => queue.update(job, { progress: 1.5 }),
        "Cannot update job as 'progress' must be a number in 0..1: current value is 1.5",
      );
      await rejectsWith(
        () => queue.update(job, { message: 5 as never }),
        "Cannot update job as 'message' must be a string of 0 to 4096 characters: current value is 5",
      );
      await rejectsWith(
        () => queue.complete({} as never, null),
        "Cannot complete job as 'job' must be a job returned by claim(): current value is an object",
      );
      await rejectsWith(
        () => queue.complete(job, { f: NaN }),
        /^Cannot complete job as 'result' must be JSON, but key 'f' holds NaN/,
      );
      await rejectsWith(() => queue.get(""), /'id' must be a string of 1/);
      await queue.complete(job, "fine");
    });
  });

  test("createQueue and createWorker throw at once on bad options", async () => {
    await rejectsWith(
      () => createQueue({ name: "a b" }),
      `Cannot create queue as 'name' must be ${TYPE_RULE}: current value is "a b"`,
    );
    await rejectsWith(
      () => createQueue({ maxAttempts: 0 }),
      /'maxAttempts' must be an integer >= 1/,
    );
    await rejectsWith(
      () => createQueue({ leaseMs: 0 }),
      "Cannot create queue as 'leaseMs' must be a finite number > 0: current value is 0",
    );
    await rejectsWith(
      () => createQueue("memory://", { backend: {} as never }),
      "Cannot create queue with both a URL and a 'backend' option",
    );
    await rejectsWith(
      () => createQueue({ backoff: { type: "fixed", delay: -1 } }),
      "Cannot use backoff as 'delay' must be a finite number >= 0: current value is -1",
    );
    await withQueue(async (queue) => {
      await rejectsWith(
        () => createWorker(queue, {}),
        "Cannot create worker without handlers",
      );
      await rejectsWith(
        () => createWorker(queue, { t: 5 as never }),
        "Cannot create worker as 'handlers.t' must be a function: current value is 5",
      );
      await rejectsWith(
        () => createWorker(queue, { t: () => 1 }, { concurrency: 0 }),
        "Cannot create worker as 'concurrency' must be an integer >= 1 and <= 10000: current value is 0",
      );
    });
  });

  test("bad input is thrown synchronously by the factories, not later", () => {
    assert.throws(() => createQueue({ name: "" }), ValidationError);
    const queue = createQueue();
    try {
      assert.throws(() => createWorker(queue, {}), ValidationError);
    } finally {
      void queue.close();
    }
  });

  test("text a store would change (NUL, a lone surrogate) is refused before anything is stored", async () => {
    await withQueue(async (queue) => {
      for (const key of ["a\u0000b", "x\ud800", "\udc00y", "\udbff"]) {
        await rejectsWith(
          () => queue.enqueue("t", null, { key }),
          /^Cannot enqueue job as 'key' must be text without NUL or lone surrogates/,
        );
      }
      assert.equal((await queue.stats()).pending, 0, "nothing stored");
      // A whole pair is text like any other.
      const id = await queue.enqueue("t", null, { key: "x\ud83d\ude00" });
      assert.equal((await queue.get(id))?.key, "x\ud83d\ude00");
      const job = (await queue.claim())!;
      for (const message of ["m\u0000x", "m\ud800"]) {
        await rejectsWith(
          () => queue.update(job, { message }),
          /^Cannot update job as 'message' must be text without NUL/,
        );
      }
      assert.equal((await queue.get(id))?.message, "");
      await rejectsWith(
        () => queue.cancel(id, "why\u0000"),
        /'reason' must be text without NUL/,
      );
      await queue.complete(job, null);
    });
  });
});
