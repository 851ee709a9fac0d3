/**
 * Events of the Redis backend: the pub/sub subscriptions behind the kit's
 * listener registry, and the wake-up an enqueue gives the backend's own
 * workers as it is sent (enqueued).
 *
 * Each queue has two channels. The update channel (`<ns>u`) carries every
 * update of the queue; "queue" listeners get them all and `{ job }`
 * listeners those of their job (filtered here, so a process following one
 * job costs the server nothing extra). The worker channel (`<ns>w`) carries
 * wake-ups and cancels, so idle workers are not flooded with updates. A
 * channel is subscribed while it has listeners in this backend, once for
 * all of them. After the subscriber reconnects every listener gets
 * `resync`, since messages may have been lost meanwhile.
 *
 * Listeners live in the kit's registry (src/backend/listeners.ts): this
 * file must not keep listeners of its own.
 *
 * @module
 */

import type {
  BackendEvent,
  NewJobRecord,
  Topic,
  UpdateRecord,
} from "../../src/backend/interface.ts";
import {
  type Channel,
  channelOf,
  createListeners,
  type Listener,
} from "../../src/backend/listeners.ts";
import type { Connection } from "./connection.ts";
import type { MessageListener } from "./driver.ts";
import { decodeUpdates } from "./records.ts";

/** The events of one backend. */
export interface RedisEvents {
  /** Starts delivering a topic of a queue to a listener. */
  listen(
    queue: string,
    topic: Topic,
    listener: Listener,
  ): Promise<() => Promise<void>>;
  /**
   * After an enqueue of `jobs` was sent (or queued behind the awaits its
   * call makes first, no more than a worker's claim makes before its own
   * send): wakes this backend's own workers of the queue at the earliest
   * run time, without waiting for the pub/sub wake-up. Their claim goes out
   * on the same connection after the enqueue, so the server runs it after
   * the enqueue: a worker in the same process starts the job one round trip
   * after the enqueue was sent, not two (the pub/sub wake-up, then the
   * claim). Workers elsewhere still wake by pub/sub; a claim that finds the
   * job gone (an enqueue that failed or stored nothing, another worker
   * first) finds nothing. The cost: such a worker hears the pub/sub wake-up
   * too, so one with more free slots than jobs came makes one more claim,
   * which finds nothing.
   */
  enqueued(queue: string, jobs: readonly NewJobRecord[]): void;
}

/** One channel's subscription, shared by its listeners in this backend. */
interface Subscription {
  name: string;
  /** Resolves once the channel is subscribed; null while not subscribed. */
  ready: Promise<void> | null;
  /** Subscribe and unsubscribe calls, in order. */
  op: Promise<void>;
  onMessage: MessageListener;
  /** Listeners per followed job (update channel), for the message filter. */
  jobs: Map<string, number>;
}

/** Update messages are searched for followed job ids up to this many jobs. */
const MAX_FILTERED = 8;

/** Makes the events; they subscribe through `conn` as listeners come. */
export function redisEvents(
  conn: Connection,
  ns: (queue: string) => string,
): RedisEvents {
  const listeners = createListeners();
  const subscriptions = new Map<string, Subscription>();
  const resync = (): void => listeners.resyncAll();

  function onUpdates(queue: string, sub: Subscription, message: string): void {
    // Only job listeners: skip messages that name none of their jobs.
    if (
      sub.jobs.size <= MAX_FILTERED && !listeners.wants(queue, "update") &&
      !names(message, sub.jobs.keys())
    ) return;
    for (const update of updatesIn(message)) {
      listeners.deliver(queue, { kind: "update", update });
    }
  }

  function onSignal(queue: string, message: string): void {
    // A cancel goes to every listener, even when this process claimed the
    // job again since: a worker checks each lease it holds of the job with
    // a heartbeat before it aborts one (src/worker/leases.ts), so only the
    // run whose lease the cancel ended stops.
    const event = signalOf(message);
    if (event !== null) listeners.deliver(queue, event);
  }

  function subscription(queue: string, channel: Channel): Subscription {
    const name = ns(queue) + (channel === "updates" ? "u" : "w");
    let sub = subscriptions.get(name);
    if (sub === undefined) {
      const s: Subscription = {
        name,
        ready: null,
        op: Promise.resolve(),
        jobs: new Map(),
        onMessage: channel === "updates"
          ? (message) => onUpdates(queue, s, message)
          : (message) => onSignal(queue, message),
      };
      subscriptions.set(name, sub = s);
    }
    return sub;
  }

  return {
    enqueued(queue, jobs) {
      if (jobs.length === 0) return;
      let at = Infinity;
      for (const job of jobs) if (job.runAt < at) at = job.runAt;
      listeners.deliver(queue, { kind: "wake", at });
    },

    async listen(queue, topic, listener) {
      const channel = channelOf(topic);
      const sub = subscription(queue, channel);
      const remove = follow(sub, topic, listeners.add(queue, topic, listener));
      try {
        await subscribe(conn, sub, resync);
      } catch (err) {
        remove();
        throw err;
      }
      const unused = () => listeners.count(queue, channel) === 0;
      return async () => {
        if (remove()) await unsubscribeIfUnused(conn, sub, resync, unused);
      };
    },
  };
}

