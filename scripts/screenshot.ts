/**
 * Makes docs/dashboard.png, the README's picture of the dashboard, from the
 * real page: a memory queue with jobs of every status (one running at 60 %,
 * failures with their errors, a paused type, a schedule) served by
 * `serveDashboard`, shot by headless Chromium (Debian's `chromium`, driven
 * by the `playwright-core` devDependency).
 *
 * It writes only docs/dashboard.png.
 *
 * Run: deno task screenshot (CHROMIUM names another browser binary)
 *
 * @module
 */

import { mkdirSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { createQueue } from "../mod.ts";
import type { Queue } from "../mod.ts";
import { serveDashboard } from "../src/dashboard/mod.ts";

const out = fileURLToPath(new URL("../docs/dashboard.png", import.meta.url));
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** Fills a queue with jobs of every status. */
async function fill(queue: Queue): Promise<void> {
  const mails = ["ada@example.com", "grace@example.com", "linus@example.com"];
  for (const [i, to] of mails.entries()) {
    await queue.enqueue("email.send", { to, template: "welcome" }, {
      key: `welcome-${i + 1}`,
    });
  }
  for (let i = 0; i < 4; i++) {
    await queue.enqueue("image.resize", {
      url: `photos/${i + 1}.jpg`,
      width: 640,
    });
  }
  await queue.enqueue("report.build", { month: "2025-06" }, {
    delay: 3_600_000,
  });
  for (let i = 0; i < 3; i++) {
    const job = (await queue.claim({ types: ["image.resize"] }))!;
    await queue.complete(job, { width: 640, height: 427, bytes: 48_213 + i });
  }
  const running = (await queue.claim({ types: ["image.resize"] }))!;
  await queue.update(running, { progress: 0.6, message: "encoding" });
  await queue.enqueue("email.send", { to: "bounce@example.com" }, {
    key: "welcome-4",
    maxAttempts: 1,
    priority: "high",
  });
  const bounced = (await queue.claim({ types: ["email.send"] }))!;
  await queue.fail(bounced, new Error("550 mailbox unavailable"), {
    retry: false,
  });
  const stale = await queue.enqueue("cache.warm", { region: "eu-west" });
  await queue.cancel(stale, "superseded");
  await queue.pause("cache.warm");
  await queue.schedule("nightly-report", {
    cron: "0 3 * * *",
    tz: "Europe/Paris",
    type: "report.build",
    data: { kind: "daily" },
  });
}

await using queue = createQueue({ name: "default" });
await using other = createQueue({ name: "webhooks" });
await fill(queue);
await other.enqueue("webhook.deliver", { url: "https://example.com/hook" });
await using server = await serveDashboard({ queues: [queue, other], port: 0 });
const browser = await chromium.launch({ executablePath, headless: true });
try {
  const page = await browser.newPage({
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
  });
  await page.goto(server.url);
  await page.waitForSelector("#live.on");
  mkdirSync(fileURLToPath(new URL("../docs/", import.meta.url)), {
    recursive: true,
  });
  await page.screenshot({ path: out, fullPage: true });
  console.log(`screenshot: wrote ${out}`);
} finally {
  await browser.close();
}
