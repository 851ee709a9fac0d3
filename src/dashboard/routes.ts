/**
 * The dashboard's routes (SPEC §9), relative to `basePath`, once the
 * security rules have passed (handler.ts):
 *
 * - GET  ``                                 the page
 * - GET  `api/queues`                       `[{ name, stats, paused, pausedTypes }]`
 * - GET  `api/queues/NAME/jobs`             a ListPage (`status`, `type`, `limit`, `cursor`, `q`)
 * - GET  `api/queues/NAME/jobs/ID`          a Job, 404 when unknown
 * - GET  `api/queues/NAME/schedules`        the queue's schedules
 * - GET  `api/events`                       server-sent events (`?queue=NAME` to narrow)
 * - GET  `metrics`                          Prometheus text
 * - POST `api/queues/NAME/jobs/ID/retry|cancel|remove`
 * - POST `api/queues/NAME/pause|resume`     `{ type? }`
 * - POST `api/queues/NAME/retry-failed`     `{ type? }`
 * - POST `api/queues/NAME/clean`            `{ status, olderThan?, type?, limit? }`
 *
 * @module
 */

import type { Queue } from "../queue_types.ts";
import {
  cleanJobs,
  findJobs,
  HttpError,
  jobAction,
  jobOr404,
  type QueueSummary,
  retryFailed,
  setPaused,
  typeOf,
} from "./api.ts";
import type { EventHub } from "./events.ts";
import { metricsText, type WorkerCounters } from "./metrics.ts";
import { renderPage } from "./page.ts";
import { json, makeNonce, pageHeaders, SAFE_HEADERS } from "./respond.ts";

/** What the routes work with. */
export interface RouteContext {
  /** The base path, ending with "/". */
  base: string;
  /** The queues, by name. */
  queues: ReadonlyMap<string, Queue>;
  /** No action is offered. */
  readOnly: boolean;
  /** Jobs per page of the page's list. */
  pageSize: number;
  /** The live event streams. */
  hub: EventHub;
  /** The workers' outcome counters. */
  workers: WorkerCounters;
  /** Every queue's counts and pause state (reads shared). */
  summaries: () => Promise<QueueSummary[]>;
  /** The dashboard's `onError` (a throw of it is dropped). */
  report: (error: unknown, request: Request) => void;
}

/** The path's segments, decoded. */
function segments(path: string): string[] {
  try {
    return path === "" ? [] : path.split("/").map(decodeURIComponent);
  } catch {
    throw new HttpError(400, "bad path");
  }
}

function queueOf(ctx: RouteContext, name: string | undefined): Queue {
  const queue = name === undefined ? undefined : ctx.queues.get(name);
  if (queue === undefined) {
    throw new HttpError(404, `no queue ${JSON.stringify(name ?? "")}`);
  }
  return queue;
}

/** A whole number from the query string, within bounds. */
function intParam(
  url: URL,
  name: string,
  fallback: number,
  max: number,
): number {
  const text = url.searchParams.get(name);
  if (text === null || text === "") return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new HttpError(400, `"${name}" must be a whole number in 1..${max}`);
  }
  return n;
}

/**
 * Answers a GET.
 *
 * @param request The request (its signal ends a live stream; read only
 *   there, as Deno aborts it after every answer).
 * @returns The response; throws HttpError for 4xx.
 */
export async function getRoute(
  ctx: RouteContext,
  url: URL,
  path: string,
  request?: Request,
): Promise<Response> {
  const [head, name, part, id, ...rest] = segments(path);
  if (head === undefined) {
    const nonce = makeNonce();
    const report = (err: unknown) =>
      ctx.report(err, request ?? new Request(url));
    const page = await renderPage(
      { ...ctx, nonce, report },
      url.searchParams,
      await ctx.summaries(),
    );
    return new Response(page.body, {
      status: page.status,
      headers: pageHeaders(nonce),
    });
  }
  if (head === "metrics" && name === undefined) {
    return new Response(metricsText(await ctx.summaries(), ctx.workers), {
      headers: {
        ...SAFE_HEADERS,
        "content-type": "text/plain; version=0.0.4; charset=utf-8",
      },
    });
  }
  if (head !== "api") throw new HttpError(404, "not found");
  if (name === "events" && part === undefined) {
    const wanted = url.searchParams.getAll("queue").filter((n) => n !== "");
    for (const n of wanted) queueOf(ctx, n);
    return await ctx.hub.stream(
      wanted.length ? wanted : [...ctx.queues.keys()],
      request?.signal,
    );
  }
  if (name !== "queues") throw new HttpError(404, "not found");
  if (part === undefined) return json(200, await ctx.summaries());
  const queue = queueOf(ctx, part);
  if (id === "jobs" && rest.length === 0) {
    const page = await findJobs(queue, {
      status: url.searchParams.get("status") ?? undefined,
      type: url.searchParams.get("type") ?? undefined,
      q: url.searchParams.get("q") ?? undefined,
      cursor: url.searchParams.get("cursor") ?? undefined,
      limit: intParam(url, "limit", ctx.pageSize, 1000),
    });
    return json(200, page);
  }
  if (id === "jobs" && rest.length === 1) {
    return json(200, await jobOr404(queue, rest[0]!));
  }
  if (id === "schedules" && rest.length === 0) {
    return json(200, await queue.schedules());
  }
  throw new HttpError(404, "not found");
}

/**
 * Answers a POST whose origin and body passed the rules.
 *
 * @returns The response; throws HttpError for 4xx.
 */
export async function postRoute(
  ctx: RouteContext,
  path: string,
  body: Record<string, unknown>,
): Promise<Response> {
  const [head, name, part, what, id, action, ...rest] = segments(path);
  if (head !== "api" || name !== "queues" || rest.length > 0) {
    throw new HttpError(404, "not found");
  }
  const queue = queueOf(ctx, part);
  if (what === "jobs" && id !== undefined && action !== undefined) {
    if (action !== "retry" && action !== "cancel" && action !== "remove") {
      throw new HttpError(404, "not found");
    }
    return json(200, await jobAction(queue, id, action));
  }
  if (id !== undefined) throw new HttpError(404, "not found");
  switch (what) {
    case "pause":
    case "resume":
      return json(200, await setPaused(queue, what === "pause", body));
    case "retry-failed":
      return json(200, await retryFailed(queue, typeOf(body)));
    case "clean":
      return json(200, await cleanJobs(queue, body));
  }
  throw new HttpError(404, "not found");
}
