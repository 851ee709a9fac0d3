/**
 * The demo: a few dozen jobs of two types and priorities on the embedded
 * memory backend, one worker, and live progress printed from subscribe().
 * Ends by itself within a few seconds.
 *
 * Run: deno task demo (or: node examples/demo.ts, bun examples/demo.ts)
 */

import { createQueue, createWorker, subscribe } from "@jobline/jobline";

type Jobs = {
  thumbnail: { image: string; size: number };
  email: { to: string; subject: string };
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

await using queue = createQueue<Jobs>({ name: "demo" });

// Watch every update of the queue while the demo runs.
const watcher = new AbortController();
const counts = { thumbnail: 0, email: 0 };
const watching = (async () => {
  for await (
    const u of subscribe(queue, undefined, { signal: watcher.signal })
  ) {
    if (u.status === "complete") counts[u.type as keyof Jobs]++;
  }
})();

const ids: string[] = [];
for (let i = 1; i <= 24; i++) {
  ids.push(
    await queue.enqueue("thumbnail", { image: `photo-${i}.jpg`, size: 256 }, {
      priority: i % 6 === 0 ? "high" : "normal",
    }),
  );
}
ids.push(
  ...await queue.enqueueMany(
    Array.from({ length: 12 }, (_, i) => ({
      type: "email" as const,
      data: { to: `user${i + 1}@example.com`, subject: "Your thumbnails" },
      options: { priority: "low" as const },
    })),
  ),
);
console.log(`enqueued ${ids.length} jobs (24 thumbnails, 12 emails)`);

await using worker = createWorker(queue, {
  thumbnail: async (job, ctx) => {
    for (let step = 1; step <= 4; step++) {
      await sleep(15);
      ctx.signal.throwIfAborted();
      await ctx.progress(step / 4, `${job.data.image}: pass ${step}/4`);
    }
    return { file: job.data.image.replace(".jpg", `-${job.data.size}.webp`) };
  },
  email: async (job, ctx) => {
    await sleep(10);
    await ctx.progress(1, `sent to ${job.data.to}`);
    return { delivered: true };
  },
}, { concurrency: 6 });
worker.on(
  "failed",
  (job, error) => console.error(`job ${job.id} failed:`, error),
);

// Follow one high-priority job closely: its current state, then each update.
const followed = ids[5]!;
for await (const u of subscribe(queue, followed)) {
  const bar = "#".repeat(Math.round(u.progress * 20)).padEnd(20, ".");
  console.log(`[${bar}] ${u.status.padEnd(10)} ${u.message}`);
}

// Then wait for the whole queue to drain, printing a line as it goes.
for (;;) {
  const stats = await queue.stats();
  console.log(
    `pending ${stats.pending}  processing ${stats.processing}  complete ${stats.complete}`,
  );
  if (stats.pending === 0 && stats.processing === 0) break;
  await sleep(100);
}
await worker.stop();
watcher.abort();
await watching;
const result = await queue.get(followed);
console.log(
  `done: ${counts.thumbnail} thumbnails, ${counts.email} emails; job ${followed} ->`,
  result?.result,
);
