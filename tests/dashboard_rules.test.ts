/**
 * The dashboard's rules, at the handler: `authorize` (401 on every route),
 * `readOnly` (403 on every POST, no action on the page), cross-origin POSTs
 * (403) and JSON bodies, the page's Content-Security-Policy; the live event
 * stream (`{ queue, update }` events, heartbeats, one shared listener, none
 * left behind a client that went away); and the metrics text with the
 * workers' totals.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createQueue } from "../src/queue.ts";
import type { Queue } from "../src/queue_types.ts";
import { createWorker } from "../src/worker/mod.ts";
import { dashboard } from "../src/dashboard/mod.ts";
import { createEventHub } from "../src/dashboard/events.ts";
import { ask, post, readEvents, updates } from "./_support/dashboard.ts";
import { waitFor } from "./_support/time.ts";

describe("dashboard security", () => {
  test("authorize returning false gives 401 on every route", async () => {
    await using q = createQueue({ name: "guarded" });
    const seen: string[] = [];
    const h = dashboard({
      queues: [q],
      authorize: (req) => {
        seen.push(new URL(req.url).pathname);
        return req.headers.get("authorization") === "Bearer ok";
      },
    });
    const paths = [
      "/",
      "/api/queues",
      "/api/queues/guarded/jobs",
      "/api/events",
      "/metrics",
    ];
    for (const path of paths) {
      const r = await ask(h, path);
      assert.equal(r.status, 401, path);
      assert.match(r.headers.get("www-authenticate")!, /^Basic/);
    }
    assert.equal((await post(h, "/api/queues/guarded/pause")).status, 401);
    assert.equal(await q.isPaused(), false);
    const ok = await ask(h, "/api/queues", {
      headers: { authorization: "Bearer ok" },
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(seen.slice(0, paths.length), paths);
    const asyncNo = dashboard({
      queues: [q],
      authorize: () => Promise.resolve(false),
    });
    assert.equal((await ask(asyncNo, "/")).status, 401);
    await h.close();
    await asyncNo.close();
  });

  test("read-only: every POST is 403 and the page offers no action", async () => {
    await using q = createQueue({ name: "ro" });
    const id = await q.enqueue("t", null);
    const h = dashboard({ queues: [q], readOnly: true });
    for (
      const path of [
        `/api/queues/ro/jobs/${id}/cancel`,
        `/api/queues/ro/jobs/${id}/remove`,
        "/api/queues/ro/pause",
        "/api/queues/ro/retry-failed",
        "/api/queues/ro/clean",
        "/nothing/here",
      ]
    ) {
      assert.equal((await post(h, path)).status, 403, path);
    }
    assert.equal((await q.get(id))?.status, "pending");
    for (const path of ["/", `/?job=${id}`]) {
      const page = await ask(h, path);
      assert.equal(page.status, 200);
      const markup = page.text.replace(/<script[^]*<\/script>/, "");
      assert.doesNotMatch(markup, /data-action|data-post|type="button"/);
      assert.match(page.text, /read-only/);
    }
    assert.equal((await ask(h, "/api/queues")).status, 200);
    await h.close();
  });

  test("a POST from another origin is 403; POST bodies must be JSON", async () => {
    await using q = createQueue({ name: "csrf" });
    const h = dashboard({
      queues: [q],
      allowedOrigins: ["https://ops.example"],
    });
    const at = "/api/queues/csrf/pause";
    const from = (headers: Record<string, string>) => post(h, at, {}, headers);
    assert.equal((await from({ origin: "http://evil.example" })).status, 403);
    assert.equal((await from({ origin: "null" })).status, 403);
    assert.equal((await from({ origin: "http://localhost:8080" })).status, 403);
    assert.equal(
      (await from({ referer: "http://evil.example/page" })).status,
      403,
    );
    assert.equal((await from({ "sec-fetch-site": "cross-site" })).status, 403);
    assert.equal(await q.isPaused(), false);
    assert.equal(
      (await from({ referer: "http://localhost/?queue=csrf" })).status,
      200,
    );
    assert.equal((await from({ origin: "https://ops.example" })).status, 200);
    assert.equal((await from({})).status, 200, "no browser headers: curl");
    assert.equal(await q.isPaused(), true);
    const form = await ask(h, at, {
      method: "POST",
      headers: {
        origin: "http://localhost",
        "content-type": "application/x-www-form-urlencoded",
      },
      body: "type=x",
    });
    assert.equal(form.status, 415);
    const bad = await ask(h, at, {
      method: "POST",
      headers: {
        origin: "http://localhost",
        "content-type": "application/json",
      },
      body: "{oops",
    });
    assert.equal(bad.status, 400);
    assert.equal((await post(h, at, [1])).status, 400);
    assert.equal((await ask(h, "/", { method: "PUT" })).status, 405);
    await h.close();
  });

  test("the page has a strict Content-Security-Policy with its script's nonce", async () => {
    await using q = createQueue({ name: "csp" });
    const h = dashboard({ queues: [q] });
    const page = await ask(h, "/");
    const csp = page.headers.get("content-security-policy")!;
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)![1]!;
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.ok(page.text.includes(`<script nonce="${nonce}">`));
    assert.ok(page.text.includes(`<style nonce="${nonce}">`));
    assert.doesNotMatch(
      page.text,
      /\son[a-z]+=|style="|innerHTML|outerHTML|insertAdjacentHTML/,
    );
    assert.equal(page.headers.get("x-content-type-options"), "nosniff");
    const again = (await ask(h, "/")).headers.get("content-security-policy");
    assert.notEqual(again, csp, "a fresh nonce per page");
    await h.close();
  });
});

describe("dashboard events and metrics", () => {
  test("GET /api/events streams each update as { queue, update }", async () => {
    await using a = createQueue({ name: "ev-a" });
    await using b = createQueue({ name: "ev-b" });
    const h = dashboard({ queues: [a, b] });
    const res = await h(new Request("http://localhost/api/events"));
    assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
    const events = readEvents(res.body!);
    await events.until("the opening comment", (t) => t.includes(": connected"));
    const id = await a.enqueue("t", null);
    await b.enqueue("u", null);
    await events.until("both updates", (t) => updates(t).length >= 2);
    const got = updates(events.text());
    assert.deepEqual(got.find((u) => u.queue === "ev-a")?.update.jobId, id);
    assert.ok(got.some((u) => u.queue === "ev-b"));
    await events.close();
    const only = await h(new Request("http://localhost/api/events?queue=ev-b"));
    const narrow = readEvents(only.body!);
    await narrow.until("the opening comment", (t) => t.includes(": connected"));
    await a.enqueue("t", null);
    await b.enqueue("u", null);
    await narrow.until("b's update", (t) => updates(t).length >= 1);
    assert.deepEqual(updates(narrow.text()).map((u) => u.queue), ["ev-b"]);
    await narrow.close();
    assert.equal((await ask(h, "/api/events?queue=nope")).status, 404);
    await h.close();
  });

  test("a client that goes away leaves no listener behind", async () => {
    await using q = createQueue({ name: "ev-off" });
    let listening = 0;
    const watched = new Proxy(q, {
      get(target, prop, receiver) {
        if (prop !== "listen") return Reflect.get(target, prop, receiver);
        return async (...args: Parameters<Queue["listen"]>) => {
          const stop = await target.listen(...args);
          listening++;
          return async () => {
            listening--;
            await stop();
          };
        };
      },
    });
    const h = dashboard({ queues: [watched] });
    const one = readEvents(
      (await h(new Request("http://localhost/api/events"))).body!,
    );
    const two = readEvents(
      (await h(new Request("http://localhost/api/events"))).body!,
    );
    await one.until("connected", (t) => t.includes(": connected"));
    await two.until("connected", (t) => t.includes(": connected"));
    assert.equal(listening, 1, "one listener shared by both clients");
    await one.close();
    await q.enqueue("t", null);
    await two.until("an update", (t) => updates(t).length === 1);
    await two.close();
    await waitFor("the listener to stop", () => listening === 0);
    await h.close();
  });

  test("the stream sends a heartbeat comment while nothing happens", async () => {
    await using q = createQueue({ name: "ev-beat" });
    const hub = createEventHub(new Map([[q.name, q]]), 20);
    const events = readEvents((await hub.stream([q.name])).body!);
    await events.until(
      "two heartbeats",
      (t) => t.split(": heartbeat\n\n").length > 2,
    );
    assert.equal(hub.clients, 1);
    await hub.close();
    assert.equal(hub.clients, 0);
    await assert.rejects(events.until("the end", () => false), /ended/);
  });

  test("GET /metrics gives jobs by queue and status and the workers' totals", async () => {
    await using q = createQueue({ name: "metered" });
    const worker = createWorker(q, {
      ok: () => "done",
      bad: () => {
        throw new Error("no");
      },
    }, { pollInterval: 10 });
    const h = dashboard({ queues: [q], workers: [worker] });
    await q.enqueueMany([
      { type: "ok", data: 1 },
      { type: "ok", data: 2 },
      { type: "bad", data: 3, options: { maxAttempts: 1 } },
    ]);
    await waitFor("the three jobs to end", async () => {
      const s = await q.stats();
      return s.complete === 2 && s.failed === 1;
    });
    await worker.stop();
    await q.enqueue("later", null);
    const r = await ask(h, "/metrics");
    assert.equal(r.status, 200);
    assert.match(
      r.headers.get("content-type")!,
      /^text\/plain; version=0\.0\.4/,
    );
    const lines = r.text.split("\n");
    for (
      const line of [
        "# TYPE jobline_jobs gauge",
        'jobline_jobs{queue="metered",status="pending"} 1',
        'jobline_jobs{queue="metered",status="complete"} 2',
        'jobline_jobs{queue="metered",status="failed"} 1',
        'jobline_queue_paused{queue="metered"} 0',
        "# TYPE jobline_worker_jobs_total counter",
        'jobline_worker_jobs_total{outcome="completed"} 2',
        'jobline_worker_jobs_total{outcome="failed"} 1',
        'jobline_worker_jobs_total{outcome="retried"} 0',
      ]
    ) assert.ok(lines.includes(line), `${line} in\n${r.text}`);
    await h.close();
  });
});
