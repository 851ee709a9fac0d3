/**
 * The dashboard's limits and guards at the handler, on every runtime: the
 * Host check against DNS rebinding (`allowedHosts` and its default), POST
 * bodies read no further than 64 KiB, the bound on what a live client
 * leaves unread, 500s that tell the caller nothing (the error goes to
 * `onError`), safe headers on the event stream, 503 for new streams
 * after `close()`, and queue names no URL can hold.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createQueue } from "../src/queue.ts";
import type { Queue } from "../src/queue_types.ts";
import { ValidationError } from "../src/errors.ts";
import { dashboard } from "../src/dashboard/mod.ts";
import {
  ask,
  readEvents,
  updates,
  watchListens,
} from "./_support/dashboard.ts";
import { waitFor } from "./_support/time.ts";

const MiB = 1_048_576;

/** A GET of `path` as sent to `host`. */
const at = (host: string, path = "/api/queues"): string =>
  `http://${host}${path}`;

describe("dashboard hosts (DNS rebinding)", () => {
  test("by default only IP literals and localhost names are served, on every route", async () => {
    await using q = createQueue({ name: "hosts" });
    const h = dashboard({ queues: [q] });
    for (
      const host of [
        "localhost",
        "localhost:8080",
        "app.localhost:3000",
        "127.0.0.1:9999",
        "[::1]:8080",
        "10.1.2.3",
      ]
    ) {
      const res = await h(new Request(at(host)));
      assert.equal(res.status, 200, host);
      await res.body?.cancel();
    }
    for (
      const path of ["/", "/api/queues", "/api/events", "/metrics", "/x"]
    ) {
      const res = await h(new Request(at("evil.example:8080", path)));
      assert.equal(res.status, 403, path);
      assert.match((await res.json()).error, /evil\.example:8080.*allowed/);
    }
    const post = await h(
      new Request(at("rebound.example", "/api/queues/hosts/pause"), {
        method: "POST",
        headers: {
          "content-type": "application/json",
          origin: "http://rebound.example",
        },
        body: "{}",
      }),
    );
    assert.equal(post.status, 403);
    await post.body?.cancel();
    assert.equal(await q.isPaused(), false);
    await h.close();
  });

  test("allowedHosts names the hosts served, with or without a port; '*' serves any", async () => {
    await using q = createQueue({ name: "named" });
    const h = dashboard({
      queues: [q],
      allowedHosts: ["jobs.example.com", "Ops.Example:8443"],
    });
    const status = async (url: string): Promise<number> => {
      const res = await h(new Request(url));
      await res.body?.cancel();
      return res.status;
    };
    assert.equal(await status("https://jobs.example.com/api/queues"), 200);
    assert.equal(await status("http://jobs.example.com:8080/api/queues"), 200);
    assert.equal(await status("https://ops.example:8443/api/queues"), 200);
    assert.equal(await status("https://ops.example/api/queues"), 403);
    assert.equal(await status("http://localhost/api/queues"), 403);
    assert.equal(await status("http://evil.example/api/queues"), 403);
    const any = dashboard({ queues: [q], allowedHosts: ["*"] });
    const res = await any(new Request("http://evil.example/api/queues"));
    assert.equal(res.status, 200);
    await res.body?.cancel();
    for (const bad of ["", "http://x.example", "x.example/path", "a b"]) {
      assert.throws(
        () => dashboard({ queues: [q], allowedHosts: [bad] }),
        /allowedHosts/,
        bad,
      );
    }
    await h.close();
    await any.close();
  });

  test("allowedOrigins still decides cross-origin POSTs on an allowed host", async () => {
    await using q = createQueue({ name: "origins" });
    const h = dashboard({
      queues: [q],
      allowedHosts: ["jobs.internal"],
      allowedOrigins: ["https://ops.example"],
    });
    const pause = (origin: string): Promise<Response> =>
      h(
        new Request("http://jobs.internal/api/queues/origins/pause", {
          method: "POST",
          headers: { "content-type": "application/json", origin },
          body: "{}",
        }),
      );
    assert.equal((await pause("http://evil.example")).status, 403);
    assert.equal((await pause("https://ops.example")).status, 200);
    assert.equal((await pause("http://jobs.internal")).status, 200);
    await h.close();
  });
});

