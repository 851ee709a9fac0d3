/**
 * The dashboard's web-standard handler: the security rules first (a Host
 * not allowed → 403, against DNS rebinding; `authorize` → 401; a POST in
 * read-only mode or from another origin → 403; POST bodies JSON of at
 * most 64 KiB, read no further), then the routes of SPEC §9 under
 * `basePath` (routes.ts), with a strict Content-Security-Policy on every
 * answer. It never acts on a POST that failed a rule, never shows the
 * caller an unexpected error's message (that goes to `onError`), and
 * holds no state but the live event streams and the worker counters.
 *
 * @module
 */

import { ValidationError } from "../errors.ts";
import type { Queue } from "../queue_types.ts";
import { HttpError, sharedSummaries } from "./api.ts";
import { createEventHub } from "./events.ts";
import { type HostCheck, hostCheck, localNames } from "./hosts.ts";
import { countWorkers } from "./metrics.ts";
import { json } from "./respond.ts";
import { getRoute, postRoute, type RouteContext } from "./routes.ts";
import type { DashboardHandler, DashboardOptions } from "./types.ts";

const MAX_BODY = 65_536;

/** "/", "/admin" and "/admin/" become "/" and "/admin/". */
function normalizeBase(basePath: string | undefined): string {
  const path = basePath ?? "/";
  if (typeof path !== "string" || !path.startsWith("/")) {
    throw new TypeError(
      `Cannot make dashboard as 'basePath' must start with "/": current value is ${
        JSON.stringify(path)
      }`,
    );
  }
  return path.endsWith("/") ? path : `${path}/`;
}

function queueMap(queues: readonly Queue[]): Map<string, Queue> {
  if (!Array.isArray(queues) || queues.length === 0) {
    throw new TypeError(
      "Cannot make dashboard as 'queues' must hold at least one queue",
    );
  }
  const map = new Map<string, Queue>();
  for (const q of queues) {
    if (q.name === "." || q.name === "..") {
      // URLs resolve "." and ".." (and %2E) away: no route could name it.
      throw new ValidationError(
        `Cannot make dashboard as a queue's name must not be "." or ".." (a URL path cannot hold it): current value is ${
          JSON.stringify(q.name)
        }`,
      );
    }
    if (map.has(q.name)) {
      throw new TypeError(
        `Cannot make dashboard as 'queues' holds two queues named ${
          JSON.stringify(q.name)
        }`,
      );
    }
    map.set(q.name, q);
  }
  return map;
}

/** True when a POST comes from the page's own origin (or an allowed one). */
function sameOrigin(
  request: Request,
  url: URL,
  allowed: readonly string[],
): boolean {
  const fits = (origin: string): boolean => {
    if (allowed.includes(origin)) return true;
    try {
      return /^https?:$/.test(new URL(origin).protocol) &&
        new URL(origin).host === url.host;
    } catch {
      return false;
    }
  };
  const origin = request.headers.get("origin");
  if (origin !== null) return fits(origin);
  const referer = request.headers.get("referer");
  if (referer !== null) {
    return URL.canParse(referer) && fits(new URL(referer).origin);
  }
  const site = request.headers.get("sec-fetch-site");
  return site === null || site === "same-origin" || site === "none";
}

/** A body's text, read up to MAX_BODY bytes and cancelled past it. */
async function bodyText(request: Request): Promise<string> {
  const length = Number(request.headers.get("content-length") ?? 0);
  if (length > MAX_BODY) throw new HttpError(413, "body too large");
  if (request.body === null) return "";
  const reader = request.body.getReader();
  const decoder = new TextDecoder();
  let size = 0;
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    size += value.byteLength;
    if (size > MAX_BODY) {
      void reader.cancel().catch(() => {});
      throw new HttpError(413, "body too large");
    }
    text += decoder.decode(value, { stream: true });
  }
}

/** The JSON object of a POST body ({} when empty). */
async function readBody(request: Request): Promise<Record<string, unknown>> {
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/json\b/i.test(type.trim())) {
    throw new HttpError(415, "POST bodies must be JSON (application/json)");
  }
  const text = await bodyText(request);
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, "the body is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(400, "the body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

/**
 * An error as an answer: its status, or 400 for bad input, else 500 with
 * nothing of the error (a backend's message may hold hosts, paths or
 * credentials): that goes to `onError`.
 */
function failure(
  err: unknown,
  request: Request,
  report: RouteContext["report"],
): Response {
  if (err instanceof HttpError) return json(err.status, { error: err.message });
  if (err instanceof ValidationError) {
    return json(400, { error: err.message });
  }
  report(err, request);
  return json(500, { error: "internal error" });
}

/**
 * Makes the dashboard's handler.
 *
 * @param options The dashboard's options.
 * @param hosts The Host check when `allowedHosts` is not given (IP
 *   literals and localhost names; `serveDashboard` narrows it).
 * @returns The handler.
 */
export function createDashboard(
  options: DashboardOptions,
  hosts: HostCheck = localNames,
): DashboardHandler {
  const base = normalizeBase(options.basePath);
  const queues = queueMap(options.queues);
  const { readOnly = false, authorize, allowedOrigins = [] } = options;
  const {
    onError = (err: unknown, req: Request) =>
      console.error(`jobline dashboard: ${req.method} ${req.url}:`, err),
  } = options;
  const allowedHost = hostCheck(options.allowedHosts, hosts);
  const pageSize = options.pageSize ?? 50;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
    throw new RangeError(
      `Cannot make dashboard as 'pageSize' must be an integer in 1..1000: current value is ${pageSize}`,
    );
  }
  const hub = createEventHub(queues);
  const workers = countWorkers(options.workers ?? []);
  const ctx: RouteContext = {
    base,
    queues,
    readOnly,
    pageSize,
    hub,
    workers,
    summaries: sharedSummaries(queues),
    report(err, request) {
      try {
        onError(err, request);
      } catch { /* a failing reporter must not fail the answer */ }
    },
  };

  const handle = async (request: Request): Promise<Response> => {
    try {
      // A Host no URL can hold (Bun and Deno build the URL from it).
      if (!URL.canParse(request.url)) return json(400, { error: "bad host" });
      const url = new URL(request.url);
      if (!allowedHost(url)) {
        return json(403, {
          error: `host ${
            JSON.stringify(url.host)
          } is not allowed (allowedHosts)`,
        });
      }
      const path = url.pathname === base.slice(0, -1)
        ? ""
        : url.pathname.startsWith(base)
        ? url.pathname.slice(base.length)
        : null;
      if (path === null) return json(404, { error: "not found" });
      if (authorize !== undefined && !(await authorize(request))) {
        const res = json(401, { error: "unauthorized" });
        res.headers.set("www-authenticate", 'Basic realm="jobline"');
        return res;
      }
      if (request.method === "GET") {
        return await getRoute(ctx, url, path, request);
      }
      if (request.method !== "POST") {
        const res = json(405, {
          error: `method ${request.method} not allowed`,
        });
        res.headers.set("allow", "GET, POST");
        return res;
      }
      if (readOnly) return json(403, { error: "the dashboard is read-only" });
      if (!sameOrigin(request, url, allowedOrigins)) {
        return json(403, { error: "cross-origin POST refused" });
      }
      return await postRoute(ctx, path, await readBody(request));
    } catch (err) {
      return failure(err, request, ctx.report);
    }
  };

  return Object.assign(handle, {
    async close(): Promise<void> {
      workers.stop();
      await hub.close();
    },
  });
}
