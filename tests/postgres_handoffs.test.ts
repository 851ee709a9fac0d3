/**
 * The PostgreSQL backend's hand-off bookkeeping (backends/postgres/
 * handoffs.ts): an enqueue notification wakes no worker when every job it
 * names was handed off, whether it comes before or after the statement's
 * answer; anything else, or anything forgotten, wakes. Plain calls, no
 * server: the order of arrival is the subject, and here it is chosen.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHandOffs } from "../backends/postgres/handoffs.ts";

/** A wake-up that counts its calls. */
function counter(): { wake: () => void; count: () => number } {
  let n = 0;
  return { wake: () => void n++, count: () => n };
}

describe("postgres hand-off bookkeeping", () => {
  test("a notification that comes after the answer wakes only when a job it names was not claimed", () => {
    const h = createHandOffs();
    h.sending("q", ["a", "b"])(["a", "b"]);
    const all = counter();
    h.enqueued("q", ["a", "b"], all.wake);
    assert.equal(all.count(), 0);
    h.sending("q", ["c", "d"])(["c", "old"]);
    const some = counter();
    h.enqueued("q", ["c", "d"], some.wake);
    assert.equal(some.count(), 1);
  });

  test("a notification that comes first waits for the answer, then wakes only when needed", () => {
    const h = createHandOffs();
    const answered = h.sending("q", ["a"]);
    const first = counter();
    h.enqueued("q", ["a"], first.wake);
    assert.equal(first.count(), 0, "it waits");
    answered(["a"]);
    assert.equal(first.count(), 0, "handed off: no wake");
    const failed = h.sending("q", ["b"]);
    const second = counter();
    h.enqueued("q", ["b"], second.wake);
    failed([]);
    assert.equal(second.count(), 1, "nothing claimed: it wakes");
  });

  test("a notification of jobs not known here, or of another queue, wakes at once", () => {
    const h = createHandOffs();
    h.sending("q", ["a"]);
    const other = counter();
    h.enqueued("q", ["a", "z"], other.wake);
    assert.equal(other.count(), 1);
    h.sending("q", ["b"])(["b"]);
    const queue = counter();
    h.enqueued("other", ["b"], queue.wake);
    assert.equal(queue.count(), 1);
  });

  test("each job is used once, and the oldest are forgotten past 10,000: their notifications wake", () => {
    const h = createHandOffs();
    h.sending("q", ["a"])(["a"]);
    h.enqueued("q", ["a"], () => {});
    const again = counter();
    h.enqueued("q", ["a"], again.wake);
    assert.equal(again.count(), 1, "a second notification wakes");
    const ids = Array.from({ length: 10_001 }, (_, i) => `j${i}`);
    for (const id of ids) h.sending("q", [id])([id]);
    const oldest = counter();
    h.enqueued("q", ["j0"], oldest.wake);
    assert.equal(oldest.count(), 1, "forgotten");
    const newest = counter();
    h.enqueued("q", ["j10000"], newest.wake);
    assert.equal(newest.count(), 0, "remembered");
  });
});
