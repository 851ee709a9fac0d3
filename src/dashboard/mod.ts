/**
 * The live web dashboard of jobline (SPEC §9), the `@jobline/jobline/dashboard`
 * entry: `dashboard()` makes a web-standard handler to mount in
 * `Deno.serve`, `Bun.serve`, Hono or any server of `Request` and
 * `Response`; `serveDashboard()` serves it on a port under Deno, Node or
 * Bun. One server-rendered page with one small inline script (no build
 * step, no CDN) shows the queues, their jobs and schedules, updated live
 * over server-sent events, with actions to retry, cancel, remove, clean,
 * pause and resume; a JSON API and `/metrics` for Prometheus beside it.
 *
 * ```ts
 * import { createQueue } from "@jobline/jobline";
 * import { serveDashboard } from "@jobline/jobline/dashboard";
 *
 * await using queue = createQueue();
 * await using server = await serveDashboard({ queues: [queue], port: 0 });
 * console.log(`dashboard on ${server.url}`);
 * ```
 *
 * @module
 */

import { createDashboard } from "./handler.ts";
import { isLoopback, localNames, loopbackAt } from "./hosts.ts";
import { serveHandler } from "./serve.ts";
import type {
  DashboardHandler,
  DashboardOptions,
  DashboardServer,
  ServeDashboardOptions,
} from "./types.ts";

export type {
  DashboardHandler,
  DashboardOptions,
  DashboardServer,
  ServeDashboardOptions,
} from "./types.ts";

/**
 * Makes the dashboard's handler: the page at `basePath`, the JSON API
 * under `basePath/api/`, live events at `basePath/api/events` and
 * Prometheus metrics at `basePath/metrics`. A request for a host not in
 * `allowedHosts` (by default: IP literals and localhost names only, see
 * {@linkcode DashboardOptions.allowedHosts}) gets 403 on every route; a
 * POST from another origin, or any POST when `readOnly`, gets 403;
 * `authorize` returning false gets 401 on every route. A POST body past
 * 64 KiB gets 413, read no further. An unexpected failure answers 500
 * with `{ "error": "internal error" }` and goes to `onError`.
 *
 * @example Mounting it in Deno.serve
 * ```ts
 * import { createQueue } from "@jobline/jobline";
 * import { dashboard } from "@jobline/jobline/dashboard";
 *
 * await using queue = createQueue({ name: "emails" });
 * const handler = dashboard({ queues: [queue], basePath: "/jobs" });
 * const res = await handler(new Request("http://localhost/jobs/api/queues"));
 * console.log((await res.json())[0].name); // "emails"
 * await handler.close();
 * // Deno.serve({ port: 8080 }, handler);
 * ```
 *
 * @param options The queues, and how the dashboard is mounted and guarded.
 * @returns The handler, with `close()` to end its live streams.
 * @throws {TypeError} with no queue, two queues of one name, a bad
 *   `basePath` or a bad `allowedHosts` entry.
 * @throws {ValidationError} for a queue named "." or "..", which no URL
 *   can name.
 */
export function dashboard(options: DashboardOptions): DashboardHandler {
  return createDashboard(options);
}

/**
 * Serves the dashboard on a port, on the runtime's own server:
 * `Deno.serve` on Deno, `Bun.serve` on Bun, `node:http` on Node. It
 * listens on 127.0.0.1 unless `hostname` says otherwise. On a loopback
 * address it answers only the Hosts localhost, 127.0.0.1 and [::1] at its
 * port unless `allowedHosts` says otherwise (DNS rebinding); elsewhere,
 * as `dashboard()`: IP literals and localhost names, or `allowedHosts`.
 *
 * @example
 * ```ts
 * import { createQueue } from "@jobline/jobline";
 * import { serveDashboard } from "@jobline/jobline/dashboard";
 *
 * await using queue = createQueue();
 * const server = await serveDashboard({ queues: [queue], port: 0, readOnly: true });
 * const res = await fetch(`${server.url}api/queues`);
 * console.log(res.status); // 200
 * await res.body?.cancel();
 * await server.close();
 * ```
 *
 * @param options The dashboard's options, the port and the address.
 * @returns The running server: its URL, and `close()`.
 */
export async function serveDashboard(
  options: ServeDashboardOptions,
): Promise<DashboardServer> {
  const { port, hostname = "127.0.0.1", ...rest } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(
      `Cannot serve dashboard as 'port' must be an integer in 0..65535: current value is ${port}`,
    );
  }
  // Port 0: no Host is right until the server has its port.
  let bound = port === 0 ? -1 : port;
  const handler = createDashboard(
    rest,
    isLoopback(hostname) ? loopbackAt(() => bound) : localNames,
  );
  const base = (rest.basePath ?? "/").replace(/\/?$/, "/");
  let server;
  try {
    server = await serveHandler(handler, port, hostname, base);
  } catch (err) {
    // Not served (a port in use, say): leave nothing on the queues or
    // the workers.
    await handler.close();
    throw err;
  }
  bound = server.port;
  return server;
}