/**
 * Counts a `{ job }` listener among its subscription's followed jobs until
 * `stop` removes it; returns the stop function, true the first time.
 */
function follow(
  sub: Subscription,
  topic: Topic,
  stop: () => boolean,
): () => boolean {
  if (typeof topic !== "object") return stop;
  const { job } = topic;
  sub.jobs.set(job, (sub.jobs.get(job) ?? 0) + 1);
  return () => {
    if (!stop()) return false;
    const n = sub.jobs.get(job)! - 1;
    if (n === 0) sub.jobs.delete(job);
    else sub.jobs.set(job, n);
    return true;
  };
}

/** Subscribes the channel unless it is (being) subscribed; resolves then. */
function subscribe(
  conn: Connection,
  sub: Subscription,
  resync: () => void,
): Promise<void> {
  if (sub.ready === null) {
    const ready = sub.op.then(async () => {
      const ps = await conn.pubsub(resync);
      await ps.subscribe(sub.name, sub.onMessage);
    });
    sub.ready = ready;
    sub.op = ready.catch(() => {});
    ready.catch(() => {
      if (sub.ready === ready) sub.ready = null;
    });
  }
  return sub.ready;
}

/** Unsubscribes the channel once it has no listener left. */
function unsubscribeIfUnused(
  conn: Connection,
  sub: Subscription,
  resync: () => void,
  unused: () => boolean,
): Promise<void> {
  if (!unused() || sub.ready === null) return sub.op;
  sub.ready = null;
  sub.op = sub.op.then(async () => {
    if (!unused()) return;
    try {
      const ps = await conn.pubsub(resync);
      await ps.unsubscribe(sub.name, sub.onMessage);
    } catch {
      // Closed or disconnected: the subscription is gone with it.
    }
  });
  return sub.op;
}

/** Whether a message mentions any of the ids. */
function names(message: string, ids: Iterable<string>): boolean {
  for (const id of ids) if (message.includes(id)) return true;
  return false;
}

/** The updates of an update message; none when it cannot be read. */
function updatesIn(message: string): UpdateRecord[] {
  try {
    return decodeUpdates(message);
  } catch (err) {
    console.error("jobline: an unreadable redis update message", err);
    return [];
  }
}

/**
 * Reads a worker signal: `w<at>` (wake), `c<id> <version>` (cancel; the
 * version, of the job after the cancel, is not needed here) or `p<type>`
 * (paused; no type: the whole queue). Returns the event, or null for
 * anything else.
 */
function signalOf(message: string): BackendEvent | null {
  if (message.startsWith("w")) {
    return { kind: "wake", at: Number(message.slice(1)) };
  }
  if (message.startsWith("p")) {
    return {
      kind: "paused",
      type: message.length > 1 ? message.slice(1) : null,
    };
  }
  if (!message.startsWith("c")) return null;
  const space = message.indexOf(" ");
  return {
    kind: "cancel",
    jobId: message.slice(1, space < 0 ? undefined : space),
  };
}
