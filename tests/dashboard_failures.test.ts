/**
 * The dashboard when its queues' store fails: a read that fails is never
 * shown to the caller (a backend's message may hold hosts or credentials)
 * and reaches `onError`; a job page whose read fails is an error, not "no
 * such job"; a live stream whose listen failed is not shared with the
 * clients that come after it; a dashboard that could not be served leaves
 * no listener behind. Also the id search's filters, and the CLI's
 * `--allowed-hosts` and `migrate` on bad input.
 *
 * @module
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createQueue } from "../src/queue.ts";
import type { Queue } from "../src/queue_types.ts";
import { dashboard, serveDashboard } from "../src/dashboard/mod.ts";
import { createWorker } from "../src/worker/mod.ts";
import type { Worker } from "../src/worker/types.ts";
import { ask, readEvents, updates } from "./_support/dashboard.ts";
import { runCli } from "./_support/cli.ts";
import { main } from "../src/cli/mod.ts";

/** A secret a store's error could carry. */
const SECRET = "postgres://admin:hunter2@db.internal:5432/app";

/** `queue` with the named methods replaced. */
function failing(queue: Queue, methods: Partial<Queue>): Queue {
  return new Proxy(queue, {
    get(target, prop, receiver) {
      if (Object.hasOwn(methods, prop)) {
        return methods[prop as keyof Queue];
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}

const down = () => Promise.reject(new Error(`connect failed: ${SECRET}`));

describe("dashboard, when the store fails", () => {
  test("the page says schedules and limits could not be read, without the error, which goes to onError", async () => {
    await using queue = createQueue({ name: "fails" });
    const errors: unknown[] = [];
    const h = dashboard({
      queues: [failing(queue, { schedules: down, getLimits: down })],
      onError: (err) => errors.push(err),
    });
    const r = await ask(h, "/");
    await h.close();
    assert.equal(r.status, 200);
    assert.match(r.text, /Schedules could not be read/);
    assert.match(r.text, /Limits could not be read/);
    assert.ok(!r.text.includes("hunter2"), "the page shows the store's error");
    assert.equal(errors.length, 2);
    assert.match(String(errors[0]), /hunter2/);
  });

  test("a read refused as bad input still shows its message", async () => {
    await using queue = createQueue({ name: "refused" });
    const { ValidationError } = await import("../src/errors.ts");
    const errors: unknown[] = [];
    const h = dashboard({
      queues: [failing(queue, {
        schedules: () =>
          Promise.reject(new ValidationError("this backend has no schedules")),
      })],
      onError: (err) => errors.push(err),
    });
    const r = await ask(h, "/");
    await h.close();
    assert.match(r.text, /Schedules could not be read: this backend has no/);
    assert.deepEqual(errors, []);
  });

  test("a job page whose read fails answers 500 and tells onError, not 404", async () => {
    await using queue = createQueue({ name: "jobfails" });
    const id = await queue.enqueue("t", null);
    const errors: unknown[] = [];
    const h = dashboard({
      queues: [failing(queue, { get: down })],
      onError: (err) => errors.push(err),
    });
    const r = await ask(h, `/?job=${id}`);
    const gone = await ask(h, "/?job=no-such-job");
    await h.close();
    assert.equal(r.status, 500);
    assert.ok(!r.text.includes("hunter2"));
    assert.equal(errors.length, 2, "the failed get, and nothing for the 404");
    assert.equal(gone.status, 500, "the same store answers every get");
    await using healthy = createQueue({ name: "jobgone" });
    const h2 = dashboard({ queues: [healthy] });
    const missing = await ask(h2, "/?job=no-such-job");
    await h2.close();
    assert.equal(missing.status, 404);
    assert.match(missing.text, /It may have been removed/);
  });

  test("a live stream whose listen failed ends, and the next client listens afresh", async () => {
    await using queue = createQueue({ name: "listenfails" });
    let fail = true;
    const h = dashboard({
      queues: [failing(queue, {
        listen: (...args: Parameters<Queue["listen"]>) =>
          fail ? down() : queue.listen(...args),
      })],
    });
    const first = await h(new Request("http://localhost/api/events"));
    assert.equal(first.status, 200);
    const notice = readEvents(first.body!);
    await notice.until(
      "the notice",
      (t) => t.includes("a queue could not be listened to"),
      3_000,
    );
    await notice.close();
    fail = false;
    const second = await h(new Request("http://localhost/api/events"));
    const events = readEvents(second.body!);
    await events.until("the greeting", (t) => t.includes("connected"));
    const id = await queue.enqueue("t", null);
    await events.until(
      "the update",
      (t) => updates(t).some((u) => u.update.jobId === id),
    );
    await events.close();
    await h.close();
  });
});

describe("serveDashboard on a port in use", () => {
  test("rejects, and leaves no listener on the workers it was given", async () => {
    await using queue = createQueue({ name: "busyport" });
    const worker = createWorker(queue, { t: () => null });
    let on = 0;
    let off = 0;
    const counted = new Proxy(worker, {
      get(target, prop, receiver) {
        if (prop !== "on") return Reflect.get(target, prop, receiver);
        return (...args: Parameters<Worker["on"]>) => {
          on++;
          const stop = target.on(...args);
          return () => {
            off++;
            stop();
          };
        };
      },
    });
    const first = await serveDashboard({ queues: [queue], port: 0 });
    await assert.rejects(
      serveDashboard({ queues: [queue], workers: [counted], port: first.port }),
    );
    await first.close();
    await worker.stop();
    assert.ok(on > 0);
    assert.equal(off, on, "every listener it added is removed");
  });
});

describe("dashboard id search", () => {
  test("a job found by its id is shown only when it has the status and type asked", async () => {
    await using queue = createQueue({ name: "search" });
    const id = await queue.enqueue("other", null);
    await queue.enqueue("wanted", null);
    const h = dashboard({ queues: [queue] });
    const ids = async (query: string) =>
      (await ask(h, `/api/queues/search/jobs?${query}`)).json().jobs.map((
        j: { id: string },
      ) => j.id);
    assert.deepEqual(await ids(`q=${id}`), [id]);
    assert.deepEqual(await ids(`type=other&q=${id}`), [id]);
    assert.ok(!(await ids(`type=wanted&q=${id}`)).includes(id));
    assert.ok(!(await ids(`status=failed&q=${id}`)).includes(id));
    await h.close();
  });
});

describe("CLI on bad input", () => {
  test("dashboard --allowed-hosts with no host is bad usage", async () => {
    for (const hosts of ["", ",", " , "]) {
      // A served dashboard (the bug) runs until the signal ends it.
      const run = await runCli([
        "dashboard",
        "--port",
        "0",
        "--url",
        "memory:",
        "--allowed-hosts",
        hosts,
      ], { signal: AbortSignal.timeout(5_000) });
      assert.equal(run.code, 2, `${JSON.stringify(hosts)}: ${run.stderr}`);
      assert.match(run.stderr, /--allowed-hosts names no host/);
    }
  });

  test("migrate to a bad URL is bad usage and closes the source it opened", async () => {
    const opened: Queue[] = [];
    let stderr = "";
    const code = await main(["migrate", "memory:", "nope://x"], {
      stdout: () => {},
      stderr: (t) => (stderr += t),
      env: {},
      stderrIsTTY: false,
      columns: 80,
      openQueue: (url, name) => {
        if (url.startsWith("nope:")) return createQueue(url, { name });
        const queue = createQueue({ name });
        opened.push(queue);
        return queue;
      },
    });
    assert.equal(code, 2, stderr);
    assert.match(stderr, /nope/);
    assert.equal(opened.length, 1);
    await assert.rejects(opened[0]!.stats(), /closed/);
  });
});
