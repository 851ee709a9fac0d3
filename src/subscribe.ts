/**
 * subscribe: live updates of one job or of a whole queue, as an async
 * iterator. It must never hang on a job that has finished: besides the
 * backend's events it re-reads the job now and then, and versions keep the
 * order (an update older than what was already yielded is dropped). A job
 * removed as it finished still gives its final update when the event came
 * before the read that found it gone. `jobUpdates` is the same iteration
 * with each read of the job handed to the caller (waitFor uses it).
 *
 * @module
 */

import { isTerminal, updateOf } from "./codec.ts";
import { JobNotFoundError } from "./errors.ts";
import { timerMs } from "./timers.ts";
import { invalid } from "./validate.ts";
import type { JobTypes, Queue, QueueEvent } from "./queue_types.ts";
import type { Job, JobUpdate } from "./types.ts";

/**
 * Options of subscribe.
 *
 * @example
 * ```ts
 * import type { SubscribeOptions } from "@jobline/jobline";
 * const o: SubscribeOptions = { signal: AbortSignal.timeout(60_000) };
 * ```
 */
export interface SubscribeOptions {
  /** Ends the iteration early when aborted. */
  signal?: AbortSignal;
  /**
   * For one job: how often (ms) to re-read it, so that an update lost on the
   * way (a reconnect) cannot leave the iteration waiting.
   * @default {1000}
   */
  resyncInterval?: number;
  /**
   * For one job: what an unknown job, or one removed or expired before it
   * reached a terminal status, does to the iteration. `"return"` ends it
   * quietly (after nothing at all for an unknown id); `"throw"` throws a
   * {@linkcode JobNotFoundError}, so a caller such as a server-sent-events
   * endpoint can answer 404, or tell its client the job is gone, instead of
   * closing a stream that looks finished.
   * @default {"return"}
   */
  ifMissing?: "return" | "throw";
}

/**
 * Yields the updates of one job, or with no id every update of the queue.
 *
 * For one job it yields the current state first, then each update in order,
 * and returns after a terminal status (complete, failed, cancelled). On a
 * job that already finished it yields that state and returns; on an unknown
 * (or removed, or expired) job it yields nothing and returns, unless
 * `ifMissing: "throw"` asks for a {@linkcode JobNotFoundError}. So the last
 * update of a job that finished is always terminal; an iteration that ends
 * without one, and not by its signal or the queue's close, met a missing
 * job. The queue-wide form runs until the signal aborts or the queue closes;
 * it has no one job to re-read, so updates sent while the backend was
 * reconnecting can be missed (code that needs every change follows the
 * `resync` event of {@linkcode Queue.listen} and re-reads with `list()`).
 *
 * @example Printing a job's progress
 * ```ts
 * import { createQueue, createWorker, subscribe } from "@jobline/jobline";
 * await using queue = createQueue();
 * await using _worker = createWorker(queue, {
 *   resize: async (_job, ctx) => {
 *     await ctx.progress(0.5, "half way");
 *     return { width: 640 };
 *   },
 * });
 * const id = await queue.enqueue("resize", { url: "a.png" });
 * for await (const update of subscribe(queue, id)) {
 *   console.log(update.status, update.progress, update.message);
 * }
 * ```
 *
 * @param queue The queue.
 * @param id A job id; omit (or pass undefined) for every update of the queue.
 * @param options An AbortSignal and the re-read interval.
 * @returns An async iterator of updates.
 */
export function subscribe<J extends JobTypes>(
  queue: Queue<J>,
  id?: string,
  options: SubscribeOptions = {},
): AsyncGenerator<JobUpdate, void, undefined> {
  return id === undefined ? all(queue, options) : one(queue, id, options);
}

/**
 * The updates of one job as `subscribe(queue, id)` gives them, with each
 * read of the job (the first one, and every re-read) passed to `onRead`
 * before the update it gives, if any, is yielded; `ready`, when given, is
 * awaited once listening is in place, before the first read.
 */
export function jobUpdates<J extends JobTypes>(
  queue: Queue<J>,
  id: string,
  options: SubscribeOptions,
  onRead: (job: Job) => void,
  ready?: () => Promise<unknown>,
): AsyncGenerator<JobUpdate, void, undefined> {
  return one(queue, id, options, onRead, ready);
}

