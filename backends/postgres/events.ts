/**
 * Events of the PostgreSQL backend: one LISTEN channel per queue on the
 * driver's dedicated listen connection, its notifications (updates, packs
 * of them, re-read markers, enqueues, wake-ups, cancels) decoded into
 * BackendEvents and handed to the kit's listener registry, in order. A
 * reconnect of LISTEN is a `resync`. It must never throw into the driver's
 * notification callback.
 *
 * @module
 */

import type { Topic, UpdateRecord } from "../../src/backend/interface.ts";
import {
  createListeners,
  type Listener,
  type Listeners,
} from "../../src/backend/listeners.ts";
import type { JobError, JobStatus } from "../../src/types.ts";
import { createHandOffs, type HandOffs } from "./handoffs.ts";

/** How an update payload starts, up to the job id. */
const UPDATE_PREFIX = '["u","';
/** How a pack of updates starts. */
const PACK_PREFIX = '["p",';

/** The driver surface the events need (porsager's `sql.listen`). */
export interface ListenClient {
  listen(
    channel: string,
    onnotify: (payload: string) => void,
    onlisten?: () => void,
  ): Promise<{ unlisten(): Promise<unknown> }>;
}

/** Reads a job's current update (for payloads too large to notify). */
export type Reread = (
  queue: string,
  id: string,
) => Promise<UpdateRecord | null>;

/** The LISTEN of one queue, and how its notifications reach listeners. */
interface Channel {
  queue: string;
  /** The backend's listener registry. */
  listeners: Listeners;
  reread: Reread;
  /** False once it is undone: a LISTEN being undone may still hear. */
  live: boolean;
  ready: Promise<{ unlisten(): Promise<unknown> }>;
  /** How many times LISTEN became active: after the first, a reconnect. */
  listens: number;
  /** Serialises deliveries that wait for a re-read, so order is kept. */
  chain: Promise<void>;
  waiting: number;
  /** The backend's hand-offs: which notifications wake no worker. */
  handOffs: HandOffs;
}

/** The events of one backend. */
export interface Events {
  /** Adds a listener on a queue's channel; resolves once LISTEN is active. */
  listen(
    queue: string,
    channel: string,
    topic: Topic,
    listener: Listener,
  ): Promise<() => Promise<void>>;
  /** Tells the listeners of a queue to re-read: events may have been lost. */
  resync(queue: string): void;
  /**
   * Sends a hand-off statement for `batch` (`send`, handoffs.ts): the
   * batch's notification wakes no worker of this backend object for the
   * jobs it claimed.
   */
  handing<T extends { claimed: readonly { id: string }[] }>(
    queue: string,
    batch: readonly { id: string; key: string | null }[],
    send: () => Promise<T>,
  ): Promise<T>;
  /** Stops every LISTEN this backend started. */
  close(): Promise<void>;
}

function report(err: unknown): void {
  console.error("jobline: a postgres notification failed", err);
}

function parseError(text: unknown): JobError | null {
  return typeof text === "string" ? JSON.parse(text) as JobError : null;
}

/** An update payload, `["u", id, type, status, ...]`, as an UpdateRecord. */
function updateOf(m: unknown[]): UpdateRecord {
  return {
    jobId: m[1] as string,
    type: m[2] as string,
    status: m[3] as JobStatus,
    progress: m[4] as number,
    message: m[5] as string,
    attempt: m[6] as number,
    result: m[7] as string | null,
    error: parseError(m[8]),
    at: m[9] as number,
    version: m[10] as number,
  };
}

/** The "pending" update of a job just enqueued. */
function enqueuedOf(jobId: string, type: string, at: number): UpdateRecord {
  return {
    jobId,
    type,
    status: "pending",
    progress: 0,
    message: "",
    attempt: 0,
    result: null,
    error: null,
    at,
    version: 1,
  };
}

/** Runs `step` now, or after the re-reads already waiting. */
function inOrder(ch: Channel, step: () => void | Promise<void>): void {
  if (ch.waiting === 0) {
    const r = step();
    if (r === undefined) return;
    ch.waiting++;
    ch.chain = r.catch(report).finally(() => void ch.waiting--);
    return;
  }
  ch.waiting++;
  ch.chain = ch.chain.then(step).catch(report).finally(() => void ch.waiting--);
}

/** Decodes one notification and delivers what someone listens to. */
function onNotify(ch: Channel, payload: string): void {
  const { queue, listeners } = ch;
  if (!ch.live) return;
  // Most notifications are updates; skip parsing those nobody listens to.
  if (payload.startsWith(UPDATE_PREFIX) && !listeners.wants(queue, "update")) {
    const end = payload.indexOf('"', UPDATE_PREFIX.length);
    const id = payload.slice(UPDATE_PREFIX.length, end);
    if (!listeners.wants(queue, "update", id)) return;
  }
  if (
    payload.startsWith(PACK_PREFIX) && listeners.count(queue, "updates") === 0
  ) return;
  let m: unknown[];
  try {
    m = JSON.parse(payload) as unknown[];
  } catch {
    return;
  }
  if (m[0] === "p") {
    for (let i = 1; i < m.length; i++) handle(ch, m[i] as unknown[]);
  } else handle(ch, m);
}

