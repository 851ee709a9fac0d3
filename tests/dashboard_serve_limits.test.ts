/**
 * The served dashboard's guards, over real connections on the runtime
 * that runs the test (`Deno.serve`, `Bun.serve` or `node:http`): no
 * listener left behind a client that leaves before its stream is set up;
 * request bodies not read before `authorize`, nor past 64 KiB; the Host
 * check of a loopback server; no pile of listeners while writing to a
 * slow client; a failing handler that never takes the server down; and
 * the adapter's own answers with the safe headers.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { createQueue } from "../src/queue.ts";
import { dashboard, serveDashboard } from "../src/dashboard/mod.ts";
import { serveNode } from "../src/dashboard/serve.ts";
import type { DashboardHandler } from "../src/dashboard/types.ts";
import {
  chunk,
  rawHttp,
  readEvents,
  watchListens,
} from "./_support/dashboard.ts";
import { startCli } from "./_support/cli.ts";
import { waitFor } from "./_support/time.ts";

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe("serveDashboard limits", () => {
  test("clients that leave before their stream is set up leave no listener", async () => {
    await using q = createQueue({ name: "early" });
    const slow = gate();
    const watched = watchListens(q, slow.promise);
    const signals: AbortSignal[] = [];
    const server = await serveDashboard({
      queues: [watched.queue],
      port: 0,
      authorize: (req) => {
        signals.push(req.signal);
        return true;
      },
    });
    try {
      const ask =
        `GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`;
      const clients = [1, 2, 3].map(() => rawHttp(server.port, ask));
      await waitFor("the three requests", () => signals.length === 3);
      await waitFor("the listen under way", () => watched.calls === 1);
      for (const c of clients) c.close();
      // Node and Bun abort the request's signal when its client leaves;
      // serveDashboard on Deno tells the handler only once it answers.
      await waitFor(
        "the server to see them leave",
        () => signals.every((s) => s.aborted),
        { timeout: 1_000 },
      ).catch(() => {});
      slow.open(); // only now does the backend listen
      await waitFor("the listener to start", () => watched.started === 1);
      await waitFor("the listener to stop", () => watched.listening === 0);
    } finally {
      slow.open();
      await server.close();
    }
  });

  test("a body is not read before authorize, nor past 64 KiB", async () => {
    await using q = createQueue({ name: "bodies" });
    const server = await serveDashboard({
      queues: [q],
      port: 0,
      authorize: (req) => req.headers.get("authorization") === "Bearer ok",
    });
    const head = "POST /api/queues/bodies/pause HTTP/1.1\r\n" +
      `Host: 127.0.0.1:${server.port}\r\n` +
      "content-type: application/json\r\ntransfer-encoding: chunked\r\n";
    try {
      // A body that never ends: refused as soon as the headers are in.
      const refused = rawHttp(server.port, `${head}\r\n${chunk("{")}`);
      assert.equal((await refused.head()).status, 401);
      refused.close();
      // 100 KiB of a body that never ends, no content-length: cut at 64 KiB.
      const big = rawHttp(
        server.port,
        `${head}authorization: Bearer ok\r\n\r\n${chunk("{")}`,
      );
      for (let i = 0; i < 10; i++) big.write(chunk(" ".repeat(10_240)));
      const answer = await big.head();
      assert.equal(answer.status, 413);
      assert.match(answer.text, /x-content-type-options: nosniff/i);
      big.close();
      assert.equal(await q.isPaused(), false);
    } finally {
      await server.close();
    }
  });

  test("on loopback only localhost, 127.0.0.1 and [::1] at its port are served", async () => {
    await using q = createQueue({ name: "loop" });
    const server = await serveDashboard({ queues: [q], port: 0 });
    const status = (host: string): Promise<number> =>
      statusAt(server.port, host);
    try {
      const port = server.port;
      assert.equal(await status(`127.0.0.1:${port}`), 200);
      assert.equal(await status(`localhost:${port}`), 200);
      assert.equal(await status(`[::1]:${port}`), 200);
      assert.equal(await status(`rebound.example:${port}`), 403);
      assert.equal(await status(`10.0.0.5:${port}`), 403);
      assert.equal(await status(`localhost:${port + 1}`), 403);
      const res = await fetch(`${server.url}metrics`);
      assert.equal(res.status, 200, "fetch sends the server's own host");
      await res.body?.cancel();
    } finally {
      await server.close();
    }
    const named = await serveDashboard({
      queues: [q],
      port: 0,
      allowedHosts: ["jobs.example"],
    });
    try {
      assert.equal(await statusAt(named.port, "jobs.example"), 200);
      assert.equal(await statusAt(named.port, `127.0.0.1:${named.port}`), 403);
    } finally {
      await named.close();
    }
  });

  test("writing to a slow reader piles up no listeners", async () => {
    await using q = createQueue({ name: "drain" });
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on("warning", onWarning);
    const server = await serveDashboard({ queues: [q], port: 0 });
    try {
      const res = await fetch(`${server.url}api/events`);
      const events = readEvents(res.body!);
      await events.until("the opening", (t) => t.includes(": connected"));
      const done = (t: string): number =>
        t.split('"status":"complete"').length - 1;
      // Each write is past Node's buffer, so each waits for "drain"; one
      // at a time, so the reader keeps within its budget.
      const result = "x".repeat(100_000);
      await q.enqueueMany(
        Array.from({ length: 15 }, () => ({ type: "t", data: null })),
      );
      for (let i = 1; i <= 15; i++) {
        await q.complete((await q.claim())!, result);
        await events.until(`completion ${i}`, (t) => done(t) === i);
      }
      await events.close();
      await new Promise((resolve) => setTimeout(resolve, 0));
      assert.deepEqual(
        warnings.filter((w) => w === "MaxListenersExceededWarning"),
        [],
      );
    } finally {
      process.off("warning", onWarning);
      await server.close();
    }
  });

  test("a failing answer on node:http ends its connection, never the process", async () => {
    await using q = createQueue({ name: "sturdy" });
    const inner = dashboard({ queues: [q] });
    const broken = Object.assign(
      (req: Request): Promise<Response> =>
        new URL(req.url).pathname === "/broken"
          // Not a Response: the adapter itself fails on it.
          ? Promise.resolve(null as unknown as Response)
          : inner(req),
      { close: () => inner.close() },
    ) as DashboardHandler;
    // The Node adapter, on whichever runtime runs this (each has node:http).
    const server = await serveNode(broken, 0, "127.0.0.1");
    try {
      const c = rawHttp(
        server.port,
        `GET /broken HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`,
      );
      await assert.rejects(c.head(), /closed/);
      const res = await fetch(`http://127.0.0.1:${server.port}/api/queues`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
    } finally {
      await inner.close();
      await server.stop();
    }
  });

  test("a request no URL can be made of is 400 with the safe headers", async () => {
    await using q = createQueue({ name: "badhost" });
    const server = await serveDashboard({ queues: [q], port: 0 });
    try {
      const c = rawHttp(
        server.port,
        "GET /api/queues HTTP/1.1\r\nHost: bad host\r\n\r\n",
      );
      const answer = await c.head();
      c.close();
      assert.equal(answer.status, 400);
      assert.match(answer.text, /x-content-type-options: nosniff/i);
      assert.match(answer.text, /x-frame-options: DENY/i);
    } finally {
      await server.close();
    }
  });

  test("jobline dashboard --allowed-hosts names the hosts served", async () => {
    await using queue = createQueue({ name: "cli-hosts" });
    const stop = new AbortController();
    const run = startCli(
      [
        "dashboard",
        "--port",
        "0",
        "--allowed-hosts",
        "jobs.a,jobs.b:80",
        "--json",
      ],
      {
        target: {
          url: "memory:",
          library: () => queue,
          openQueue: () => queue,
        },
        signal: stop.signal,
      },
    );
    try {
      const line = await waitFor(
        "the URL",
        () => run.stdout().split("\n")[0] || undefined,
      );
      const { port } = JSON.parse(line) as { port: number };
      assert.equal(await statusAt(port, "jobs.a:1234"), 200);
      assert.equal(await statusAt(port, "jobs.b"), 200);
      assert.equal(await statusAt(port, "jobs.c"), 403);
    } finally {
      stop.abort();
    }
    assert.equal((await run.done).code, 0);
  });
});

describe("jobline dashboard --allowed-hosts", () => {
  test("a bad host name is bad usage", async () => {
    const run = startCli([
      "dashboard",
      "--port",
      "0",
      "--url",
      "memory:",
      "--allowed-hosts",
      "jobs.a,a b",
    ]);
    const done = await run.done;
    assert.equal(done.code, 2);
    assert.match(done.stderr, /--allowed-hosts.*"a b"/);
  });
});

/** The status of a GET of /api/queues on a port, sent with `host`. */
async function statusAt(port: number, host: string): Promise<number> {
  const c = rawHttp(port, `GET /api/queues HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  const { status } = await c.head();
  c.close();
  return status;
}