describe("dashboard limits", () => {
  test("a POST body is read no further than 64 KiB: 413, the rest never pulled", async () => {
    await using q = createQueue({ name: "big" });
    const h = dashboard({ queues: [q] });
    let pulled = 0;
    const piece = 16_384;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= 8 * MiB) return controller.close();
        pulled += piece;
        controller.enqueue(new Uint8Array(piece).fill(32));
      },
    });
    const res = await h(
      new Request("http://localhost/api/queues/big/pause", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          origin: "http://localhost",
        },
        body: endless,
        duplex: "half",
      } as RequestInit),
    );
    assert.equal(res.status, 413);
    assert.ok(pulled <= 65_536 + 4 * piece, `pulled ${pulled} bytes`);
    assert.equal(await q.isPaused(), false);
    // 64 KiB of JSON, chunked without a length, is read whole.
    const text = `{"type":"t"}${" ".repeat(65_536 - 12)}`;
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        const bytes = new TextEncoder().encode(text);
        for (let i = 0; i < bytes.length; i += 1000) {
          controller.enqueue(bytes.slice(i, i + 1000));
        }
        controller.close();
      },
    });
    const ok = await h(
      new Request("http://localhost/api/queues/big/pause", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: chunks,
        duplex: "half",
      } as RequestInit),
    );
    assert.deepEqual(await ok.json(), {
      changed: true,
      paused: true,
      type: "t",
    });
    await h.close();
  });

  test("a live client that stops reading is dropped past 1 MiB; one that reads gets all", async () => {
    await using q = createQueue({ name: "slow" });
    const watched = watchListens(q);
    const h = dashboard({ queues: [watched.queue] });
    const stuck = await h(new Request("http://localhost/api/events"));
    const reading = readEvents(
      (await h(new Request("http://localhost/api/events"))).body!,
    );
    await reading.until("the opening", (t) => t.includes(": connected"));
    const completes = (t: string): number =>
      updates(t).filter((u) => u.update.status === "complete").length;
    const all = reading.until("20 completions", (t) => completes(t) === 20);
    const result = "x".repeat(100_000); // 20 updates: 2 MB of events
    await q.enqueueMany(
      Array.from({ length: 20 }, () => ({ type: "t", data: null })),
    );
    for (let i = 0; i < 20; i++) await q.complete((await q.claim())!, result);
    await all;
    const dropped = readEvents(stuck.body!);
    await assert.rejects(
      dropped.until("its end", () => false, 2_000),
      /stream ended/,
    );
    assert.ok(dropped.text().length < MiB, `${dropped.text().length} bytes`);
    assert.equal(watched.listening, 1, "the reading client still listens");
    await reading.close();
    await waitFor("the listener to stop", () => watched.listening === 0);
    await h.close();
  });

  test("one event bigger than the budget still reaches a client that reads", async () => {
    await using q = createQueue({ name: "huge" });
    const h = dashboard({ queues: [q] });
    const events = readEvents(
      (await h(new Request("http://localhost/api/events"))).body!,
    );
    await events.until("the opening", (t) => t.includes(": connected"));
    await q.enqueue("t", null);
    const job = (await q.claim())!;
    await q.update(job, { message: "m".repeat(4_000) });
    const has = (status: string, text: string): boolean =>
      updates(text).some((u) => u.update.status === status);
    await events.until("the message", (t) => t.includes("m".repeat(4_000)));
    // Result and message together: one event past 1 MiB.
    await q.complete(job, "y".repeat(MiB - 100));
    await events.until("the big update", (t) => has("complete", t));
    assert.ok(events.text().length > MiB);
    await events.close();
    await h.close();
  });
});

describe("dashboard answers", () => {
  test("a backend failure is 500 with a generic message; the error goes to onError", async () => {
    await using q = createQueue({ name: "failing" });
    const secret = new Error(
      "connect ECONNREFUSED 10.0.0.7:5432 password=hunter2",
    );
    const failing = new Proxy(q, {
      get(target, prop, receiver) {
        if (prop === "get") return () => Promise.reject(secret);
        return Reflect.get(target, prop, receiver);
      },
    }) as Queue;
    const seen: [unknown, string][] = [];
    const h = dashboard({
      queues: [failing],
      onError: (err, req) => seen.push([err, new URL(req.url).pathname]),
    });
    const r = await ask(h, "/api/queues/failing/jobs/abc");
    assert.equal(r.status, 500);
    assert.deepEqual(r.json(), { error: "internal error" });
    assert.doesNotMatch(r.text, /hunter2|10\.0\.0\.7/);
    assert.equal(r.headers.get("x-content-type-options"), "nosniff");
    assert.deepEqual(seen, [[secret, "/api/queues/failing/jobs/abc"]]);
    // Bad input is still the caller's to read.
    const bad = await ask(h, "/api/queues/failing/jobs?status=nope");
    assert.equal(bad.status, 400);
    assert.match(bad.json().error, /nope|status/);
    await h.close();
  });

  test("the event stream carries the safe headers", async () => {
    await using q = createQueue({ name: "ev-headers" });
    const h = dashboard({ queues: [q] });
    const res = await h(new Request("http://localhost/api/events"));
    assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.equal(res.headers.get("x-frame-options"), "DENY");
    assert.equal(res.headers.get("cache-control"), "no-store");
    await res.body?.cancel();
    await h.close();
  });

  test("after close(), a new event stream is 503; other routes still answer", async () => {
    await using q = createQueue({ name: "closed-ev" });
    const watched = watchListens(q);
    const h = dashboard({ queues: [watched.queue] });
    await h.close();
    const r = await ask(h, "/api/events");
    assert.equal(r.status, 503);
    assert.equal(watched.calls, 0, "no listener started");
    assert.equal((await ask(h, "/api/queues")).status, 200);
  });

  test('queues named "." or ".." are refused when the dashboard is made', async () => {
    for (const name of [".", ".."]) {
      await using q = createQueue({ name });
      assert.throws(
        () => dashboard({ queues: [q] }),
        (err: unknown) =>
          err instanceof ValidationError &&
          /must not be "\." or "\.\."/.test(err.message),
      );
    }
  });
});