/** Delivers one decoded message (see sql.ts for the payload kinds). */
function handle(ch: Channel, m: unknown[]): void {
  const { queue, listeners } = ch;
  switch (m[0]) {
    case "u":
      if (!listeners.wants(queue, "update", m[1] as string)) return;
      inOrder(ch, () => publish(ch, updateOf(m)));
      return;
    case "e": {
      const [, type, at, wakeAt, ids] = m as [
        string,
        string,
        number,
        number,
        string[],
      ];
      const wake = () => listeners.deliver(queue, { kind: "wake", at: wakeAt });
      inOrder(ch, () => {
        for (const id of ids) {
          if (!listeners.wants(queue, "update", id)) continue;
          publish(ch, enqueuedOf(id, type, at));
        }
        ch.handOffs.enqueued(queue, ids, wake);
      });
      return;
    }
    case "r": {
      const id = m[1] as string;
      if (!listeners.wants(queue, "update", id)) return;
      inOrder(ch, async () => {
        try {
          const update = await ch.reread(queue, id);
          if (update !== null) publish(ch, update);
        } catch {
          // The job could not be read: tell listeners to re-read later.
          listeners.deliver(queue, { kind: "resync" });
        }
      });
      return;
    }
    case "w":
      inOrder(ch, () => {
        listeners.deliver(queue, { kind: "wake", at: m[1] as number });
      });
      return;
    case "c":
      inOrder(ch, () => {
        listeners.deliver(queue, { kind: "cancel", jobId: m[1] as string });
      });
      return;
    case "h":
      inOrder(ch, () => {
        const type = m[1] === "" ? null : String(m[1]);
        listeners.deliver(queue, { kind: "paused", type });
      });
      return;
  }
}

function onResync(ch: Channel): void {
  if (ch.live) ch.listeners.deliver(ch.queue, { kind: "resync" });
}

function publish(ch: Channel, update: UpdateRecord): void {
  ch.listeners.deliver(ch.queue, { kind: "update", update });
}

/** LISTEN became active; again after a reconnect, when events may be lost. */
function onListen(ch: Channel): void {
  if (++ch.listens > 1 && ch.live) {
    ch.listeners.deliver(ch.queue, { kind: "resync" });
  }
}

/** Makes the events over a driver client. */
export function createEvents(client: ListenClient, reread: Reread): Events {
  const listeners = createListeners();
  const channels = new Map<string, Channel>();
  const handOffs = createHandOffs();

  function open(queue: string, name: string): Channel {
    const ch: Channel = {
      queue,
      listeners,
      reread,
      live: true,
      ready: Promise.resolve({ unlisten: () => Promise.resolve() }),
      listens: 0,
      chain: Promise.resolve(),
      waiting: 0,
      handOffs,
    };
    ch.ready = client.listen(name, (payload) => {
      try {
        onNotify(ch, payload);
      } catch (err) {
        report(err);
      }
    }, () => onListen(ch));
    channels.set(queue, ch);
    return ch;
  }

  function forget(ch: Channel): void {
    ch.live = false;
    if (channels.get(ch.queue) === ch) channels.delete(ch.queue);
  }

  /** Undoes a queue's LISTEN once nobody listens there. */
  async function drop(ch: Channel): Promise<void> {
    const queue = ch.queue;
    const heard = listeners.count(queue, "updates") +
      listeners.count(queue, "worker");
    if (!ch.live || heard > 0) return;
    forget(ch);
    try {
      await (await ch.ready).unlisten();
    } catch {
      // LISTEN never became active or the connection is gone: nothing to undo.
    }
  }

  return {
    async listen(queue, name, topic, listener) {
      const ch = channels.get(queue) ?? open(queue, name);
      const remove = listeners.add(queue, topic, listener);
      const stop = async () => {
        remove();
        await drop(ch);
      };
      try {
        await ch.ready;
      } catch (err) {
        await stop();
        forget(ch);
        throw err;
      }
      return stop;
    },

    resync(queue) {
      const ch = channels.get(queue);
      if (ch !== undefined) inOrder(ch, () => onResync(ch));
    },

    async handing(queue, batch, send) {
      // No LISTEN: no notification will come to wait for. A batch with a
      // key is stored alone, claiming nothing (transitions_enqueue.ts).
      if (!channels.has(queue) || batch.some((job) => job.key !== null)) {
        return await send();
      }
      const answered = handOffs.sending(queue, batch.map((job) => job.id));
      let claimed: string[] = [];
      try {
        const done = await send();
        claimed = done.claimed.map((job) => job.id);
        return done;
      } finally {
        answered(claimed);
      }
    },

    async close() {
      const all = [...channels.values()];
      for (const ch of all) forget(ch);
      await Promise.all(all.map(async (ch) => {
        try {
          await (await ch.ready).unlisten();
        } catch {
          // Already gone.
        }
      }));
    },
  };
}
