/**
 * The types of the dashboard (SPEC §9): its options, the handler it
 * returns and the server `serveDashboard` starts. Types only; no behaviour.
 *
 * @module
 */

import type { Queue } from "../queue_types.ts";
import type { Worker } from "../worker/types.ts";

/**
 * Options of {@linkcode dashboard}.
 *
 * @example A read-only dashboard behind a password
 * ```ts
 * import { createQueue } from "@jobline/jobline";
 * import type { DashboardOptions } from "@jobline/jobline/dashboard";
 * await using queue = createQueue();
 * const options: DashboardOptions = {
 *   queues: [queue],
 *   basePath: "/admin/jobs",
 *   readOnly: true,
 *   authorize: (req) => req.headers.get("authorization") === `Basic ${btoa("admin:secret")}`,
 * };
 * ```
 */
export interface DashboardOptions {
  /** The queues it shows and acts on (names must differ). */
  queues: readonly Queue[];
  /**
   * The path it is mounted under: its routes are `BASE`, `BASE/api/...`
   * and `BASE/metrics`; requests outside it get 404.
   * @default {"/"}
   */
  basePath?: string;
  /**
   * Shows everything and changes nothing: the page offers no action and
   * every POST gets 403.
   * @default {false}
   */
  readOnly?: boolean;
  /**
   * Decides whether a request may be served (page, API, events and
   * metrics alike); false gets 401 with a `WWW-Authenticate: Basic`
   * challenge, so a browser asks for a password. Every request is served
   * when omitted: mount the dashboard where only operators reach it.
   */
  authorize?: (request: Request) => boolean | Promise<boolean>;
  /**
   * Origins besides the request's own whose POSTs are accepted (such as
   * "https://ops.example.com" behind a proxy that rewrites the Host
   * header). A POST whose Origin (or, without one, Referer) is another
   * origin gets 403.
   * @default {[]}
   */
  allowedOrigins?: readonly string[];
  /**
   * The hosts it answers to, by the request's `Host`: names ("example.com",
   * any port), names with a port ("example.com:8443"), or "*" for any
   * host. A request for another host gets 403 on every route, GETs and
   * live events included: this is what stops DNS rebinding, where a
   * hostile site points its own name at your machine and reads the
   * dashboard as if it were its own.
   *
   * When omitted, `dashboard()` answers IP literals ("127.0.0.1:8080",
   * "[::1]", "10.0.0.5") and localhost names ("localhost",
   * "app.localhost") only, at any port: no DNS name can be rebound to
   * those, and nothing else is trusted until you name it. Mounted behind a
   * DNS name, list it here (`["jobs.example.com"]`). `serveDashboard` on a
   * loopback address (its default) answers only localhost, 127.0.0.1 and
   * [::1] at its own port.
   *
   * @example Behind a proxy that keeps the public name
   * ```ts
   * import { createQueue } from "@jobline/jobline";
   * import { dashboard } from "@jobline/jobline/dashboard";
   * await using queue = createQueue();
   * const handler = dashboard({ queues: [queue], allowedHosts: ["jobs.example.com"] });
   * const res = await handler(new Request("https://jobs.example.com/api/queues"));
   * console.log(res.status); // 200
   * await handler.close();
   * ```
   */
  allowedHosts?: readonly string[];
  /**
   * Where an unexpected failure goes (a backend error while answering):
   * the caller gets 500 with `{ "error": "internal error" }` only, never
   * the error's message, and the error comes here with the request.
   * @default {console.error}
   */
  onError?: (error: unknown, request: Request) => void;
  /**
   * Workers of this process whose completed and failed jobs `/metrics`
   * counts (`jobline_worker_jobs_total`), from the moment the dashboard
   * is made.
   * @default {[]}
   */
  workers?: readonly Worker[];
  /**
   * Jobs per page of the job list.
   * @default {50}
   */
  pageSize?: number;
}

/**
 * What {@linkcode dashboard} returns: a web-standard handler for
 * `Deno.serve`, `Bun.serve`, Hono and the like, with `close()` to end the
 * live event streams it holds open.
 *
 * @example
 * ```ts
 * import { createQueue } from "@jobline/jobline";
 * import { dashboard, type DashboardHandler } from "@jobline/jobline/dashboard";
 * await using queue = createQueue();
 * const handler: DashboardHandler = dashboard({ queues: [queue] });
 * const res = await handler(new Request("http://localhost/api/queues"));
 * console.log(res.status); // 200
 * await handler.close();
 * ```
 */
export interface DashboardHandler {
  /** Answers one request. */
  (request: Request): Promise<Response>;
  /**
   * Ends every open event stream and stops listening to the queues (and
   * to the workers). The queues stay open: they are the caller's.
   */
  close(): Promise<void>;
}

/**
 * Options of {@linkcode serveDashboard}: those of the dashboard, and where
 * to listen.
 *
 * @example
 * ```ts
 * import { createQueue } from "@jobline/jobline";
 * import type { ServeDashboardOptions } from "@jobline/jobline/dashboard";
 * await using queue = createQueue();
 * const options: ServeDashboardOptions = { queues: [queue], port: 8080 };
 * ```
 */
export interface ServeDashboardOptions extends DashboardOptions {
  /** The TCP port; 0 picks a free one (read it from the server). */
  port: number;
  /**
   * The address to listen on. Loopback by default, so that a dashboard
   * which can retry and remove jobs is not reachable from the network
   * unless you say so ("0.0.0.0").
   * @default {"127.0.0.1"}
   */
  hostname?: string;
}

/**
 * A running dashboard server.
 *
 * @example
 * ```ts
 * import { createQueue } from "@jobline/jobline";
 * import { serveDashboard } from "@jobline/jobline/dashboard";
 * await using queue = createQueue();
 * const server = await serveDashboard({ queues: [queue], port: 0 });
 * console.log(server.url.startsWith("http://127.0.0.1:")); // true
 * await server.close();
 * ```
 */
export interface DashboardServer extends AsyncDisposable {
  /** The page's URL: `http://HOST:PORT/BASE/`. */
  readonly url: string;
  /** The port it listens on (the one picked, for port 0). */
  readonly port: number;
  /** The address it listens on. */
  readonly hostname: string;
  /** Ends the event streams and stops the server. The queues stay open. */
  close(): Promise<void>;
}
