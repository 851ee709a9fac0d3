/**
 * The dashboard served for real, on the runtime that runs the test
 * (`Deno.serve`, `Bun.serve` or `node:http`): the page, the JSON API, a
 * POST, the live event stream over HTTP and `close()`; `basePath`; the
 * dashboard's options; and the CLI's `dashboard` command.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createQueue } from "../src/queue.ts";
import { dashboard, serveDashboard } from "../src/dashboard/mod.ts";
import { ask, readEvents, updates } from "./_support/dashboard.ts";
import { startCli } from "./_support/cli.ts";
import { waitFor } from "./_support/time.ts";

describe("serveDashboard", () => {
  test("serves the page, the API, actions and live events on this runtime", async () => {
    await using queue = createQueue({ name: "served" });
    const failed = await queue.enqueue("t", null, { maxAttempts: 1 });
    await queue.fail((await queue.claim())!, new Error("no"));
    const server = await serveDashboard({ queues: [queue], port: 0 });
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.equal(server.url, `http://127.0.0.1:${server.port}/`);
      const page = await fetch(server.url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<h2>Queue served/);
      const api = await fetch(`${server.url}api/queues`);
      assert.equal((await api.json())[0].stats.failed, 1);

      const events = await fetch(`${server.url}api/events`);
      const stream = readEvents(events.body!);
      await stream.until("the opening", (t) => t.includes(": connected"));
      const retry = await fetch(
        `${server.url}api/queues/served/jobs/${failed}/retry`,
        {
          method: "POST",
          headers: {
            "content-type": "application/json",
            origin: server.url.slice(0, -1),
          },
          body: "{}",
        },
      );
      assert.deepEqual(await retry.json(), { changed: true });
      await stream.until(
        "the retry's update",
        (t) =>
          updates(t).some((u) =>
            u.update.jobId === failed && u.update.status === "pending"
          ),
      );
      const evil = await fetch(`${server.url}api/queues/served/pause`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          origin: "http://evil.example",
        },
        body: "{}",
      });
      assert.equal(evil.status, 403);
      await evil.body?.cancel();
      await stream.close();
    } finally {
      await server.close();
    }
    await assert.rejects(fetch(server.url));
  });

  test("close() ends open event streams", async () => {
    await using queue = createQueue({ name: "closing" });
    const server = await serveDashboard({ queues: [queue], port: 0 });
    const res = await fetch(`${server.url}api/events`);
    const stream = readEvents(res.body!);
    await stream.until("the opening", (t) => t.includes(": connected"));
    await server.close();
    await assert.rejects(
      stream.until("the end", () => false, 5_000),
      /ended|terminated|closed|aborted|reset|socket|other side/i,
    );
  });

  test("basePath mounts every route under it; other paths are 404", async () => {
    await using queue = createQueue({ name: "based" });
    const h = dashboard({ queues: [queue], basePath: "/admin/jobs" });
    assert.equal((await ask(h, "/admin/jobs")).status, 200);
    const page = await ask(h, "/admin/jobs/");
    assert.match(page.text, /data-base="\/admin\/jobs\/"/);
    assert.match(page.text, /href="\/admin\/jobs\/\?queue=based"/);
    assert.equal((await ask(h, "/admin/jobs/api/queues")).status, 200);
    assert.equal((await ask(h, "/admin/jobs/metrics")).status, 200);
    assert.equal((await ask(h, "/api/queues")).status, 404);
    assert.equal((await ask(h, "/admin/jobsx")).status, 404);
    assert.equal((await ask(h, "/admin/jobs/api/nope")).status, 404);
    await h.close();
  });

  test("bad options are refused", async () => {
    await using a = createQueue({ name: "same" });
    await using b = createQueue({ name: "same" });
    assert.throws(() => dashboard({ queues: [] }), TypeError);
    assert.throws(() => dashboard({ queues: [a, b] }), /two queues named/);
    assert.throws(
      () => dashboard({ queues: [a], basePath: "admin" }),
      /basePath/,
    );
    assert.throws(() => dashboard({ queues: [a], pageSize: 0 }), RangeError);
    await assert.rejects(serveDashboard({ queues: [a], port: -1 }), RangeError);
  });
});

describe("jobline dashboard (CLI)", () => {
  test("serves the queue's dashboard until Ctrl-C", async () => {
    await using queue = createQueue({ name: "cli-dash" });
    await queue.enqueue("t", null);
    const stop = new AbortController();
    const run = startCli(
      ["dashboard", "--port", "0", "--queue", "cli-dash", "--json"],
      {
        target: {
          url: "memory:",
          library: () => queue,
          openQueue: () => queue,
        },
        signal: stop.signal,
      },
    );
    let url = "";
    try {
      const line = await waitFor(
        "the URL",
        () => run.stdout().split("\n")[0] || undefined,
      );
      url = (JSON.parse(line) as { url: string }).url;
      const res = await fetch(`${url}api/queues`);
      assert.equal((await res.json())[0].stats.pending, 1);
    } finally {
      stop.abort();
    }
    const done = await run.done;
    assert.equal(done.code, 0, done.stderr);
    await assert.rejects(fetch(url));
  });

  test("a bad port is bad usage", async () => {
    const run = startCli(["dashboard", "--port", "http", "--url", "memory:"]);
    const done = await run.done;
    assert.equal(done.code, 2);
    assert.match(done.stderr, /--port/);
  });
});
