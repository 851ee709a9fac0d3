/**
 * The memory row of `deno task bench:peers`: claim+complete of 1,000,000
 * jobs, one at a time with each call awaited, on the memory backend, beside
 * the least such a loop could do: a bare binary heap of the same jobs
 * (priority, then enqueue order) popped with the same two awaits per job,
 * in alternating rounds, each keeping its best figure.
 */

import { createQueue, memoryBackend } from "../mod.ts";

/** A bare binary min-heap of [priority desc, seq] keyed records. */
class BareHeap {
  #a: { p: number; s: number; data: string }[] = [];
  push(x: { p: number; s: number; data: string }): void {
    const a = this.#a;
    let i = a.length;
    a.push(x);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }
  pop(): { p: number; s: number; data: string } | undefined {
    const a = this.#a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && this.#less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.#less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
  #less(x: { p: number; s: number }, y: { p: number; s: number }): boolean {
    return x.p > y.p || (x.p === y.p && x.s < y.s);
  }
}

/** Jobs per second of the bare heap: push all, then pop with two awaits each. */
async function bare(n: number): Promise<number> {
  const heap = new BareHeap();
  for (let i = 0; i < n; i++) {
    heap.push({ p: 5, s: i, data: JSON.stringify({ i }) });
  }
  const t0 = performance.now();
  for (let x = heap.pop(); x !== undefined; x = heap.pop()) {
    await Promise.resolve(JSON.parse(x.data));
    await Promise.resolve();
  }
  return n / ((performance.now() - t0) / 1000);
}

/** Jobs per second of claim+complete, one at a time, on the memory backend. */
async function jobline(n: number): Promise<number> {
  await using queue = createQueue({ backend: memoryBackend() });
  for (let i = 0; i < n; i += 1_000) {
    await queue.enqueueMany(
      Array.from(
        { length: 1_000 },
        (_, j) => ({ type: "noop", data: { i: i + j } }),
      ),
    );
  }
  const t0 = performance.now();
  for (let job = await queue.claim(); job !== null; job = await queue.claim()) {
    await queue.complete(job, null);
  }
  return n / ((performance.now() - t0) / 1000);
}

/**
 * Runs the row; returns its Markdown table.
 *
 * @param quick 200,000 jobs instead of 1,000,000.
 * @param rounds Alternating rounds.
 */
export async function memoryPeerTable(
  { quick, rounds }: { quick: boolean; rounds: number },
): Promise<string> {
  const n = quick ? 200_000 : 1_000_000;
  let a = 0, b = 0;
  for (let r = 0; r < rounds; r++) {
    a = Math.max(a, await jobline(n));
    b = Math.max(b, await bare(n));
  }
  const f = (v: number) => Math.round(v).toLocaleString("en-US");
  return [
    "| workload | jobline memory (jobs/s) | bare binary heap (jobs/s) | ratio |",
    "| --- | ---: | ---: | ---: |",
    `| claim+complete, await each, ${f(n)} | ${f(a)} | ${f(b)} | ${
      (a / b).toFixed(2)
    }x |`,
  ].join("\n");
}
