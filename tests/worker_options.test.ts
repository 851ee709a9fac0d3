/**
 * createWorker's checks of its handlers, before anything runs: a handler's
 * name is a job type (1 to 128 characters of `[A-Za-z0-9_.:-]`), so a name
 * no job can have is a ValidationError at once, not a worker whose every
 * claim fails.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ValidationError } from "../src/errors.ts";
import { createQueue } from "../src/queue.ts";
import { createWorker } from "../src/worker/mod.ts";

describe("createWorker's handler names", () => {
  test("a handler name that is not a job type is a ValidationError at once", async () => {
    const queue = createQueue();
    let claims = 0;
    const counting = {
      ...queue,
      claimMany: () => (claims++, queue.claimMany(1)),
    };
    try {
      for (const name of ["a b", "", "x".repeat(129), "é", "a/b", "a\n"]) {
        assert.throws(
          () => createWorker(counting, { ok: () => 1, [name]: () => 1 }),
          (err: unknown) =>
            err instanceof ValidationError &&
            err.message.startsWith("Cannot create worker as 'handlers'") &&
            err.message.includes(JSON.stringify(name)),
          JSON.stringify(name),
        );
      }
      assert.equal(claims, 0, "no worker started");
      const worker = createWorker(queue, {
        "a.b:c-d_e": () => 1,
        ["x".repeat(128)]: () => 1,
      });
      await worker.stop();
    } finally {
      await queue.close();
    }
  });
});

describe("createWorker's timeout and handleSignals", () => {
  test("a bad timeout or handleSignals is a ValidationError at once", async () => {
    await using queue = createQueue();
    const bad: Record<string, unknown>[] = [
      { timeout: 0 },
      { timeout: -5 },
      { timeout: Infinity },
      { timeout: "100" },
      { handleSignals: "yes" },
      { handleSignals: null },
      { handleSignals: { timeout: -1 } },
      { handleSignals: { onStopped: "exit" } },
    ];
    for (const options of bad) {
      assert.throws(
        () => createWorker(queue, { t: () => 1 }, options),
        ValidationError,
        JSON.stringify(options),
      );
    }
    const worker = createWorker(queue, { t: () => 1 }, {
      timeout: 2 ** 40, // longer than a timer holds: waited out in steps
      handleSignals: { timeout: 5_000, onStopped: () => {} },
    });
    await worker.stop();
  });
});
