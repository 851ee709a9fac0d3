/**
 * The dashboard's live stream, `GET /api/events`: server-sent events with
 * `event: update` and data `{ queue, update }` for every update of the
 * queues a client watches, `event: resync` when a queue's events may have
 * missed some (the page then re-reads), and a comment every 15 s so that
 * proxies keep the connection. One `queue.listen("queue")` per queue is
 * shared by all clients and ended when the last one leaves (the request's
 * signal or the server's cancel ends a stream whose client went away). A
 * client holds at most 1 MiB it has not read: past that it is dropped
 * (its page reconnects and re-reads), so a client that stops reading
 * cannot grow the server's memory. It must never leave a listener behind
 * a client that went away.
 *
 * @module
 */

import { unrefTimer } from "../backend/timers.ts";
import type { Queue, QueueEvent } from "../queue_types.ts";
import { json, SAFE_HEADERS } from "./respond.ts";

/** The shared stream of the dashboard's queues. */
export interface EventHub {
  /**
   * A `text/event-stream` response of the named queues' updates, once
   * they are listened to; it ends when `signal` aborts (the client went
   * away). 503 once the hub is closed.
   */
  stream(names: readonly string[], signal?: AbortSignal): Promise<Response>;
  /** How many clients are connected now. */
  readonly clients: number;
  /** Ends every stream and every listener. */
  close(): Promise<void>;
}

/**
 * One queue's shared listener and how many clients use it; `off` rejects
 * when its listen failed (the tap is then no longer shared).
 */
interface Tap {
  name: string;
  users: number;
  off: Promise<() => Promise<void>>;
}

/** The queues' listeners, each shared by the clients that watch it. */
interface Taps {
  /**
   * Joins a queue's listener, made now if none is shared: the tap to
   * leave, and its `off`, which resolves once it listens.
   */
  join(name: string): Tap;
  /** Leaves a tap; the last one out stops it. */
  leave(tap: Tap): void;
  /** Resolves once every stop under way is done. */
  settled(): Promise<void>;
}

interface Client {
  names: ReadonlySet<string>;
  send(text: string): void;
  end(): void;
}

const encoder = new TextEncoder();

/** An event as the stream sends it, or null for one pages do not need. */
function eventText(name: string, event: QueueEvent): string | null {
  if (event.kind === "update") {
    const data = JSON.stringify({ queue: name, update: event.update });
    return `event: update\ndata: ${data}\n\n`;
  }
  if (event.kind === "resync" || event.kind === "closed") {
    return `event: ${event.kind}\ndata: ${JSON.stringify({ queue: name })}\n\n`;
  }
  return null;
}

function createTaps(
  queues: ReadonlyMap<string, Queue>,
  onEvent: (name: string, event: QueueEvent) => void,
): Taps {
  const taps = new Map<string, Tap>();
  const stopping = new Set<Promise<void>>();
  return {
    join(name) {
      let tap = taps.get(name);
      if (tap === undefined) {
        const off = queues.get(name)!.listen("queue", (e) => onEvent(name, e));
        tap = { name, users: 0, off };
        taps.set(name, tap);
        // A listen that failed (a closed queue, a backend down) is not
        // shared: the next client makes a new one.
        const failed = tap;
        off.catch(() => {
          if (taps.get(name) === failed) taps.delete(name);
        });
      }
      tap.users++;
      return tap;
    },
    leave(tap) {
      if (--tap.users > 0) return;
      if (taps.get(tap.name) === tap) taps.delete(tap.name);
      const stopped = tap.off.then((stop) => stop()).catch(() => {});
      stopping.add(stopped);
      void stopped.then(() => stopping.delete(stopped));
    },
    async settled() {
      await Promise.all([...stopping]);
    },
  };
}

