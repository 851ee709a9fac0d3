/**
 * What the dashboard's tests share: hostile job values (markup that would
 * run script if it were not escaped) and a job that carries them in every
 * field the page shows, requests to a handler, a reader of a
 * server-sent event stream, raw HTTP/1.1 connections (for what `fetch`
 * cannot send: a chunked body that never ends, a client that leaves
 * early) and a queue whose listeners are counted. Tests only; never
 * imported by the library.
 *
 * @module
 */

import { connect } from "node:net";
import type { Queue } from "../../src/queue_types.ts";
import { waitFor } from "./time.ts";

/** Markup that sets `window.__pwned` if the page ever runs it. */
export const HOSTILE = {
  script: "<script>window.__pwned = 1</script>",
  img: '<img src=x onerror="window.__pwned = 1">',
  svg: '"><svg onload="window.__pwned = 1">',
  pre: "</pre><script>window.__pwned = 1</script>",
};

/** The raw pieces none of which may appear in a page. */
export const RAW = [
  "<script>window",
  "<img src=x",
  "<svg onload",
  "</pre><script",
];

/**
 * Enqueues a job with hostile data, key and metadata, claims it, sets a
 * hostile message and fails it for good with a hostile error and stack;
 * and a complete job with a hostile result.
 *
 * @returns The ids: the failed job, the complete one.
 */
export async function hostileJobs(
  queue: Queue,
): Promise<{ failed: string; complete: string }> {
  const failed = await queue.enqueue("hostile", { ...HOSTILE }, {
    key: HOSTILE.img,
    metadata: { note: HOSTILE.svg },
    maxAttempts: 1,
    priority: "high",
  });
  const job = (await queue.claim({ types: ["hostile"] }))!;
  await queue.update(job, { progress: 0.5, message: HOSTILE.script });
  const error = new Error(HOSTILE.img);
  error.stack = `Error: ${HOSTILE.pre}\n    at ${HOSTILE.svg}`;
  await queue.fail(job, error, { retry: false });
  const complete = await queue.enqueue("hostile", { n: 2 });
  const other = (await queue.claim({ types: ["hostile"] }))!;
  await queue.complete(other, { html: HOSTILE.script, also: HOSTILE.pre });
  return { failed, complete };
}

/** What a handler answered, read whole. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // deno-lint-ignore no-explicit-any
  json(): any;
}

/** Sends one request to a handler and reads the answer whole. */
export async function ask(
  handler: (request: Request) => Promise<Response>,
  path: string,
  init: RequestInit = {},
): Promise<Answer> {
  const res = await handler(new Request(`http://localhost${path}`, init));
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    json: () => JSON.parse(text),
  };
}

/** A POST of JSON from the dashboard's own origin (or the headers given). */
export function post(
  handler: (request: Request) => Promise<Response>,
  path: string,
  body: unknown = {},
  headers: Record<string, string> = { origin: "http://localhost" },
): Promise<Answer> {
  return ask(handler, path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

/** A reader of a `text/event-stream` body. */
export interface EventReader {
  /** Everything read so far. */
  text(): string;
  /** Reads until `check` holds on the text read, or throws after `ms`. */
  until(
    what: string,
    check: (text: string) => boolean,
    ms?: number,
  ): Promise<void>;
  /** Cancels the stream, as a client that goes away does. */
  close(): Promise<void>;
}

/** Reads a server-sent event stream. */
export function readEvents(body: ReadableStream<Uint8Array>): EventReader {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let reading: Promise<void> | null = null;
  const more = (): Promise<void> =>
    reading ??= reader.read().then(({ value, done }) => {
      reading = null;
      if (done) throw new Error(`the stream ended after: ${text}`);
      text += decoder.decode(value, { stream: true });
    });
  return {
    text: () => text,
    async until(what, check, ms = 5_000) {
      const deadline = Date.now() + ms;
      while (!check(text)) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no ${what} in: ${text}`);
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          more(),
          new Promise((resolve) => (timer = setTimeout(resolve, left))),
        ]);
        clearTimeout(timer);
      }
    },
    close: () => reader.cancel(),
  };
}

/** The `data` of each `event: update` read whole so far. */
export function updates(
  text: string,
): { queue: string; update: { jobId: string; status: string } }[] {
  return [...text.matchAll(/^event: update\ndata: (.*)\n\n/gm)].map((m) =>
    JSON.parse(m[1]!)
  );
}

/** The answer's head read from a raw connection. */
export interface RawHead {
  status: number;
  /** The status line and headers, as sent. */
  text: string;
}

/** A raw HTTP/1.1 connection, for requests `fetch` cannot make. */
export interface RawHttp {
  /** Sends more bytes. */
  write(text: string): void;
  /**
   * The answer's head once it came; throws when the connection closes
   * without one, or after `ms`.
   */
  head(ms?: number): Promise<RawHead>;
  /** Destroys the connection, as a client that goes away does. */
  close(): void;
}

/**
 * Opens a TCP connection to a loopback port and sends `text` on it.
 *
 * @returns The connection, read as it comes.
 */
export function rawHttp(port: number, text: string): RawHttp {
  const socket = connect(port, "127.0.0.1");
  let got = "";
  let closed = false;
  socket.on("data", (chunk: Uint8Array) => {
    got += new TextDecoder().decode(chunk);
  });
  socket.on("close", () => (closed = true));
  socket.on("error", () => {}); // a reset after the answer is not ours to judge
  socket.write(text);
  return {
    write: (more) => void socket.write(more),
    async head(ms = 5_000) {
      const end = await waitFor("the answer's head", () => {
        const at = got.indexOf("\r\n\r\n");
        if (at < 0 && closed) throw new Error(`closed after: ${got}`);
        return at >= 0 ? at : undefined;
      }, { timeout: ms });
      const text = got.slice(0, end);
      return { status: Number(text.split(" ")[1]), text };
    },
    close: () => void socket.destroy(),
  };
}

/** A chunk of a `transfer-encoding: chunked` body. */
export function chunk(text: string): string {
  return `${
    new TextEncoder().encode(text).byteLength.toString(16)
  }\r\n${text}\r\n`;
}

/** A queue whose `listen` is counted, and held until `gate` resolves. */
export interface WatchedQueue {
  queue: Queue;
  /** `listen` calls made. */
  readonly calls: number;
  /** Listeners started. */
  readonly started: number;
  /** Listeners started and not stopped. */
  readonly listening: number;
}

/**
 * Wraps a queue to count its listeners, as a slow backend's would start.
 *
 * @param gate Each `listen` waits for it (a backend slow to listen).
 */
export function watchListens(
  queue: Queue,
  gate: Promise<unknown> = Promise.resolve(),
): WatchedQueue {
  let calls = 0;
  let started = 0;
  let listening = 0;
  const wrapped = new Proxy(queue, {
    get(target, prop, receiver) {
      if (prop !== "listen") return Reflect.get(target, prop, receiver);
      return async (...args: Parameters<Queue["listen"]>) => {
        calls++;
        await gate;
        const stop = await target.listen(...args);
        started++;
        listening++;
        return async () => {
          listening--;
          await stop();
        };
      };
    },
  });
  return {
    queue: wrapped,
    get calls() {
      return calls;
    },
    get started() {
      return started;
    },
    get listening() {
      return listening;
    },
  };
}
