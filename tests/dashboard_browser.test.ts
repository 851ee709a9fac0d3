/**
 * The dashboard page in real headless Chromium (Debian's `chromium`,
 * driven by the `playwright-core` devDependency), served by
 * `serveDashboard` on the runtime that runs the test: it loads, shows a
 * job enqueued after it loaded within a second without a reload, retries
 * a failed job on a click, pauses a type that a running worker then stops
 * claiming, shows hostile job data as text without running it, and offers
 * nothing in read-only mode. CHROMIUM names another browser binary.
 *
 * @module
 */

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import process from "node:process";
import { type Browser, chromium, type Page } from "playwright-core";
import { createQueue } from "../src/queue.ts";
import { createWorker } from "../src/worker/mod.ts";
import {
  type DashboardOptions,
  type DashboardServer,
  serveDashboard,
} from "../src/dashboard/mod.ts";
import { HOSTILE, hostileJobs } from "./_support/dashboard.ts";
import { sleep, waitFor } from "./_support/time.ts";

const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
let browser: Browser;
before(async () => {
  if (!existsSync(executablePath)) {
    throw new Error(
      `no Chromium at ${executablePath}: apt-get install chromium ` +
        "(or name another binary with CHROMIUM)",
    );
  }
  browser = await chromium.launch({ executablePath, headless: true });
});
after(async () => {
  await browser?.close();
});

/** A served dashboard and a page on it that reports its own errors. */
interface Opened {
  page: Page;
  server: DashboardServer;
  /** Console errors and uncaught exceptions of the page (CSP refusals too). */
  errors: string[];
  [Symbol.asyncDispose](): Promise<void>;
}

async function open(
  options: DashboardOptions,
  path = "",
): Promise<Opened> {
  const server = await serveDashboard({ ...options, port: 0 });
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(server.url + path);
  await page.waitForSelector("#live.on", { timeout: 5_000 });
  return {
    page,
    server,
    errors,
    async [Symbol.asyncDispose]() {
      await page.close();
      await server.close();
    },
  };
}

/** Waits until the element of `selector` shows exactly `text` (a word). */
function showing(
  page: Page,
  selector: string,
  text: string,
  options: { timeout?: number } = {},
): Promise<void> {
  const exact = new RegExp(`^${text}$`);
  return page.locator(selector).filter({ hasText: exact }).waitFor(options);
}

const countCell = (queue: string, status: string): string =>
  `tr[data-queue-row="${queue}"] a[data-count="${status}"]`;

