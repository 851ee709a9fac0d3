/**
 * The memory backend against the whole conformance suite, with no skips;
 * and testBackend's own checks of its options.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { memoryBackend } from "../backends/memory/mod.ts";
import { conformanceCases, testBackend } from "./conformance/mod.ts";

testBackend({ name: "memory", create: () => memoryBackend() });

describe("testBackend", () => {
  test("refuses a skip without a reason or of an unknown case", () => {
    const [first] = conformanceCases();
    assert.ok(first);
    const create = () => memoryBackend();
    assert.throws(
      () => testBackend({ name: "x", create, skip: { [first]: "" } }),
      /without a reason/,
    );
    assert.throws(
      () => testBackend({ name: "x", create, skip: { [first]: "  " } }),
      TypeError,
    );
    assert.throws(
      () => testBackend({ name: "x", create, skip: { "no such case": "why" } }),
      /no case is named/,
    );
    assert.throws(() => testBackend({ name: "", create }), TypeError);
  });

  test("case names are unique sentences", () => {
    const names = conformanceCases();
    assert.ok(names.length >= 60, `${names.length} cases`);
    assert.equal(new Set(names).size, names.length);
    for (const name of names) assert.match(name, /^\S.*\S$/);
  });
});
