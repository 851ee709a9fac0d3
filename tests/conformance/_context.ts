/**
 * What every conformance case gets: the backend under test, a factory of
 * queues on it (each with a fresh random name), a fake clock, cleanup, and
 * new job records for calling a backend directly.
 * Private to the suite; it must import only project files and built-ins.
 *
 * @module
 */

import type { Backend, NewJobRecord } from "../../src/backend/interface.ts";
import { createQueue } from "../../src/queue.ts";
import { createWorker } from "../../src/worker/mod.ts";
import type { Queue, QueueOptions } from "../../src/queue_types.ts";
import { sleep, waitFor } from "../_support/time.ts";

export { sleep, waitFor };

/** A clock that only moves when told to. */
export interface FakeClock {
  /** The current fake time in epoch ms. */
  readonly now: number;
  /** Pass as the queue's `clock` option. */
  clock: () => number;
  /** Moves the time forward by `ms`. */
  advance(ms: number): void;
}

/** What a case runs with. */
export interface CaseContext {
  /** The backend under test (fresh for this case). */
  backend: Backend;
  /**
   * Makes a queue on the backend (or on `options.backend`, such as a wrapper
   * of it). Without `name` it gets a fresh random name; pass the name of
   * another queue to share its jobs. Closed after the case.
   */
  queue(options?: QueueOptions): Queue;
  /** A fake clock starting at the real time. */
  fakeClock(): FakeClock;
  /** Runs `fn` after the case, before the queues close (last in, first out). */
  defer(fn: () => unknown): void;
}

/** One conformance case. */
export interface Case {
  /** Reads as a sentence: "claim() returns the highest priority job first". */
  name: string;
  /** Time limit in ms (default 30 000). */
  timeout?: number;
  /** The case body; throws (assert) on failure. */
  run(ctx: CaseContext): Promise<void>;
}

/**
 * A new job record as the queue layer would hand it to the backend: type
 * "tick", data 1, run and made at `runAt`, no TTL, the default keep rules
 * unset. For cases (and backend tests) that call a backend directly.
 */
export function newJob(
  id: string,
  key: string | null,
  runAt: number,
): NewJobRecord {
  const kept = { age: null, count: null };
  return {
    id,
    type: "tick",
    data: "1",
    priority: 50,
    maxAttempts: 3,
    runAt,
    createdAt: runAt,
    ttl: null,
    expiresAt: null,
    key,
    metadata: "{}",
    keep: { complete: kept, failed: kept },
  };
}

/** A queue name nobody else uses. */
export function uniqueName(): string {
  return `cf_${Date.now().toString(36)}_${
    crypto.randomUUID().replaceAll("-", "").slice(0, 10)
  }`;
}

/** Makes a fake clock at the real time. */
export function fakeClock(): FakeClock {
  let now = Date.now();
  return {
    get now() {
      return now;
    },
    clock: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

/** Runs one case against a fresh backend, then cleans up. */
export async function runCase(
  c: Case,
  create: () => Backend | Promise<Backend>,
): Promise<void> {
  const backend = await create();
  const queues: Queue[] = [];
  const deferred: (() => unknown)[] = [];
  const ctx: CaseContext = {
    backend,
    queue(options = {}) {
      const queue = createQueue({ name: uniqueName(), backend, ...options });
      queues.push(queue);
      return queue;
    },
    fakeClock,
    defer(fn) {
      deferred.push(fn);
    },
  };
  let failure: { error: unknown } | undefined;
  try {
    await c.run(ctx);
  } catch (error) {
    failure = { error };
  }
  const errors: unknown[] = [];
  for (const fn of deferred.reverse()) {
    try {
      await fn();
    } catch (err) {
      errors.push(err);
    }
  }
  for (const queue of queues) {
    await queue.close().catch((err) => errors.push(err));
  }
  await backend.close().catch((err) => errors.push(err));
  // The case's own failure tells more than a cleanup failure it caused.
  if (failure !== undefined) throw failure.error;
  if (errors.length > 0) throw errors[0];
}

/** A promise with its resolve function: a gate a handler waits at. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Total number of live jobs in a queue. */
export async function total(queue: Queue): Promise<number> {
  const s = await queue.stats();
  return s.pending + s.processing + s.complete + s.failed + s.cancelled;
}

/**
 * Wraps a backend so `claim` goes through `claim(inner, queue, request)`;
 * `enqueueClaim` is hidden, so that every claim does (an enqueue hands no
 * job to a worker of the process: it wakes it); every other member is the
 * backend's own. Works for classes and plain objects alike.
 */
export function wrapClaim(
  backend: Backend,
  claim: (
    inner: Backend,
    ...args: Parameters<Backend["claim"]>
  ) => ReturnType<Backend["claim"]>,
): Backend {
  return new Proxy(backend, {
    get(target, prop) {
      if (prop === "claim") {
        return (...args: Parameters<Backend["claim"]>) =>
          claim(target, ...args);
      }
      if (prop === "enqueueClaim") return undefined;
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * A worker for type "t" that has made its first claim and gone idle, polling
 * only every 30 s when the backend announces work (so a prompt start proves
 * the wake-up), and every 250 ms when it does not. `started` collects the
 * times its handler ran.
 */
export async function idleWorker(
  ctx: CaseContext,
): Promise<{ queue: Queue; started: number[] }> {
  let claims = 0;
  const backend = wrapClaim(ctx.backend, (inner, ...args) => {
    claims++;
    return inner.claim(...args);
  });
  const queue = ctx.queue({ backend });
  const started: number[] = [];
  const worker = createWorker(queue, {
    t: () => void started.push(Date.now()),
  }, { pollInterval: ctx.backend.capabilities.wakeups ? 30_000 : 250 });
  ctx.defer(() => worker.stop({ timeout: 1_000 }));
  await waitFor("the worker's first claim", () => claims > 0);
  await sleep(200); // idle now
  return { queue, started };
}
