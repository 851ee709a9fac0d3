/**
 * §4.11 Bad input: ValidationError (code "VALIDATION") before anything is
 * stored, all-or-none batches, JSON fidelity, and QueueClosedError after
 * close().
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  BackendError,
  QueueClosedError,
  ValidationError,
} from "../../src/errors.ts";
import type { EnqueueOptions } from "../../src/queue_types.ts";
import { type Case, total, wrapClaim } from "./_context.ts";

function isValidation(err: unknown): boolean {
  assert.ok(err instanceof ValidationError, `a ValidationError: ${err}`);
  assert.equal(err.code, "VALIDATION");
  assert.equal(err.name, "ValidationError");
  return true;
}

/** Names every object has through Object.prototype: never a priority name. */
const INHERITED_NAMES = [
  "toString",
  "constructor",
  "__proto__",
  "hasOwnProperty",
  "valueOf",
];

type Cycle = { self?: Cycle };
const cycle: Cycle = {};
cycle.self = cycle;

/** Bad enqueue arguments: [what, type, data, options]. */
const badEnqueues: [string, unknown, unknown, EnqueueOptions?][] = [
  ["an empty type", "", null],
  ["a type of 129 characters", "x".repeat(129), null],
  ["a type with a space", "has space", null],
  ["a type that is a number", 42, null],
  ["priority 0", "t", null, { priority: 0 }],
  ["priority 101", "t", null, { priority: 101 }],
  ["priority 1.5", "t", null, { priority: 1.5 }],
  ["priority 'urgent'", "t", null, { priority: "urgent" as never }],
  ["priority NaN", "t", null, { priority: NaN }],
  ["delay -1", "t", null, { delay: -1 }],
  ["delay NaN", "t", null, { delay: NaN }],
  ["delay Infinity", "t", null, { delay: Infinity }],
  ["ttl 0", "t", null, { ttl: 0 }],
  ["ttl -1", "t", null, { ttl: -1 }],
  ["ttl NaN", "t", null, { ttl: NaN }],
  ["data that is a function", "t", () => 1],
  ["data that is a Symbol", "t", Symbol("s")],
  ["data that is a BigInt", "t", 10n],
  ["data with a cycle", "t", cycle],
  ["data with NaN deep inside", "t", { a: [{ b: { c: [1, NaN] } }] }],
  ["data with Infinity inside", "t", { a: { b: -Infinity } }],
  ["data with a function inside", "t", { a: [() => 1] }],
  ["data with a BigInt inside", "t", [{ n: 1n }]],
  ["undefined as data", "t", undefined],
  ["data over maxPayloadBytes", "t", { s: "é".repeat(60) }],
];

