/**
 * Real cancellation: a long job is cancelled while it runs; its handler's
 * signal aborts at once and whatever it would have returned is discarded.
 *
 * Run: deno run -A examples/cancel.ts (or node / bun)
 */

import { createQueue, createWorker, subscribe } from "@jobline/jobline";

await using queue = createQueue();
await using _worker = createWorker(queue, {
  export: async (_job, ctx) => {
    for (let row = 0; row < 1_000; row += 100) {
      // Real work would pass ctx.signal to fetch() or a database call.
      await new Promise((resolve) => setTimeout(resolve, 50));
      ctx.signal.throwIfAborted();
      await ctx.progress(row / 1_000, `${row} rows written`);
    }
    return { rows: 1_000 };
  },
});

const id = await queue.enqueue("export", { table: "orders" });
setTimeout(() => queue.cancel(id, "the user closed the page"), 220);

for await (const u of subscribe(queue, id)) {
  console.log(u.status.padEnd(10), u.message, u.error?.message ?? "");
}
const job = await queue.get(id);
console.log(
  `final: ${job?.status}, result: ${JSON.stringify(job?.result ?? null)}`,
);
