/**
 * Group commit for the Redis backend's hottest call (complete). Calls made in
 * the same turn of the event loop (a worker finishing the jobs of one claim)
 * go together in one script call, sent once the turn's microtasks have run;
 * calls made while a few batches of their queue are in flight wait for one to
 * return and then go together. One round trip and one script run serve many
 * jobs, and no call waits for a timer.
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
  /** A send is scheduled for the end of this turn's microtasks. */
  kicked: boolean;
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
