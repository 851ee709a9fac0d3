/**
 * The peer of the SQLite backend: Deno KV's own queue (`Deno.openKv` on a
 * local file, `enqueue` / `listenQueue`), on the workload of _measure.ts as
 * far as KV has the operations (it has no claim, and its handler
 * concurrency is its own: those columns are NaN).
 *
 * Deno.openKv needs `--unstable-kv`, so this file runs as a child process:
 *   deno run -A --unstable-kv bench/_denokv.ts '<sizes as JSON>'
 * and prints its Figures as one JSON line. measureDenoKv() starts it.
 */

import type { Figures, Sizes } from "./_measure.ts";
import { p50p99 } from "./_measure.ts";
import { sleep } from "../tests/_support/time.ts";

interface Kv {
  enqueue(value: unknown): Promise<unknown>;
  atomic(): { enqueue(value: unknown): unknown; commit(): Promise<unknown> };
  listenQueue(handler: (value: unknown) => unknown): Promise<void>;
  close(): void;
}

async function openKv(path: string): Promise<Kv> {
  const open = (Deno as unknown as { openKv?: (p: string) => Promise<Kv> })
    .openKv;
  if (open === undefined) throw new Error("run with --unstable-kv");
  return await open(path);
}

/** Runs one part on a fresh KV file, then closes and deletes it. */
async function withKv<T>(run: (kv: Kv) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "jobline-denokv-" });
  const kv = await openKv(`${dir}/kv.db`);
  try {
    return await run(kv);
  } finally {
    kv.close();
    await sleep(50); // let the closed queue's listener settle
    await Deno.remove(dir, { recursive: true });
  }
}

async function fill(kv: Kv, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1000) {
    const op = kv.atomic();
    for (let j = i; j < Math.min(n, i + 1000); j++) op.enqueue({ i: j });
    await op.commit();
  }
}

function rate(n: number, t0: number): number {
  return n / ((performance.now() - t0) / 1000);
}

/** Enqueue before, drain measured: the worker figure of the other rows. */
export function drainKv(n: number): Promise<number> {
  return withKv(async (kv) => {
    await fill(kv, n);
    let done = 0;
    let finished!: () => void;
    const all = new Promise<void>((r) => (finished = r));
    const t0 = performance.now();
    kv.listenQueue(() => {
      if (++done === n) finished();
    });
    await all;
    return rate(n, t0);
  });
}

async function enqueueRate(n: number): Promise<number> {
  return await withKv(async (kv) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await kv.enqueue({ i });
    return rate(n, t0);
  });
}

async function enqueueManyRate(n: number): Promise<number> {
  return await withKv(async (kv) => {
    const t0 = performance.now();
    await fill(kv, n);
    return rate(n, t0);
  });
}

async function latency(n: number): Promise<[number, number]> {
  return await withKv(async (kv) => {
    const samples: number[] = [];
    let started: () => void = () => {};
    kv.listenQueue((value) => {
      samples.push(performance.now() - (value as { t: number }).t);
      started();
    });
    await sleep(50);
    for (let i = 0; i < n; i++) {
      const next = new Promise<void>((r) => (started = r));
      await kv.enqueue({ t: performance.now() });
      await next;
      await sleep(2);
    }
    return p50p99(samples);
  });
}

/** Deno KV's figures on `sizes` (in this process; needs --unstable-kv). */
export async function measureKvHere(sizes: Sizes): Promise<Figures> {
  const enqueue = await enqueueRate(sizes.enqueue);
  const enqueueMany = await enqueueManyRate(sizes.enqueueMany);
  const worker10 = await drainKv(sizes.worker);
  const [latencyP50, latencyP99] = await latency(sizes.latency);
  return {
    backend: "Deno KV queue (peer)",
    enqueue,
    enqueueMany,
    claimComplete1: NaN,
    claimComplete10: NaN,
    worker10,
    worker100: NaN,
    latencyP50,
    latencyP99,
  };
}

/** Runs this file as a child with --unstable-kv; returns its JSON line. */
async function child(args: string[]): Promise<unknown> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-kv",
      new URL(import.meta.url).pathname,
      ...args,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("the Deno KV benchmark failed");
  const line = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!;
  return JSON.parse(line, (_k, v) => v === null ? NaN : v);
}

/** Deno KV's figures on `sizes`, measured in a child process. */
export async function measureDenoKv(sizes: Sizes): Promise<Figures> {
  return await child(["figures", JSON.stringify(sizes)]) as Figures;
}

/** Deno KV's drain rate (messages/s) of `n` messages, in a child process. */
export async function drainDenoKv(n: number): Promise<number> {
  return await child(["drain", String(n)]) as number;
}

/**
 * Deno KV's enqueue rate (messages/s) of `n` messages in atomics of 1,000
 * on a fresh file, in a child process.
 */
export async function enqueueManyDenoKv(n: number): Promise<number> {
  return await child(["enqueueMany", String(n)]) as number;
}

if (import.meta.main) {
  const [mode, arg = ""] = Deno.args;
  console.log(JSON.stringify(
    mode === "drain"
      ? await drainKv(Number(arg))
      : mode === "enqueueMany"
      ? await enqueueManyRate(Number(arg))
      : await measureKvHere(JSON.parse(arg) as Sizes),
  ));
}
