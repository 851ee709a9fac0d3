/**
 * The stored error of a failed attempt, alone (src/job_error.ts): anything
 * thrown becomes `{ message, name?, stack? }` without throwing itself, and
 * message, name and stack are cut to their UTF-8 limits with a marker,
 * never inside a character.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  MAX_ERROR_MESSAGE_BYTES,
  MAX_ERROR_NAME_BYTES,
  MAX_ERROR_STACK_BYTES,
  toJobError,
  truncateUtf8,
} from "../src/job_error.ts";

const utf8 = (text: string) => new TextEncoder().encode(text).length;
const U = "[unprintable thrown value]";

function throwing(what: string): () => never {
  return () => {
    throw new Error(what);
  };
}

describe("toJobError", () => {
  test("keeps an Error's message, name and stack, and a thrown object's message", () => {
    const err = new TypeError("bad input");
    assert.deepEqual(toJobError(err), {
      message: "bad input",
      name: "TypeError",
      stack: err.stack,
    });
    assert.deepEqual(toJobError({ message: "plain" }), { message: "plain" });
    assert.deepEqual(toJobError("text"), { message: "text" });
    assert.deepEqual(toJobError(42), { message: "42" });
    assert.deepEqual(toJobError(undefined), { message: "undefined" });
    assert.deepEqual(toJobError(Symbol("s")), { message: "Symbol(s)" });
  });

  test("never throws on a value that cannot become a string", () => {
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const trap = new Proxy({}, { get: throwing("get"), has: throwing("has") });
    const getters = new Error("x");
    for (const key of ["message", "name", "stack"]) {
      Object.defineProperty(getters, key, { get: throwing(key) });
    }
    const cases: [string, unknown, string][] = [
      ["Object.create(null)", Object.create(null), U],
      ["a throwing toString", { toString: throwing("no") }, U],
      ["a revoked Proxy", revoked.proxy, U],
      ["a Proxy that throws on every read", trap, U],
      ["an Error whose getters throw", getters, U],
      [
        "a bare object with fields",
        Object.assign(Object.create(null), { code: 42 }),
        `${U} {"code":42}`,
      ],
    ];
    for (const [what, value, message] of cases) {
      const out = toJobError(value);
      assert.equal(out.message, message, what);
      assert.equal(out.stack, undefined, what);
    }
  });

  test("an Error with a message that is not a string keeps a printable one", () => {
    const err = new Error("x");
    (err as { message: unknown }).message = { code: 7 };
    (err as { name: unknown }).name = 12;
    const out = toJobError(err);
    assert.equal(out.message, "[object Object]");
    assert.equal(out.name, undefined);
  });

  test("cuts message, name and stack to their limits, with a marker", () => {
    const err = new Error("m".repeat(100_000));
    err.name = "N".repeat(1_000);
    err.stack = "s".repeat(100_000);
    const out = toJobError(err);
    assert.equal(utf8(out.message), MAX_ERROR_MESSAGE_BYTES);
    assert.ok(out.message.endsWith("… [truncated from 100000 bytes]"));
    assert.ok(utf8(out.name!) <= MAX_ERROR_NAME_BYTES);
    assert.ok(out.name!.endsWith("… [truncated from 1000 bytes]"));
    assert.equal(utf8(out.stack!), MAX_ERROR_STACK_BYTES);
    assert.equal(MAX_ERROR_MESSAGE_BYTES, 8 * 1024);
    assert.equal(MAX_ERROR_STACK_BYTES, 16 * 1024);
  });
});

describe("truncateUtf8", () => {
  test("leaves text within the limit as it is", () => {
    assert.equal(truncateUtf8("héllo", 6), "héllo");
    assert.equal(truncateUtf8("", 1), "");
  });

  test("never cuts inside a character, nor between the halves of a pair", () => {
    for (const unit of ["é", "✓", "😀"]) {
      const text = unit.repeat(5_000);
      for (const max of [100, 101, 102, 103]) {
        const out = truncateUtf8(text, max);
        assert.ok(utf8(out) <= max, `${unit} ${max}: ${utf8(out)} bytes`);
        assert.ok(utf8(out) > max - 4, `${unit} ${max}: kept what fits`);
        assert.ok(!out.includes("\uFFFD"));
        const kept = out.slice(0, out.indexOf("…"));
        assert.equal(kept, unit.repeat(kept.length / unit.length));
        assert.ok(out.endsWith(`… [truncated from ${utf8(text)} bytes]`));
      }
    }
  });
});
