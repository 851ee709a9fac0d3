/**
 * `serveDashboard`: the dashboard's handler on a port, with the server of
 * the runtime it runs in: `Deno.serve`, `Bun.serve`, or `node:http` on
 * Node (serve_node.ts converts requests and responses, streamed). With
 * serve_node.ts, the only runtime-specific module of the dashboard: it
 * reads the runtime from `globalThis` and imports `node:http` only on
 * Node, lazily. `close()` ends the live streams first (new ones get 503),
 * then stops the server.
 *
 * @module
 */

import { json } from "./respond.ts";
import { respondNode } from "./serve_node.ts";
import type { DashboardHandler, DashboardServer } from "./types.ts";

/** What a started server gives back, before the dashboard wraps it. */
export interface Started {
  /** The port it listens on. */
  port: number;
  /** Stops it and ends its connections. */
  stop(): Promise<void>;
}

interface DenoLike {
  serve(
    options: {
      port: number;
      hostname: string;
      onListen?: (addr: { port: number }) => void;
      onError?: (error: unknown) => Response;
    },
    handler: (
      request: Request,
      info: { completed: Promise<void> },
    ) => Promise<Response>,
  ): { addr: { port: number }; shutdown(): Promise<void> };
}

interface BunLike {
  serve(options: {
    port: number;
    hostname: string;
    idleTimeout?: number;
    fetch: (request: Request) => Promise<Response>;
    error?: (error: unknown) => Response;
  }): { port: number; stop(closeActive?: boolean): Promise<void> | void };
}

/** The answer when answering failed: nothing of the error. */
function failed(): Response {
  return json(500, { error: "internal error" });
}

function serveDeno(
  deno: DenoLike,
  handler: DashboardHandler,
  port: number,
  hostname: string,
): Started {
  const options = { port, hostname, onListen: () => {}, onError: failed };
  const server = deno.serve(options, (request, info) => {
    // Deno warns when a request's own signal, once read, aborts after a
    // delivered answer (as it does for now): the handler gets a signal
    // that aborts only when the answer was not delivered.
    const { url, method, headers, body } = request;
    if (!URL.canParse(url)) {
      return Promise.resolve(json(400, { error: "bad host" }));
    }
    const gone = new AbortController();
    info.completed.catch(() => gone.abort());
    const init = { method, headers, body, signal: gone.signal };
    return handler(
      new Request(url, { ...init, duplex: "half" } as RequestInit),
    );
  });
  return { port: server.addr.port, stop: () => server.shutdown() };
}

function serveBun(
  bun: BunLike,
  handler: DashboardHandler,
  port: number,
  hostname: string,
): Started {
  // Bun closes a connection idle for 10 s by default; the event stream
  // sends a heartbeat every 15 s.
  const server = bun.serve({
    port,
    hostname,
    idleTimeout: 60,
    fetch: handler,
    error: failed,
  });
  return { port: server.port, stop: async () => await server.stop(true) };
}

/**
 * Serves a handler on `node:http` (Node's way; Deno and Bun have it too).
 *
 * @param handler The dashboard's handler.
 * @param port The port (0: a free one).
 * @param hostname The address.
 * @returns The port it listens on, and `stop()`.
 */
export async function serveNode(
  handler: DashboardHandler,
  port: number,
  hostname: string,
): Promise<Started> {
  const http = await import("node:http");
  const server = http.createServer((req, res) => {
    // Never an unhandled rejection: a request that fails ends its connection.
    respondNode(handler, req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address !== null ? address.port : port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Serves a handler on the runtime's own server.
 *
 * @param handler The dashboard's handler.
 * @param port The port (0: a free one).
 * @param hostname The address.
 * @param base The base path, for the URL.
 * @returns The running server.
 */
export async function serveHandler(
  handler: DashboardHandler,
  port: number,
  hostname: string,
  base: string,
): Promise<DashboardServer> {
  const g = globalThis as unknown as { Deno?: DenoLike; Bun?: BunLike };
  const started = typeof g.Deno?.serve === "function"
    ? serveDeno(g.Deno, handler, port, hostname)
    : typeof g.Bun?.serve === "function"
    ? serveBun(g.Bun, handler, port, hostname)
    : await serveNode(handler, port, hostname);
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    closing ??= (async () => {
      await handler.close();
      await started.stop();
    })();
  return {
    url: `http://${host}:${started.port}${base}`,
    port: started.port,
    hostname,
    close,
    [Symbol.asyncDispose]: close,
  };
}