describe("dashboard in Chromium", () => {
  test("the page loads with its queues, live, and no error", async () => {
    await using queue = createQueue({ name: "loads" });
    await queue.enqueue("t", null);
    await using o = await open({ queues: [queue] });
    assert.equal(await o.page.title(), "jobline · loads");
    assert.equal(await o.page.textContent(countCell("loads", "pending")), "1");
    assert.equal(await o.page.textContent("#live"), "live");
    assert.deepEqual(o.errors, []);
  });

  test("a job enqueued after the page loaded shows within 1 s, without a reload", async () => {
    await using queue = createQueue({ name: "live" });
    await using o = await open({ queues: [queue] });
    await o.page.evaluate(() => {
      (globalThis as { __stayed?: boolean }).__stayed = true;
    });
    const started = Date.now();
    const id = await queue.enqueue("email", { to: "a@example.com" });
    await o.page.waitForSelector(`#jobs tr[data-job-id="${id}"]`, {
      timeout: 1_000,
    });
    await showing(o.page, countCell("live", "pending"), "1", {
      timeout: Math.max(1, 1_000 - (Date.now() - started)),
    });
    assert.ok(Date.now() - started < 1_000);
    assert.equal(
      await o.page.evaluate(() =>
        (globalThis as { __stayed?: boolean }).__stayed
      ),
      true,
      "the page was not reloaded",
    );
    assert.deepEqual(o.errors, []);
  });

  test("clicking retry on a failed job makes it pending", async () => {
    await using queue = createQueue({ name: "retry" });
    const id = await queue.enqueue("t", null, { maxAttempts: 1 });
    await queue.fail((await queue.claim())!, new Error("boom"));
    await using o = await open(
      { queues: [queue] },
      "?queue=retry&status=failed",
    );
    await o.page.click(`button[data-action="retry"][data-id="${id}"]`);
    await waitFor(
      "the job to be pending",
      async () => (await queue.get(id))?.status === "pending",
    );
    await showing(o.page, countCell("retry", "failed"), "0");
    assert.deepEqual(o.errors, []);
  });

  test("pausing a type on the page stops a running worker claiming it", async () => {
    await using queue = createQueue({ name: "pausing" });
    const done: string[] = [];
    await using _worker = createWorker(queue, {
      mail: (job) => void done.push(job.id),
      other: (job) => void done.push(job.id),
    }, { pollInterval: 20 });
    const first = await queue.enqueue("mail", null);
    await waitFor("the first mail", () => done.includes(first));
    await using o = await open({ queues: [queue] }, "?queue=pausing");
    await o.page.click(
      '#types tr[data-type="mail"] button[data-action="pause"]',
    );
    await waitFor("mail to be paused", () => queue.isPaused("mail"));
    await o.page.waitForSelector(
      '#types tr[data-type="mail"] button[data-action="resume"]',
    );
    const held = await queue.enqueue("mail", null);
    const other = await queue.enqueue("other", null);
    await waitFor("the other job", () => done.includes(other));
    await sleep(200);
    assert.equal((await queue.get(held))?.status, "pending");
    assert.ok(!done.includes(held));
    await o.page.click(
      '#types tr[data-type="mail"] button[data-action="resume"]',
    );
    await waitFor("the held mail to run", () => done.includes(held));
    assert.deepEqual(o.errors, []);
  });

  test("hostile job data is shown as text and never runs", async () => {
    await using queue = createQueue({ name: "hostile" });
    const { failed } = await hostileJobs(queue);
    await using o = await open(
      { queues: [queue] },
      `?queue=hostile&job=${failed}`,
    );
    const pwned = () =>
      o.page.evaluate(() => (globalThis as { __pwned?: number }).__pwned);
    const data = JSON.parse(
      (await o.page.textContent('pre[data-field="data"]'))!,
    );
    assert.deepEqual(data, HOSTILE);
    assert.equal(await o.page.textContent('[data-field="key"]'), HOSTILE.img);
    assert.equal(
      await o.page.textContent('[data-field="errorMessage"]'),
      HOSTILE.img,
    );
    assert.match(
      (await o.page.textContent('pre[data-field="stack"]'))!,
      /<\/pre><script>/,
    );
    assert.equal(await o.page.locator("img, svg").count(), 0);
    // The script refreshes the job on its update: the same values, as text.
    await queue.retry(failed);
    await showing(o.page, '[data-field="status"]', "pending");
    assert.equal(await o.page.textContent('[data-field="key"]'), HOSTILE.img);
    // A hostile row that arrives live, built by the script.
    await o.page.goto(`${o.server.url}?queue=hostile`);
    await o.page.waitForSelector("#live.on");
    const late = await queue.enqueue("hostile", null, { key: HOSTILE.script });
    const cell = `#jobs tr[data-job-id="${late}"] td:nth-child(6)`;
    await o.page.waitForSelector(cell);
    assert.equal(await o.page.textContent(cell), HOSTILE.script);
    assert.equal(await o.page.locator("img, svg").count(), 0);
    assert.equal(await pwned(), undefined);
    assert.deepEqual(o.errors, []);
  });

  test("read-only mode offers no action and refuses POSTs", async () => {
    await using queue = createQueue({ name: "readonly" });
    const id = await queue.enqueue("t", null, { maxAttempts: 1 });
    await queue.fail((await queue.claim())!, new Error("boom"));
    await using o = await open(
      { queues: [queue], readOnly: true },
      "?queue=readonly&status=failed",
    );
    assert.equal(await o.page.locator(`tr[data-job-id="${id}"]`).count(), 1);
    assert.equal(await o.page.locator("button[data-action]").count(), 0);
    assert.equal(await o.page.locator("form[data-post]").count(), 0);
    assert.equal(await o.page.textContent(".ro"), "read-only");
    const status = await o.page.evaluate(async (path) => {
      const res = await fetch(path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      return res.status;
    }, `api/queues/readonly/jobs/${id}/retry`);
    assert.equal(status, 403);
    assert.equal((await queue.get(id))?.status, "failed");
    await o.page.goto(`${o.server.url}?queue=readonly&job=${id}`);
    assert.equal(await o.page.locator("button[data-action]").count(), 0);
  });
});
