/**
 * The flows table of `deno task bench:peers`: on every backend, a flow of
 * one parent and 1,000 children, from the start of its enqueue to the last
 * child's completion, beside a plain batch of 1,001 jobs timed the same way
 * (enqueueMany, then the drain), with a worker of concurrency 10, in
 * alternating rounds, each keeping its best time; and the one step that
 * releases 9,999 waiting children (the parent's completion; a flow holds
 * at most 10,000 jobs), timed alone.
 */

import { type Backend, createQueue, createWorker } from "../mod.ts";
import type { FlowNode } from "../src/flow_types.ts";
import { sleep } from "../tests/_support/time.ts";
import { type Subject, subjects } from "./_subjects.ts";

let seq = 0;
const fresh = (backend: Backend) =>
  createQueue({ backend, name: `bench-flow-${Date.now()}-${++seq}` });

/** A parent and `n` children that depend on it. */
function fan(n: number): FlowNode[] {
  return [
    { ref: "parent", type: "noop", data: null },
    ...Array.from({ length: n }, (_, i) => ({
      ref: `c${i}`,
      type: "noop",
      data: { i },
      dependsOn: ["parent"],
    })),
  ];
}

/** Ms from the start of the enqueue to the last of `n` completions. */
async function timed(
  backend: Backend,
  n: number,
  enqueue: (q: ReturnType<typeof fresh>) => Promise<unknown>,
): Promise<number> {
  const queue = fresh(backend);
  const t0 = performance.now();
  let done = 0;
  const worker = createWorker(queue, { noop: () => (++done, null) }, {
    concurrency: 10,
  });
  await enqueue(queue);
  while (done < n || (await queue.stats()).complete < n) await sleep(1);
  const ms = performance.now() - t0;
  await worker.stop();
  await queue.close();
  return ms;
}

const VARIANTS: [string, (b: Backend) => Promise<number>][] = [
  ["flow 1 + 1,000", (b) => timed(b, 1_001, (q) => q.enqueueFlow(fan(1_000)))],
  [
    "plain 1,001",
    (b) =>
      timed(b, 1_001, (q) =>
        q.enqueueMany(
          Array.from(
            { length: 1_001 },
            (_, i) => ({ type: "noop", data: { i } }),
          ),
        )),
  ],
];

/** Ms of the one completion that releases `n` waiting children. */
async function release(backend: Backend, n: number): Promise<number> {
  const queue = fresh(backend);
  await queue.enqueueFlow(fan(n));
  const parent = (await queue.claim())!;
  const t0 = performance.now();
  await queue.complete(parent, null);
  const ms = performance.now() - t0;
  if ((await queue.stats()).pending !== n) throw new Error("not released");
  await queue.close();
  return ms;
}

async function best(
  s: Subject,
  run: (b: Backend) => Promise<number>,
  old: number,
): Promise<number> {
  const [backend, close] = await s.open();
  try {
    return Math.min(old, await run(backend));
  } finally {
    await close();
  }
}

/**
 * Runs the table; returns its Markdown.
 *
 * @param rounds Alternating rounds per variant.
 */
export async function flowsTable(
  { rounds }: { rounds: number },
): Promise<string> {
  const backends = await subjects();
  const lines = [
    "| backend | flow 1 + 1,000 (ms) | plain 1,001 (ms) | flow / plain | complete releasing 9,999 children (ms) |",
    "| --- | ---: | ---: | ---: | ---: |",
  ];
  try {
    for (const s of backends.list) {
      const times = VARIANTS.map(() => Infinity);
      let step = Infinity;
      for (let r = 0; r < rounds; r++) {
        for (const [i, [, run]] of VARIANTS.entries()) {
          times[i] = await best(s, run, times[i]!);
        }
        step = await best(s, (b) => release(b, 9_999), step);
      }
      const [flow, plain] = times as [number, number];
      lines.push(
        `| ${s.name} | ${flow.toFixed(0)} | ${plain.toFixed(0)} | ${
          (flow / plain).toFixed(2)
        } | ${step.toFixed(1)} |`,
      );
    }
  } finally {
    await backends.close();
  }
  return lines.join("\n");
}