/** Chunks as one. */
function joined(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * A client's stream: heartbeats, and `onEnd` once, however it ends. What
 * it has not read yet waits here, up to `maxBuffered` bytes (one event
 * always fits); past that the client is too slow: what waits is dropped
 * and the stream ends, so that its page reconnects and reads afresh.
 */
function openClient(
  names: readonly string[],
  heartbeatMs: number,
  maxBuffered: number,
  onEnd: (client: Client) => void,
): { client: Client; body: ReadableStream<Uint8Array> } {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let waiting: Uint8Array[] = [];
  let buffered = 0;
  let wanted = false; // the reader asked and got nothing yet
  let open = true;
  const beat = setInterval(() => send(": heartbeat\n\n"), heartbeatMs);
  unrefTimer(beat);
  const flush = (): void => {
    if (!wanted || waiting.length === 0) return;
    wanted = false;
    const chunk = joined(waiting);
    waiting = [];
    buffered = 0;
    controller.enqueue(chunk);
  };
  const send = (text: string): void => {
    if (!open) return;
    const bytes = encoder.encode(text);
    if (waiting.length > 0 && buffered + bytes.byteLength > maxBuffered) {
      waiting = [];
      buffered = 0;
      return end();
    }
    waiting.push(bytes);
    buffered += bytes.byteLength;
    flush();
  };
  const end = (): void => {
    if (!open) return;
    open = false;
    clearInterval(beat);
    onEnd(client);
    try {
      if (waiting.length > 0) controller.enqueue(joined(waiting));
      controller.close();
    } catch { /* already closed by the reader's cancel */ }
    waiting = [];
  };
  const client: Client = { names: new Set(names), send, end };
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    pull() {
      wanted = true;
      flush();
    },
    cancel() {
      end();
    },
  }, { highWaterMark: 0 });
  return { client, body };
}

/**
 * Makes the hub of a dashboard's queues.
 *
 * @param queues The queues, by name.
 * @param heartbeatMs Ms between heartbeat comments.
 * @param maxBuffered Bytes a client may leave unread before it is dropped.
 * @returns The hub, with no client yet.
 */
export function createEventHub(
  queues: ReadonlyMap<string, Queue>,
  heartbeatMs = 15_000,
  maxBuffered = 1_048_576,
): EventHub {
  const clients = new Set<Client>();
  let closed = false;
  const taps = createTaps(queues, (name, event) => {
    const text = eventText(name, event);
    if (text === null) return;
    for (const c of clients) if (c.names.has(name)) c.send(text);
  });

  async function stream(
    names: readonly string[],
    signal?: AbortSignal,
  ): Promise<Response> {
    if (closed) return json(503, { error: "the dashboard is closed" });
    const leave = (): void => client.end();
    const joined = names.map((name) => taps.join(name));
    const { client, body } = openClient(
      names,
      heartbeatMs,
      maxBuffered,
      (c) => {
        clients.delete(c);
        signal?.removeEventListener("abort", leave);
        for (const tap of joined) taps.leave(tap);
      },
    );
    clients.add(client);
    // Joined at once (before any end can leave), answered once every
    // queue is listened to: no update falls between.
    const listening = Promise.all(joined.map((tap) => tap.off));
    if (signal?.aborted) leave();
    else signal?.addEventListener("abort", leave, { once: true });
    try {
      await listening;
      client.send(`retry: 2000\n: connected to ${names.length} queue(s)\n\n`);
    } catch {
      // A queue could not be listened to: the stream ends at once, and the
      // page's EventSource comes back in 2 s, listening afresh (a 503
      // would make it give up).
      client.send("retry: 2000\n: a queue could not be listened to\n\n");
      client.end();
    }
    return new Response(body, {
      headers: {
        ...SAFE_HEADERS,
        "content-type": "text/event-stream; charset=utf-8",
        "x-accel-buffering": "no",
      },
    });
  }

  return {
    stream,
    get clients() {
      return clients.size;
    },
    async close() {
      closed = true;
      for (const c of [...clients]) c.end();
      await taps.settled();
    },
  };
}
