/**
 * Group commit for the Redis backend's hottest call (complete): a call made
 * while fewer than a few batches of its queue are in flight goes at once;
 * calls made while more are in flight wait, and then go together in one
 * script call. Idle
 * callers pay no extra latency; busy ones share round trips and script
 * overhead.
 *
 * @module
 */

/** Most items sent in one script call. */
const MAX_BATCH = 500;
/** Most batches of one queue in flight at once. */
const MAX_IN_FLIGHT = 3;

interface Waiting<I> {
  item: I;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Lane<I> {
  waiting: Waiting<I>[];
  inFlight: number;
}

/** A per-queue group committer. */
export interface Batcher<I> {
  /** Sends `item` with the next batch of `queue`; settles with its own outcome. */
  add(queue: string, item: I): Promise<void>;
}

/**
 * Makes a batcher. `send` runs one batch and returns one reply per item;
 * `check` throws for an item whose reply is a failure.
 */
export function batcher<I>(
  send: (queue: string, items: I[]) => Promise<unknown>,
  check: (item: I, reply: unknown) => void,
): Batcher<I> {
  const lanes = new Map<string, Lane<I>>();

  async function send1(queue: string, lane: Lane<I>): Promise<void> {
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
    if (--lane.inFlight === 0) lanes.delete(queue);
  }

  return {
    add(queue, item) {
      let lane = lanes.get(queue);
      if (lane === undefined) {
        lane = { waiting: [], inFlight: 0 };
        lanes.set(queue, lane);
      }
      const promise = new Promise<void>((resolve, reject) =>
        lane.waiting.push({ item, resolve, reject })
      );
      if (lane.inFlight < MAX_IN_FLIGHT) void send1(queue, lane);
      return promise;
    },
  };
}
