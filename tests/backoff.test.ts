/**
 * Retry delays: fixed, exponential (doubling, capped), jitter bounds, and a
 * function of the attempt and error; bad options are ValidationErrors.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { backoffFunction } from "../src/backoff.ts";
import { ValidationError } from "../src/errors.ts";
import { createQueue } from "../src/queue.ts";
import type { JobError } from "../src/types.ts";

const err: JobError = { message: "x" };

/** Runs `fn` with Math.random returning `value`. */
function withRandom<T>(value: number, fn: () => T): T {
  const random = Math.random;
  Math.random = () => value;
  try {
    return fn();
  } finally {
    Math.random = random;
  }
}

describe("backoff", () => {
  test("fixed waits the same delay every time", () => {
    const delay = backoffFunction({ type: "fixed", delay: 5_000 });
    for (const attempt of [1, 2, 3, 10, 100]) {
      assert.equal(delay(attempt, err), 5_000);
    }
    assert.equal(backoffFunction({ type: "fixed", delay: 0 })(1, err), 0);
  });

  test("exponential doubles from base and stops at max", () => {
    const delay = backoffFunction({
      type: "exponential",
      base: 100,
      max: 1_000,
      jitter: 0,
    });
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 50, 2_000].map((a) => delay(a, err)),
      [100, 200, 400, 800, 1_000, 1_000, 1_000, 1_000],
    );
  });

  test("the default is exponential from 1 s, capped at 5 minutes, with 10% jitter", () => {
    const delay = backoffFunction();
    withRandom(0.5, () => {
      assert.deepEqual(
        [1, 2, 3, 4, 9, 10, 30].map((a) => delay(a, err)),
        [1_000, 2_000, 4_000, 8_000, 256_000, 300_000, 300_000],
      );
    });
    assert.equal(withRandom(0, () => delay(1, err)), 900);
    assert.equal(withRandom(0.999999, () => delay(1, err)), 1_100);
    assert.equal(withRandom(0, () => delay(30, err)), 270_000);
  });

  test("jitter stays within delay * (1 ± jitter)", () => {
    const exponential = backoffFunction({
      type: "exponential",
      base: 1_000,
      jitter: 0.25,
    });
    const fixed = backoffFunction({ type: "fixed", delay: 2_000, jitter: 0.5 });
    const seen = new Set<number>();
    for (let i = 0; i < 2_000; i++) {
      const e = exponential(3, err);
      assert.ok(e >= 3_000 && e <= 5_000, `exponential ${e}`);
      const f = fixed(1, err);
      assert.ok(f >= 1_000 && f <= 3_000, `fixed ${f}`);
      assert.ok(Number.isInteger(e) && Number.isInteger(f));
      seen.add(f);
    }
    assert.ok(seen.size > 100, "jitter actually spreads the delays");
    assert.equal(withRandom(0, () => fixed(1, err)), 1_000);
    assert.equal(withRandom(0.999999, () => fixed(1, err)), 3_000);
  });

  test("a function gets the failed attempt and the error", () => {
    const calls: [number, JobError][] = [];
    const delay = backoffFunction((attempt, error) => {
      calls.push([attempt, error]);
      return attempt * 10;
    });
    assert.equal(delay(3, { message: "boom", name: "TypeError" }), 30);
    assert.deepEqual(calls, [[3, { message: "boom", name: "TypeError" }]]);
  });

  test("a function that returns a bad delay throws a ValidationError", () => {
    for (const bad of [-1, NaN, Infinity, "5" as never]) {
      const delay = backoffFunction(() => bad);
      assert.throws(() => delay(1, err), ValidationError, String(bad));
    }
  });

  test("bad options are ValidationErrors", () => {
    const bad: unknown[] = [
      { type: "fixed", delay: -1 },
      { type: "fixed", delay: NaN },
      { type: "fixed" },
      { type: "fixed", delay: 1, jitter: -0.1 },
      { type: "exponential", base: -1 },
      { type: "exponential", max: Infinity },
      { type: "linear" },
    ];
    for (const options of bad) {
      assert.throws(
        () => backoffFunction(options as never),
        ValidationError,
        JSON.stringify(options),
      );
    }
  });

  test("a queue's fail() schedules the retry at now + backoff(attempt)", async () => {
    let now = 1_000_000;
    const attempts: number[] = [];
    const queue = createQueue({
      clock: () => now,
      maxAttempts: 4,
      backoff: (attempt) => {
        attempts.push(attempt);
        return attempt * 1_000;
      },
    });
    try {
      const id = await queue.enqueue("t", null);
      for (const attempt of [1, 2, 3]) {
        const job = await queue.claim();
        assert.equal(job?.attempt, attempt);
        assert.equal(await queue.fail(job!, new Error("x")), "pending");
        assert.equal((await queue.get(id))?.runAt, now + attempt * 1_000);
        now += attempt * 1_000;
      }
      const last = await queue.claim();
      assert.equal(await queue.fail(last!, new Error("x")), "failed");
      assert.deepEqual(attempts, [1, 2, 3], "no backoff for the last attempt");
    } finally {
      await queue.close();
    }
  });
});