/** The bad input cases. */
export const inputCases: Case[] = [
  {
    name:
      "enqueue() rejects bad type names, priorities, delays, ttls and data with ValidationError and stores nothing",
    async run(ctx) {
      const queue = ctx.queue({ maxPayloadBytes: 100 });
      for (const [what, type, data, options] of badEnqueues) {
        await assert.rejects(
          queue.enqueue(type as string, data, options),
          isValidation,
          what,
        );
        await assert.rejects(
          queue.enqueueMany([
            options === undefined
              ? { type: type as string, data }
              : { type: type as string, data, options },
          ]),
          isValidation,
          `${what} in enqueueMany`,
        );
      }
      assert.equal(await total(queue), 0);
      assert.deepEqual((await queue.list()).jobs, []);
      assert.equal(await queue.claim(), null);
      // At the limit is fine: {"s":"ééé..."} with 44 two-byte characters is 96 bytes.
      await queue.enqueue("t", { s: "é".repeat(44) });
      assert.equal(await total(queue), 1);
    },
  },
  {
    name:
      "enqueue() rejects priority names inherited from Object.prototype with ValidationError and stores nothing",
    async run(ctx) {
      const queue = ctx.queue();
      for (const name of INHERITED_NAMES) {
        const options = { priority: name as never };
        await assert.rejects(queue.enqueue("t", null, options), isValidation);
        await assert.rejects(
          queue.enqueueMany([{ type: "t", data: null, options }]),
          isValidation,
          `${name} in enqueueMany`,
        );
      }
      assert.equal(await total(queue), 0);
      const id = await queue.enqueue("t", null, { priority: "high" });
      assert.equal((await queue.get(id))?.priority, 10);
    },
  },
  {
    name:
      "enqueue() rejects metadata that is not a plain object (Date, Map, array, class instance) with ValidationError",
    async run(ctx) {
      const queue = ctx.queue();
      class Tag {
        name = "x";
      }
      const bad: [string, unknown][] = [
        ["a Date", new Date(0)],
        ["a Map", new Map([["a", 1]])],
        ["a Set", new Set([1])],
        ["an array", [1, 2]],
        ["a class instance", new Tag()],
        ["a RegExp", /x/],
        ["an object made from another", Object.create({ inherited: 1 })],
        ["a string", "text"],
      ];
      for (const [what, metadata] of bad) {
        const options = { metadata: metadata as Record<string, never> };
        await assert.rejects(queue.enqueue("t", null, options), isValidation);
        await assert.rejects(
          queue.enqueueMany([{ type: "t", data: null, options }]),
          isValidation,
          `${what} in enqueueMany`,
        );
      }
      assert.equal(await total(queue), 0);
      const bare = Object.assign(Object.create(null), { by: "test" });
      const id = await queue.enqueue("t", null, { metadata: bare });
      assert.deepEqual((await queue.get(id))?.metadata, { by: "test" });
    },
  },
  {
    name: "enqueueMany() with one bad item stores none of the batch",
    async run(ctx) {
      const queue = ctx.queue();
      await assert.rejects(
        queue.enqueueMany([
          { type: "t", data: 1, options: { key: "k" } },
          { type: "t", data: 2 },
          { type: "t", data: { bad: NaN } },
        ]),
        isValidation,
      );
      await assert.rejects(
        queue.enqueueMany([
          { type: "t", data: 1 },
          { type: "t", data: 2, options: { priority: 0 } },
        ]),
        isValidation,
      );
      assert.equal(await total(queue), 0);
      const id = await queue.enqueue("t", 3, { key: "k" });
      assert.equal((await queue.get(id))?.data, 3, "the key was never taken");
    },
  },
  {
    name:
      "update() rejects a bad progress with ValidationError and changes nothing",
    async run(ctx) {
      const queue = ctx.queue();
      const id = await queue.enqueue("t", null);
      const job = await queue.claim();
      for (const progress of [-0.1, 1.1, NaN, Infinity, "half" as never]) {
        await assert.rejects(
          queue.update(job!, { progress }),
          isValidation,
          `progress ${String(progress)}`,
        );
      }
      const stored = await queue.get(id);
      assert.equal(stored?.progress, 0);
      assert.equal(stored?.version, 2);
      await queue.update(job!, { progress: 1, message: "all" });
      assert.equal((await queue.get(id))?.progress, 1);
    },
  },
  {
    name:
      "null data is fine, undefined properties are dropped, and JSON round-trips",
    async run(ctx) {
      const queue = ctx.queue();
      const none = await queue.enqueue("t", null);
      assert.equal((await queue.get(none))?.data, null);
      const data = {
        kept: 1,
        gone: undefined,
        list: [1, "two", true, null, { deep: [0.5, -3e-7] }],
        text: 'é ✓ 😀 \u0000 "quoted" \\ \n',
        big: 2 ** 53 - 1,
      };
      const metadata = { by: "test", n: [1] };
      const id = await queue.enqueue("t", data, { metadata });
      const stored = await queue.get(id);
      assert.deepEqual(stored?.data, JSON.parse(JSON.stringify(data)));
      assert.equal("gone" in (stored?.data as object), false);
      assert.deepEqual(stored?.metadata, metadata);
      const job = await queue.claim();
      assert.equal(job?.id, none);
      assert.deepEqual((await queue.claim())?.data, stored?.data);
      await queue.complete(job!, { out: [data.text], nothing: undefined });
      assert.deepEqual((await queue.get(none))?.result, { out: [data.text] });
      for (const value of [0, "", false, [], {}]) {
        const v = await queue.enqueue("t", value);
        assert.deepEqual((await queue.get(v))?.data, value);
      }
    },
  },
  {
    name: "every operation after close() rejects with QueueClosedError",
    async run(ctx) {
      const queue = ctx.queue();
      const id = await queue.enqueue("t", null);
      const job = await queue.claim();
      await queue.close();
      assert.equal(queue.closed, true);
      const calls: [string, () => Promise<unknown>][] = [
        ["enqueue", () => queue.enqueue("t", null)],
        ["enqueueMany", () => queue.enqueueMany([{ type: "t", data: null }])],
        ["get", () => queue.get(id)],
        ["cancel", () => queue.cancel(id)],
        ["claim", () => queue.claim()],
        ["claimMany", () => queue.claimMany(2)],
        ["update", () => queue.update(job!, { progress: 0.5 })],
        ["complete", () => queue.complete(job!, null)],
        ["fail", () => queue.fail(job!, new Error("x"))],
        ["heartbeat", () => queue.heartbeat(job!)],
        ["retry", () => queue.retry(id)],
        ["remove", () => queue.remove(id)],
        ["stats", () => queue.stats()],
        ["list", () => queue.list()],
        ["listen", () => queue.listen("queue", () => {})],
      ];
      for (const [what, call] of calls) {
        await assert.rejects(call, QueueClosedError, what);
      }
      await queue.close(); // twice is fine
      const other = ctx.queue({ name: queue.name });
      assert.equal((await other.get(id))?.status, "processing");
    },
  },
  {
    name: "a failing store call rejects with BackendError that keeps its cause",
    async run(ctx) {
      const cause = new Error("connection reset");
      const backend = wrapClaim(ctx.backend, () => Promise.reject(cause));
      const queue = ctx.queue({ backend });
      await queue.enqueue("t", null);
      await assert.rejects(queue.claim(), (err: unknown) => {
        assert.ok(err instanceof BackendError, String(err));
        assert.equal(err.code, "BACKEND");
        assert.equal(err.cause, cause);
        assert.match(err.message, /connection reset/);
        return true;
      });
      assert.equal((await queue.stats()).pending, 1);
    },
  },
];
