/**
 * Deno.bench groups for the memory backend. Each group has a baseline (a bare
 * loop doing the least the operation could), so results read as ratios.
 * Run: deno bench -A bench/memory.bench.ts
 */

import { createQueue, createWorker, memoryBackend } from "../mod.ts";

const N = 10_000;
const items = Array.from(
  { length: N },
  (_, i) => ({ type: "noop", data: { i } }),
);

Deno.bench("array push of JSON text", {
  group: "enqueue",
  baseline: true,
  n: 10,
}, () => {
  const list: string[] = [];
  for (const item of items) list.push(JSON.stringify(item.data));
});

Deno.bench(
  "enqueue one at a time (10k)",
  { group: "enqueue", n: 10 },
  async () => {
    await using queue = createQueue({ backend: memoryBackend() });
    for (const item of items) await queue.enqueue("noop", item.data);
  },
);

Deno.bench("enqueueMany (10k)", { group: "enqueue", n: 10 }, async () => {
  await using queue = createQueue({ backend: memoryBackend() });
  await queue.enqueueMany(items);
});

async function claimComplete(claimers: number): Promise<void> {
  await using queue = createQueue({ backend: memoryBackend() });
  await queue.enqueueMany(items);
  await Promise.all(Array.from({ length: claimers }, async () => {
    for (
      let job = await queue.claim();
      job !== null;
      job = await queue.claim()
    ) {
      await queue.complete(job, null);
    }
  }));
}

Deno.bench("array shift + 2 awaits (10k)", {
  group: "claim+complete",
  baseline: true,
  n: 10,
}, async () => {
  const list = items.map((i) => JSON.stringify(i.data));
  for (let s = list.shift(); s !== undefined; s = list.shift()) {
    await Promise.resolve(JSON.parse(s));
    await Promise.resolve();
  }
});

Deno.bench("claim+complete, 1 claimer (10k)", {
  group: "claim+complete",
  n: 10,
}, () => claimComplete(1));
Deno.bench("claim+complete, 10 claimers (10k)", {
  group: "claim+complete",
  n: 10,
}, () => claimComplete(10));

async function drain(concurrency: number): Promise<void> {
  await using queue = createQueue({ backend: memoryBackend() });
  await queue.enqueueMany(items);
  let done = 0;
  let finished!: () => void;
  const all = new Promise<void>((r) => (finished = r));
  await using _worker = createWorker(queue, {
    noop: () => {
      if (++done === N) finished();
      return null;
    },
  }, { concurrency });
  await all;
}

Deno.bench("claim+complete, 10 claimers (10k)", {
  group: "worker",
  baseline: true,
  n: 10,
}, () => claimComplete(10));
Deno.bench("createWorker drain, concurrency 10 (10k)", {
  group: "worker",
  n: 10,
}, () => drain(10));
Deno.bench("createWorker drain, concurrency 100 (10k)", {
  group: "worker",
  n: 10,
}, () => drain(100));
