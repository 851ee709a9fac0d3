/**
 * The dashboard on `node:http`: each Node request becomes a web `Request`
 * (its body streamed, read only as far as the handler reads it), and the
 * web `Response` is written back with backpressure. A client that goes
 * away aborts the request's signal and cancels the response's body,
 * whenever it leaves, so that no live stream outlives its client. It must
 * never let a failure escape: a request that fails ends its connection.
 *
 * @module
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import { json } from "./respond.ts";
import type { DashboardHandler } from "./types.ts";

/** Bytes of request body read ahead of the handler. */
const READ_AHEAD = 65_536;

/** A request's body, and how to drop what the handler left unread. */
interface NodeBody {
  stream: ReadableStream<Uint8Array>;
  discard(): void;
}

/**
 * A Node request's body as a web stream: read as the handler reads it,
 * paused when it does not, never buffered whole.
 */
function nodeBody(req: IncomingMessage): NodeBody {
  let over = false;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      req.on("data", (chunk: Uint8Array) => {
        if (over) return;
        controller.enqueue(chunk);
        if ((controller.desiredSize ?? 0) <= 0) req.pause();
      });
      req.once("end", () => {
        if (!over) controller.close();
        over = true;
      });
      req.once("error", (err) => {
        if (!over) controller.error(err);
        over = true;
      });
      req.pause();
    },
    pull() {
      req.resume();
    },
    cancel() {
      over = true;
      req.pause();
    },
  }, { highWaterMark: READ_AHEAD, size: (chunk) => chunk.byteLength });
  return {
    stream,
    discard() {
      over = true;
      req.resume(); // read and dropped, as Node does with an unread body
    },
  };
}

/** The web request of a Node one, and its body's `discard`. */
function toRequest(
  req: IncomingMessage,
  signal: AbortSignal,
): { request: Request; discard(): void } {
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  }
  const method = req.method ?? "GET";
  const body = method === "GET" || method === "HEAD" ? null : nodeBody(req);
  const url = `http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`;
  const init = { method, headers, body: body?.stream ?? null, signal };
  const request = new Request(url, { ...init, duplex: "half" } as RequestInit);
  return { request, discard: () => body?.discard() };
}

/** Resolves once `res` can take more, or is gone: one listener each, removed. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve();
    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/** Writes a web body to `res`; cancels it however the writing ends. */
async function writeBody(
  body: ReadableStream<Uint8Array>,
  res: ServerResponse,
  gone: AbortSignal,
): Promise<void> {
  const reader = body.getReader();
  const cancel = (): void => void reader.cancel().catch(() => {});
  // The client may have left while the handler was answering.
  if (gone.aborted) cancel();
  else gone.addEventListener("abort", cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || res.destroyed) break;
      if (!res.write(value)) await drained(res);
    }
  } catch {
    /* the client went away */
  } finally {
    gone.removeEventListener("abort", cancel);
    cancel();
  }
  res.end();
}

/**
 * Answers one Node request through the web handler.
 *
 * @param handler The dashboard's handler.
 * @param req The Node request.
 * @param res Its response.
 */
export async function respondNode(
  handler: DashboardHandler,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const gone = new AbortController();
  res.once("close", () => gone.abort());
  let response: Response;
  let discard = (): void => {};
  try {
    const made = toRequest(req, gone.signal);
    discard = made.discard;
    response = await handler(made.request);
  } catch {
    response = json(400, { error: "bad request" });
  }
  const pairs: string[] = [];
  response.headers.forEach((value, name) => pairs.push(name, value));
  if (!req.complete) {
    // A body the handler left unread (refused, or too large) is dropped
    // as it comes, and the connection ends with the answer.
    discard();
    pairs.push("connection", "close");
  }
  res.writeHead(response.status, pairs);
  res.flushHeaders();
  if (response.body === null) return void res.end();
  await writeBody(response.body, res, gone.signal);
}
