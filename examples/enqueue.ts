/**
 * The other side of examples/worker.ts: a process (a web app, a script)
 * that enqueues a job and follows it while a worker in another process
 * runs it. Both name the same backend URL and queue.
 *
 * Run: JOBLINE_URL=sqlite://./jobs.db deno run -A examples/enqueue.ts
 *      (or node / bun examples/enqueue.ts), with examples/worker.ts running
 *
 * @module
 */

import process from "node:process";
import { createQueue, subscribe } from "@jobline/jobline";

type Jobs = { email: { to: string } };

const url = process.env.JOBLINE_URL ?? "sqlite://./jobs.db";
await using queue = createQueue<Jobs>(url, { name: "emails" });
const id = await queue.enqueue("email", { to: "ada@example.com" });
for await (const update of subscribe(queue, id)) {
  console.log(update.status, update.message ?? "");
}