/** Events waiting to be read, in arrival order (a queue, not Array.shift: O(1) each). */
interface Inbox {
  /** How many events are waiting. */
  readonly size: number;
  /** Adds an event and wakes a waiting reader. */
  push(event: QueueEvent): void;
  /** The oldest waiting event, or undefined. */
  take(): QueueEvent | undefined;
  /** Resolves when an event arrives, the signal aborts, or `ms` pass. */
  wait(ms: number): Promise<void>;
  notify(): void;
}

function inbox(signal: AbortSignal | undefined): Inbox {
  let wake: (() => void) | null = null;
  let events: QueueEvent[] = [];
  let head = 0;
  const box: Inbox = {
    get size() {
      return events.length - head;
    },
    push(event) {
      events.push(event);
      box.notify();
    },
    take() {
      if (head === events.length) return undefined;
      const event = events[head++];
      if (head === events.length) {
        events = [];
        head = 0;
      } else if (head >= 1024 && head * 2 >= events.length) {
        events = events.slice(head);
        head = 0;
      }
      return event;
    },
    notify() {
      const w = wake;
      wake = null;
      w?.();
    },
    wait(ms) {
      if (box.size > 0 || signal?.aborted) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = Number.isFinite(ms)
          ? setTimeout(() => box.notify(), timerMs(ms))
          : undefined;
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    },
  };
  signal?.addEventListener("abort", () => box.notify(), { once: true });
  return box;
}

async function* one<J extends JobTypes>(
  queue: Queue<J>,
  id: string,
  { signal, resyncInterval = 1000, ifMissing = "return" }: SubscribeOptions,
  onRead?: (job: Job) => void,
  ready?: () => Promise<unknown>,
): AsyncGenerator<JobUpdate, void, undefined> {
  if (ifMissing !== "return" && ifMissing !== "throw") {
    throw invalid(
      "subscribe",
      "ifMissing",
      '"return" or "throw"',
      ifMissing,
    );
  }
  if (signal?.aborted) return;
  const box = inbox(signal);
  const stop = await queue.listen({ job: id }, (event) => {
    box.push(event);
  });
  try {
    await ready?.();
    let version = 0;
    let resync = true;
    while (!signal?.aborted) {
      if (resync) {
        resync = false;
        const job = await queue.get(id);
        if (job === null) {
          // Removed: as it finished, maybe, with its final update come
          // while the read was on its way.
          for (let e = box.take(); e !== undefined; e = box.take()) {
            if (e.kind !== "update" || e.update.version <= version) continue;
            version = e.update.version;
            yield e.update;
            if (isTerminal(e.update.status)) return;
          }
          if (ifMissing === "throw") throw new JobNotFoundError(id);
          return;
        }
        onRead?.(job);
        if (job.version > version) {
          version = job.version;
          yield updateOf(job);
          if (isTerminal(job.status)) return;
        }
      }
      const event = box.take();
      if (event === undefined) {
        await box.wait(resyncInterval);
        // Nothing came within the interval: read the job again.
        if (box.size === 0 && !signal?.aborted) resync = true;
        continue;
      }
      if (event.kind === "closed") return;
      if (event.kind === "resync") resync = true;
      if (event.kind !== "update" || event.update.version <= version) continue;
      version = event.update.version;
      yield event.update;
      if (isTerminal(event.update.status)) return;
    }
  } finally {
    await stop();
  }
}

async function* all<J extends JobTypes>(
  queue: Queue<J>,
  { signal }: SubscribeOptions,
): AsyncGenerator<JobUpdate, void, undefined> {
  if (signal?.aborted) return;
  const box = inbox(signal);
  const stop = await queue.listen("queue", (event) => {
    box.push(event);
  });
  try {
    while (!signal?.aborted) {
      const event = box.take();
      if (event === undefined) {
        await box.wait(Infinity);
        continue;
      }
      if (event.kind === "closed") return;
      if (event.kind === "update") yield event.update;
    }
  } finally {
    await stop();
  }
}
