/**
 * Events of the PostgreSQL backend: one LISTEN channel per queue on the
 * driver's dedicated listen connection, decoded into BackendEvents and
 * handed to the listeners of each topic. It must never throw into the
 * driver's notification callback, nor let a listener break delivery.
 *
 * @module
 */

import type {
  BackendEvent,
  Topic,
  UpdateRecord,
} from "../../src/backend/interface.ts";
import type { JobError, JobStatus } from "../../src/types.ts";

type Listener = (event: BackendEvent) => void;

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

interface Channel {
  queue: string;
  queueListeners: Set<Listener>;
  workerListeners: Set<Listener>;
  jobListeners: Map<string, Set<Listener>>;
  ready: Promise<{ unlisten(): Promise<unknown> }>;
  /** How many times LISTEN became active: after the first, a reconnect. */
  listens: number;
  /** Serialises deliveries that wait for a re-read, so order is kept. */
  chain: Promise<void>;
  waiting: number;
}

/** The event hub of one backend. */
export interface Events {
  /** Adds a listener on a queue's channel; resolves once LISTEN is active. */
  listen(
    queue: string,
    channel: string,
    topic: Topic,
    listener: Listener,
  ): Promise<() => Promise<void>>;
  /** Stops every LISTEN this hub started. */
  close(): Promise<void>;
}

function deliver(listeners: Iterable<Listener>, event: BackendEvent): void {
  for (const listener of [...listeners]) {
    try {
      listener(event);
    } catch (err) {
      console.error("jobline: a postgres backend listener threw", err);
    }
  }
}

function report(err: unknown): void {
  console.error("jobline: a postgres notification failed", err);
}

function parseError(text: unknown): JobError | null {
  return typeof text === "string" ? JSON.parse(text) as JobError : null;
}

/** Makes the event hub over a driver client. */
export function createEvents(client: ListenClient, reread: Reread): Events {
  const channels = new Map<string, Channel>();

  function publish(ch: Channel, update: UpdateRecord): void {
    const event: BackendEvent = { kind: "update", update };
    if (ch.queueListeners.size > 0) deliver(ch.queueListeners, event);
    const forJob = ch.jobListeners.get(update.jobId);
    if (forJob !== undefined) deliver(forJob, event);
  }

  function wants(ch: Channel, id: string): boolean {
    return ch.queueListeners.size > 0 || ch.jobListeners.has(id);
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
    ch.chain = ch.chain.then(step).catch(report).finally(() =>
      void ch.waiting--
    );
  }

  function onNotify(ch: Channel, payload: string): void {
    // Most notifications are updates; skip parsing those nobody listens to.
    if (payload.startsWith(UPDATE_PREFIX) && ch.queueListeners.size === 0) {
      const end = payload.indexOf('"', UPDATE_PREFIX.length);
      if (!ch.jobListeners.has(payload.slice(UPDATE_PREFIX.length, end))) {
        return;
      }
    }
    if (
      payload.startsWith(PACK_PREFIX) && ch.queueListeners.size === 0 &&
      ch.jobListeners.size === 0
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

  function handle(ch: Channel, m: unknown[]): void {
    switch (m[0]) {
      case "u": {
        const id = m[1] as string;
        if (!wants(ch, id)) return;
        inOrder(ch, () =>
          publish(ch, {
            jobId: id,
            type: m[2] as string,
            status: m[3] as JobStatus,
            progress: m[4] as number,
            message: m[5] as string,
            attempt: m[6] as number,
            result: m[7] as string | null,
            error: parseError(m[8]),
            at: m[9] as number,
            version: m[10] as number,
          }));
        return;
      }
      case "e": {
        const [, type, at, wakeAt, ids] = m as [
          string,
          string,
          number,
          number,
          string[],
        ];
        inOrder(ch, () => {
          for (const id of ids) {
            if (!wants(ch, id)) continue;
            publish(ch, {
              jobId: id,
              type,
              status: "pending",
              progress: 0,
              message: "",
              attempt: 0,
              result: null,
              error: null,
              at,
              version: 1,
            });
          }
          deliver(ch.workerListeners, { kind: "wake", at: wakeAt });
        });
        return;
      }
      case "r": {
        const id = m[1] as string;
        if (!wants(ch, id)) return;
        inOrder(ch, async () => {
          try {
            const update = await reread(ch.queue, id);
            if (update !== null) publish(ch, update);
          } catch {
            // The job could not be read: tell listeners to re-read later.
            deliver(ch.queueListeners, { kind: "resync" });
            const forJob = ch.jobListeners.get(id);
            if (forJob !== undefined) deliver(forJob, { kind: "resync" });
          }
        });
        return;
      }
      case "w":
        inOrder(
          ch,
          () =>
            deliver(ch.workerListeners, { kind: "wake", at: m[1] as number }),
        );
        return;
      case "c":
        inOrder(ch, () =>
          deliver(ch.workerListeners, {
            kind: "cancel",
            jobId: m[1] as string,
          }));
        return;
    }
  }

  function onListen(ch: Channel): void {
    // LISTEN is active again after a reconnect: events may have been missed.
    if (++ch.listens === 1) return;
    const all = [
      ...ch.queueListeners,
      ...ch.workerListeners,
      ...[...ch.jobListeners.values()].flatMap((s) => [...s]),
    ];
    deliver(all, { kind: "resync" });
  }

  function open(queue: string, name: string): Channel {
    const ch: Channel = {
      queue,
      queueListeners: new Set(),
      workerListeners: new Set(),
      jobListeners: new Map(),
      ready: Promise.resolve({ unlisten: () => Promise.resolve() }),
      listens: 0,
      chain: Promise.resolve(),
      waiting: 0,
    };
    ch.ready = client.listen(name, (payload) => {
      try {
        onNotify(ch, payload);
      } catch (err) {
        report(err);
      }
    }, () => onListen(ch));
    channels.set(name, ch);
    return ch;
  }

  function empty(ch: Channel): boolean {
    return ch.queueListeners.size === 0 && ch.workerListeners.size === 0 &&
      ch.jobListeners.size === 0;
  }

  async function drop(name: string, ch: Channel): Promise<void> {
    if (channels.get(name) !== ch || !empty(ch)) return;
    channels.delete(name);
    try {
      await (await ch.ready).unlisten();
    } catch {
      // LISTEN never became active or the connection is gone: nothing to undo.
    }
  }

  return {
    async listen(queue, name, topic, listener) {
      const ch = channels.get(name) ?? open(queue, name);
      let set: Set<Listener>;
      if (topic === "queue") set = ch.queueListeners;
      else if (topic === "worker") set = ch.workerListeners;
      else {
        let forJob = ch.jobListeners.get(topic.job);
        if (forJob === undefined) {
          ch.jobListeners.set(topic.job, forJob = new Set());
        }
        set = forJob;
      }
      // Wrap so that the same function may listen twice and stop once each.
      const own: Listener = (event) => listener(event);
      set.add(own);
      const stop = async () => {
        set.delete(own);
        if (typeof topic === "object" && set.size === 0) {
          ch.jobListeners.delete(topic.job);
        }
        await drop(name, ch);
      };
      try {
        await ch.ready;
      } catch (err) {
        await stop();
        if (channels.get(name) === ch) channels.delete(name);
        throw err;
      }
      return stop;
    },

    async close() {
      const all = [...channels.values()];
      channels.clear();
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
