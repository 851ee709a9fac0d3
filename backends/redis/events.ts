/**
 * Events of the Redis backend: one subscription per queue channel, shared by
 * every listener of this backend, with the listeners kept here.
 *
 * The update channel (`<ns>u`) carries every update of a queue; "queue"
 * listeners get them all and `{ job }` listeners those of their job (filtered
 * here, so a process following one job costs the server nothing extra). The
 * worker channel (`<ns>w`) carries wake-ups and cancels, so idle workers are
 * not flooded with updates. After the subscriber reconnects every listener
 * gets `resync`, since messages may have been lost meanwhile.
 *
 * A listener that throws must never break delivery to the others.
 *
 * @module
 */

import type { BackendEvent, Topic } from "../../src/backend/interface.ts";
import type { Connection, MessageListener } from "./connection.ts";
import { decodeUpdates } from "./records.ts";

type Listener = (event: BackendEvent) => void;

interface Channel {
  name: string;
  /** "queue" listeners (update channel) or "worker" listeners. */
  all: Set<Listener>;
  /** `{ job }` listeners by job id (update channel only). */
  jobs: Map<string, Set<Listener>>;
  refs: number;
  /** Resolves once the channel is subscribed; null while not subscribed. */
  ready: Promise<void> | null;
  /** Subscribe and unsubscribe calls, in order. */
  op: Promise<void>;
  onMessage: MessageListener;
}

/** The listener registry of one backend. */
export interface EventHub {
  listen(
    namespace: string,
    topic: Topic,
    listener: Listener,
  ): Promise<() => Promise<void>>;
  /** Notes that this process holds a lease on a job from `version` on. */
  claimed(namespace: string, id: string, version: number): void;
  /** Notes that this process no longer holds a lease on a job. */
  settled(namespace: string, id: string): void;
}

/** Leases held in this process are forgotten beyond this many. */
const MAX_FENCES = 100_000;

function deliver(listeners: Iterable<Listener>, event: BackendEvent): void {
  for (const listener of listeners) {
    try {
      listener(event);
    } catch (err) {
      console.error("jobline: a redis backend listener threw", err);
    }
  }
}

/** Makes the registry; it subscribes through `conn` as listeners come. */
export function eventHub(conn: Connection): EventHub {
  const channels = new Map<string, Channel>();
  // A cancel names the job version that ended a lease. When this process
  // claimed the job again after that version (the claim that recovered an
  // expired lease may be its own), the cancel is about an older lease and
  // must not abort the new one: pub/sub and replies travel on different
  // connections, so the cancel may well arrive after the new claim.
  const fences = new Map<string, number>();

  function resync(): void {
    const event: BackendEvent = { kind: "resync" };
    for (const ch of channels.values()) {
      deliver([...ch.all], event);
      for (const set of ch.jobs.values()) deliver([...set], event);
    }
  }

  function onUpdates(ch: Channel, message: string): void {
    if (ch.all.size === 0) {
      // Only job listeners: skip messages that name none of their jobs.
      if (ch.jobs.size <= 8) {
        let named = false;
        for (const id of ch.jobs.keys()) {
          if (message.includes(id)) {
            named = true;
            break;
          }
        }
        if (!named) return;
      }
    }
    let updates;
    try {
      updates = decodeUpdates(message);
    } catch (err) {
      console.error("jobline: an unreadable redis update message", err);
      return;
    }
    for (const update of updates) {
      const event: BackendEvent = { kind: "update", update };
      if (ch.all.size > 0) deliver([...ch.all], event);
      const set = ch.jobs.get(update.jobId);
      if (set !== undefined) deliver([...set], event);
    }
  }

  function onSignal(ch: Channel, message: string): void {
    let event: BackendEvent;
    if (message.startsWith("w")) {
      event = { kind: "wake", at: Number(message.slice(1)) };
    } else if (message.startsWith("c")) {
      const space = message.indexOf(" ");
      const jobId = message.slice(1, space < 0 ? undefined : space);
      const version = space < 0 ? Infinity : Number(message.slice(space + 1));
      const held = fences.get(ch.name.slice(0, -1) + jobId);
      if (held !== undefined && held > version) return;
      event = { kind: "cancel", jobId };
    } else return;
    deliver([...ch.all], event);
  }

  function channel(name: string, updates: boolean): Channel {
    let ch = channels.get(name);
    if (ch === undefined) {
      const c: Channel = {
        name,
        all: new Set(),
        jobs: new Map(),
        refs: 0,
        ready: null,
        op: Promise.resolve(),
        onMessage: (message) =>
          updates ? onUpdates(c, message) : onSignal(c, message),
      };
      channels.set(name, ch = c);
    }
    return ch;
  }

  function unsubscribeIfUnused(ch: Channel): Promise<void> {
    if (ch.refs > 0 || ch.ready === null) return ch.op;
    ch.ready = null;
    ch.op = ch.op.then(async () => {
      if (ch.refs > 0) return;
      try {
        const ps = await conn.pubsub(resync);
        await ps.unsubscribe(ch.name, ch.onMessage);
      } catch {
        // Closed or disconnected: the subscription is gone with it.
      }
    });
    return ch.op;
  }

  return {
    claimed(namespace, id, version) {
      if (fences.size >= MAX_FENCES) fences.clear();
      fences.set(namespace + id, version);
    },

    settled(namespace, id) {
      fences.delete(namespace + id);
    },

    async listen(namespace, topic, listener) {
      const updates = topic !== "worker";
      const ch = channel(namespace + (updates ? "u" : "w"), updates);
      // Wrapped so the same function may listen twice and stop once each.
      const own: Listener = (event) => listener(event);
      let set: Set<Listener>;
      if (typeof topic === "object") {
        set = ch.jobs.get(topic.job) ?? new Set();
        ch.jobs.set(topic.job, set);
      } else set = ch.all;
      set.add(own);
      ch.refs++;
      const remove = () => {
        set.delete(own);
        if (typeof topic === "object" && set.size === 0) {
          if (ch.jobs.get(topic.job) === set) ch.jobs.delete(topic.job);
        }
        ch.refs--;
      };
      if (ch.ready === null) {
        const ready = ch.op.then(async () => {
          const ps = await conn.pubsub(resync);
          await ps.subscribe(ch.name, ch.onMessage);
        });
        ch.ready = ready;
        ch.op = ready.catch(() => {});
        ready.catch(() => {
          if (ch.ready === ready) ch.ready = null;
        });
      }
      try {
        await ch.ready;
      } catch (err) {
        remove();
        throw err;
      }
      let stopped = false;
      return async () => {
        if (stopped) return;
        stopped = true;
        remove();
        await unsubscribeIfUnused(ch);
      };
    },
  };
}
