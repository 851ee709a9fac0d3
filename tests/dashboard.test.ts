/**
 * The dashboard's handler (SPEC §9) on the memory backend and on a SQLite
 * file: every route checked against the library's own view, and hostile
 * job values escaped on the page. The security rules, the live event
 * stream and the metrics are tests/dashboard_rules.test.ts; the served
 * dashboard, the CLI command and the options tests/dashboard_serve.test.ts;
 * the page in a real browser tests/dashboard_browser.test.ts.
 *
 * @module
 */

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createQueue } from "../src/queue.ts";
import type { Queue } from "../src/queue_types.ts";
import { dashboard } from "../src/dashboard/mod.ts";
import { ask, HOSTILE, hostileJobs, post, RAW } from "./_support/dashboard.ts";

const dir = mkdtempSync(join(tmpdir(), "jobline-dashboard-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let names = 0;
const fresh = () => `dash${++names}`;

const backends: [string, (name: string) => Queue][] = [
  ["memory", (name) => createQueue({ name })],
  [
    "a SQLite file",
    (name) => createQueue(`sqlite://${join(dir, "dash.db")}`, { name }),
  ],
];

for (const [label, open] of backends) {
  describe(`dashboard on ${label}`, () => {
    test("GET /api/queues gives each queue's stats and pause state", async () => {
      await using a = open(fresh());
      await using b = open(fresh());
      await a.enqueueMany([
        { type: "x", data: 1 },
        { type: "y", data: 2 },
      ]);
      await a.pause("y");
      await a.pause("w"); // a type with no jobs
      // The whole queue paused: no type is paused on its own.
      await b.enqueue("x", 3);
      await b.pause();
      const h = dashboard({ queues: [a, b] });
      const r = await ask(h, "/api/queues");
      assert.equal(r.status, 200);
      assert.match(r.headers.get("content-type")!, /^application\/json/);
      assert.deepEqual(r.json(), [
        {
          name: a.name,
          stats: await a.stats(),
          paused: false,
          pausedTypes: ["w", "y"],
        },
        { name: b.name, stats: await b.stats(), paused: true, pausedTypes: [] },
      ]);
      // The page shows the type paused with no jobs, with its Resume.
      const page = await ask(h, `/?queue=${a.name}`);
      assert.match(page.text, /<tr data-type="w">/);
      await h.close();
    });

    test("GET jobs lists a page by status and type, and reads on by cursor", async () => {
      await using q = open(fresh());
      const ids = await q.enqueueMany(
        Array.from(
          { length: 5 },
          (_, i) => ({ type: i % 2 ? "odd" : "even", data: i }),
        ),
      );
      await q.cancel(ids[4]!);
      const h = dashboard({ queues: [q] });
      const base = `/api/queues/${q.name}/jobs`;
      const first = (await ask(h, `${base}?status=pending&limit=2`)).json();
      assert.deepEqual(first, await q.list({ status: "pending", limit: 2 }));
      const second =
        (await ask(h, `${base}?status=pending&limit=2&cursor=${first.cursor}`))
          .json();
      assert.deepEqual(second.jobs.map((j: { id: string }) => j.id), [
        ids[2],
        ids[3],
      ]);
      const odd = (await ask(h, `${base}?type=odd`)).json();
      assert.deepEqual(odd.jobs.map((j: { id: string }) => j.id), [
        ids[1],
        ids[3],
      ]);
      assert.equal((await ask(h, `${base}?status=lost`)).status, 400);
      assert.equal((await ask(h, `${base}?limit=0`)).status, 400);
      assert.equal((await ask(h, `/api/queues/nope/jobs`)).status, 404);
      await h.close();
    });

    test("search finds a job by id, by type, or by part of its key", async () => {
      await using q = open(fresh());
      const [a, b, c] = await q.enqueueMany([
        { type: "mail", data: 1, options: { key: "order-17" } },
        { type: "sms", data: 2, options: { key: "order-18" } },
        { type: "sms", data: 3 },
      ]);
      const h = dashboard({ queues: [q] });
      const find = async (query: string) =>
        (await ask(
          h,
          `/api/queues/${q.name}/jobs?q=${encodeURIComponent(query)}`,
        ))
          .json().jobs.map((j: { id: string }) => j.id);
      assert.deepEqual(await find(b!), [b]);
      assert.deepEqual(await find("sms"), [b, c]);
      assert.deepEqual(await find("order-1"), [a, b]);
      assert.deepEqual(await find("17"), [a]);
      assert.deepEqual(await find("nothing-like-it"), []);
      const page = await ask(h, `/?queue=${q.name}&q=order-18`);
      assert.match(page.text, new RegExp(`data-job-id="${b}"`));
      assert.doesNotMatch(page.text, new RegExp(`data-job-id="${a}"`));
      await h.close();
    });

    test("GET a job gives it as the library reads it; an unknown id is 404", async () => {
      await using q = open(fresh());
      const id = await q.enqueue("t", { a: [1, 2] }, {
        metadata: { by: "me" },
      });
      const h = dashboard({ queues: [q] });
      const r = await ask(h, `/api/queues/${q.name}/jobs/${id}`);
      assert.equal(r.status, 200);
      assert.deepEqual(r.json(), JSON.parse(JSON.stringify(await q.get(id))));
      assert.equal(
        (await ask(h, `/api/queues/${q.name}/jobs/01NOPE`)).status,
        404,
      );
      const page = await ask(h, `/?queue=${q.name}&job=01NOPE`);
      assert.equal(page.status, 404);
      assert.equal((await ask(h, "/?queue=nope")).status, 404);
      await h.close();
    });

    test("POST retry, cancel and remove change the job; unknown ids are 404", async () => {
      await using q = open(fresh());
      const [a, b] = await q.enqueueMany([
        { type: "t", data: 1, options: { maxAttempts: 1 } },
        { type: "t", data: 2 },
      ]);
      await q.fail((await q.claim())!, new Error("no"));
      const h = dashboard({ queues: [q] });
      const jobs = `/api/queues/${q.name}/jobs`;
      assert.deepEqual((await post(h, `${jobs}/${a}/retry`)).json(), {
        changed: true,
      });
      assert.equal((await q.get(a!))?.status, "pending");
      assert.deepEqual((await post(h, `${jobs}/${a}/retry`)).json(), {
        changed: false,
      });
      assert.deepEqual((await post(h, `${jobs}/${b}/cancel`)).json(), {
        changed: true,
      });
      assert.equal((await q.get(b!))?.status, "cancelled");
      assert.deepEqual((await post(h, `${jobs}/${b}/remove`)).json(), {
        changed: true,
      });
      assert.equal(await q.get(b!), null);
      assert.equal((await post(h, `${jobs}/${b}/retry`)).status, 404);
      assert.equal((await post(h, `${jobs}/${a}/frob`)).status, 404);
      await h.close();
    });

    test("POST pause and resume act on the queue or one type", async () => {
      await using q = open(fresh());
      const h = dashboard({ queues: [q] });
      const at = `/api/queues/${q.name}`;
      assert.deepEqual(
        (await post(h, `${at}/pause`, { type: "mail" })).json(),
        {
          changed: true,
          paused: true,
          type: "mail",
        },
      );
      assert.equal(await q.isPaused("mail"), true);
      assert.equal(await q.isPaused(), false);
      await post(h, `${at}/pause`);
      assert.equal(await q.isPaused(), true);
      await post(h, `${at}/resume`);
      await post(h, `${at}/resume`, { type: "mail" });
      assert.deepEqual([await q.isPaused(), await q.isPaused("mail")], [
        false,
        false,
      ]);
      assert.equal((await post(h, `${at}/pause`, { type: 7 })).status, 400);
      await h.close();
    });

    test("POST retry-failed retries every failed job; clean removes by status", async () => {
      await using q = open(fresh());
      await q.enqueueMany(
        Array.from(
          { length: 3 },
          (_, i) => ({ type: "t", data: i, options: { maxAttempts: 1 } }),
        ),
      );
      for (const job of await q.claimMany(3)) {
        await q.fail(job, new Error("no"));
      }
      await q.enqueue("u", null);
      const h = dashboard({ queues: [q] });
      const at = `/api/queues/${q.name}`;
      assert.deepEqual((await post(h, `${at}/retry-failed`)).json(), {
        retried: 3,
      });
      assert.equal((await q.stats()).failed, 0);
      const removed =
        (await post(h, `${at}/clean`, { status: "pending", type: "u" })).json();
      assert.deepEqual(removed, { removed: 1 });
      assert.equal((await q.stats()).pending, 3);
      assert.equal(
        (await post(h, `${at}/clean`, { status: "lost" })).status,
        400,
      );
      await h.close();
    });

    test("GET schedules lists the queue's schedules", async () => {
      await using q = open(fresh());
      await q.schedule("ping", { every: 60_000, type: "ping" });
      const h = dashboard({ queues: [q] });
      const r = await ask(h, `/api/queues/${q.name}/schedules`);
      assert.deepEqual(
        r.json(),
        JSON.parse(JSON.stringify(await q.schedules())),
      );
      assert.match((await ask(h, `/?queue=${q.name}`)).text, /<td>ping<\/td>/);
      await h.close();
    });

    test("the page shows the queue's limits, waiting counts, and a flow job's place in its flow", async () => {
      await using q = open(fresh());
      const h = dashboard({ queues: [q] });
      assert.match((await ask(h, `/?queue=${q.name}`)).text, /No limits\./);
      await q.setLimits({
        concurrency: 7,
        types: { transcode: { concurrency: 4 } },
        groups: { rate: { max: 10, per: 60_000 } },
      });
      const flow = await q.enqueueFlow([
        { ref: "fetch", type: "fetch", data: null },
        { ref: "thumb", type: "resize", data: null, dependsOn: ["fetch"] },
      ]);
      const page = (await ask(h, `/?queue=${q.name}`)).text;
      assert.match(page, /<td>the whole queue<\/td><td class="num">7<\/td>/);
      assert.match(page, /<td>type transcode<\/td><td class="num">4<\/td>/);
      assert.match(page, /10 per 60000 ms/);
      const api = (await ask(h, "/api/queues")).json() as {
        name: string;
        stats: { waiting: number };
      }[];
      assert.equal(api.find((x) => x.name === q.name)?.stats.waiting, 1);
      const job = (await ask(h, `/?queue=${q.name}&job=${flow.jobs.thumb}`))
        .text;
      assert.ok(job.includes(`thumb of ${flow.id}, after fetch`));
      await h.close();
    });

    test("every job value is escaped: hostile data never becomes markup", async () => {
      await using q = open(fresh());
      const { failed, complete } = await hostileJobs(q);
      const h = dashboard({ queues: [q] });
      for (
        const path of [
          `/?queue=${q.name}`,
          `/?queue=${q.name}&status=failed`,
          `/?queue=${q.name}&job=${failed}`,
          `/?queue=${q.name}&job=${complete}`,
          `/?queue=${q.name}&q=${encodeURIComponent(HOSTILE.img)}`,
          `/?queue=${encodeURIComponent(HOSTILE.script)}`,
          `/?queue=${q.name}&job=${encodeURIComponent(HOSTILE.svg)}`,
        ]
      ) {
        const page = await ask(h, path);
        for (const raw of RAW) {
          assert.ok(!page.text.includes(raw), `${raw} in ${path}`);
        }
        assert.equal(page.text.match(/<script/g)?.length, 1, path);
      }
      const detail = (await ask(h, `/?queue=${q.name}&job=${failed}`)).text;
      assert.ok(
        detail.includes(
          "&lt;img src=x onerror=&quot;window.__pwned = 1&quot;&gt;",
        ),
      );
      assert.ok(
        detail.includes("&lt;/pre&gt;&lt;script&gt;window.__pwned = 1"),
      );
      assert.ok(
        detail.includes("&lt;script&gt;window.__pwned = 1&lt;/script&gt;"),
      );
      await h.close();
    });
  });
}
