/**
 * Group commit, for any backend's hottest calls (complete). Calls made in the
 * same turn of the event loop (a worker finishing the jobs of one claim) go
 * together in one store call, sent once the turn's microtasks have run;
 * calls made while a few batches of their queue are in flight wait for one to
 * return and then go together. One round trip serves many jobs, and no call
 * waits for a timer.
 *
 * @module
 */

/**
 * Options of {@linkcode batcher}.
 *
 * @example
 * ```ts
 * import type { BatcherOptions } from "@jobline/jobline/backend";
 * const o: BatcherOptions = { maxBatch: 200, maxInFlight: 2 };
 * ```
 */
export interface BatcherOptions {
  /**
   * Most items sent in one call.
   * @default {500}
   */
  maxBatch?: number;
  /**
   * Most batches of one queue in flight at once.
   * @default {3}
   */
  maxInFlight?: number;
}

interface Waiting<I> {
  item: I;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Lane<I> {
  waiting: Waiting<I>[];
  inFlight: number;
  /** A send is scheduled for the end of this turn's microtasks. */
  kicked: boolean;
}

/**
 * A per-queue group committer.
 *
 * @example
 * ```ts
 * import { type Batcher, batcher } from "@jobline/jobline/backend";
 * const b: Batcher<string> = batcher(
 *   (_queue, ids) => Promise.resolve(ids.map(() => "ok")),
 *   (_id, reply) => { if (reply !== "ok") throw new Error("lost"); },
 * );
 * await b.add("emails", "01J...");
 * ```
 */
export interface Batcher<I> {
  /** Sends `item` with the next batch of `queue`; settles with its own outcome. */
  add(queue: string, item: I): Promise<void>;
}

/**
 * Makes a batcher. `send` runs one batch and returns one reply per item;
 * `check` throws for an item whose reply is a failure.
 *
 * @example Completions sent together
 * ```ts
 * import { batcher } from "@jobline/jobline/backend";
 * const sent: string[][] = [];
 * const b = batcher((_queue, ids: string[]) => {
 *   sent.push(ids);
 *   return Promise.resolve(ids.map(() => true));
 * }, () => {});
 * await Promise.all([b.add("q", "a"), b.add("q", "b")]);
 * console.log(sent); // [["a", "b"]]
 * ```
 *
 * @param send Runs one batch of a queue; resolves with one reply per item.
 * @param check Throws for an item whose reply is a failure.
 * @param options Batch size and concurrency.
 * @returns The batcher.
 */
export function batcher<I>(
  send: (queue: string, items: I[]) => Promise<unknown>,
  check: (item: I, reply: unknown) => void,
  options: BatcherOptions = {},
): Batcher<I> {
  const { maxBatch: MAX_BATCH = 500, maxInFlight: MAX_IN_FLIGHT = 3 } = options;
  const lanes = new Map<string, Lane<I>>();

  async function drain(queue: string, lane: Lane<I>): Promise<void> {
    lane.inFlight++;
    while (lane.waiting.length > 0) {
      const batch = lane.waiting.splice(0, MAX_BATCH);
      let replies: unknown[];
      try {
        replies = await send(queue, batch.map((w) => w.item)) as unknown[];
      } catch (err) {
        for (const w of batch) w.reject(err);
        continue;
      }
      batch.forEach((w, i) => {
        try {
          check(w.item, replies[i]);
          w.resolve();
        } catch (err) {
          w.reject(err);
        }
      });
    }
    if (--lane.inFlight === 0 && !lane.kicked) lanes.delete(queue);
  }

  function kick(queue: string, lane: Lane<I>): void {
    lane.kicked = false;
    if (lane.waiting.length > 0 && lane.inFlight < MAX_IN_FLIGHT) {
      void drain(queue, lane);
    } else if (lane.inFlight === 0) lanes.delete(queue);
  }

  return {
    add(queue, item) {
      let lane = lanes.get(queue);
      if (lane === undefined) {
        lane = { waiting: [], inFlight: 0, kicked: false };
        lanes.set(queue, lane);
      }
      const promise = new Promise<void>((resolve, reject) =>
        lane.waiting.push({ item, resolve, reject })
      );
      if (!lane.kicked && lane.inFlight < MAX_IN_FLIGHT) {
        lane.kicked = true;
        const l = lane;
        queueMicrotask(() => kick(queue, l));
      }
      return promise;
    },
  };
}
