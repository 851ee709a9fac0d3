/**
 * The dashboard's view of its queues, on the public Queue API only: a
 * queue's summary (counts and pause state), a page of jobs with search by
 * id, type or key, and the actions (retry, cancel, remove, retry all
 * failed, clean, pause, resume). The JSON routes (routes.ts) and the page
 * (page.ts) both read through here. It never writes HTML nor a Response.
 *
 * @module
 */

import { ValidationError } from "../errors.ts";
import type { ListPage, Queue } from "../queue_types.ts";
import type { Job, QueueStats } from "../types.ts";
import type { CleanOptions } from "../control_types.ts";

/** What `GET /api/queues` holds for each queue. */
export interface QueueSummary {
  /** The queue's name. */
  name: string;
  /** Its counts by status and type. */
  stats: QueueStats;
  /** True when the whole queue is paused. */
  paused: boolean;
  /** The types paused on their own (by `pause(type)`), with jobs or not. */
  pausedTypes: string[];
}

/** A page of jobs, with how far a key search read. */
export interface JobPage extends ListPage {
  /** For a key search: how many jobs it read to fill this page. */
  scanned?: number;
}

/** What a page of jobs is asked for. */
export interface JobQuery {
  /** Only this status ("" or undefined: any). */
  status?: string | undefined;
  /** Only this type. */
  type?: string | undefined;
  /** Search: a job id, a type, or (part of) a key. */
  q?: string | undefined;
  /** Jobs per page. */
  limit: number;
  /** The `cursor` of the previous page. */
  cursor?: string | undefined;
}

/** The most jobs one key search reads before it hands back a cursor. */
export const KEY_SCAN = 10_000;
const SCAN_PAGE = 1_000;
const NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

/** An answer that is not 200: the JSON routes turn it into a status. */
export class HttpError extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** An error with its status and message. */
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** The statuses that `stats` counts, in reading order (newer ones after). */
export function statusesOf(stats: QueueStats): string[] {
  const order = [
    "waiting",
    "pending",
    "processing",
    "complete",
    "failed",
    "cancelled",
  ];
  const counted = Object.keys(stats).filter((k) =>
    typeof (stats as unknown as Record<string, unknown>)[k] === "number"
  );
  return [
    ...order.filter((s) => counted.includes(s)),
    ...counted.filter((s) => !order.includes(s)),
  ];
}

/** A queue's counts and pause state. */
export async function summarize(queue: Queue): Promise<QueueSummary> {
  const [stats, paused, pausedTypes] = await Promise.all([
    queue.stats(),
    queue.isPaused(),
    queue.pausedTypes(),
  ]);
  return { name: queue.name, stats, paused, pausedTypes };
}

/**
 * The summaries of all the queues, one read at a time: a request that
 * comes while a read is under way shares it (counting a big queue is the
 * dearest read the dashboard makes, and every open page asks for it).
 */
export function sharedSummaries(
  queues: ReadonlyMap<string, Queue>,
): () => Promise<QueueSummary[]> {
  let reading: Promise<QueueSummary[]> | null = null;
  return () =>
    reading ??= Promise.all([...queues.values()].map(summarize)).finally(
      () => (reading = null),
    );
}

/** Reads a job by id, or null for an id that cannot be one. */
async function getJob(queue: Queue, id: string): Promise<Job | null> {
  try {
    return await queue.get(id);
  } catch (err) {
    if (err instanceof ValidationError) return null;
    throw err;
  }
}

/**
 * A page of jobs. With `q`: the job of that id, else the jobs of that
 * type, else the jobs whose key holds `q` (read `KEY_SCAN` at most per
 * page). A search's cursor says which of these it continues.
 */
export async function findJobs(
  queue: Queue,
  query: JobQuery,
): Promise<JobPage> {
  const status = query.status ? query.status as Job["status"] : undefined;
  const base = {
    limit: query.limit,
    ...(status ? { status } : {}),
    ...(query.type ? { type: query.type } : {}),
  };
  const q = query.q?.trim() ?? "";
  const cursor = query.cursor || null;
  if (q === "") return await queue.list({ ...base, cursor });
  const [mode, after] = cursor === null ? ["", null] : [
    cursor.slice(0, cursor.indexOf(":")),
    cursor.slice(cursor.indexOf(":") + 1),
  ];
  if (mode === "") {
    const job = await getJob(queue, q);
    if (
      job && (!status || job.status === status) &&
      (!query.type || job.type === query.type)
    ) {
      return { jobs: [job], cursor: null };
    }
  }
  if ((mode === "" || mode === "type") && NAME.test(q) && !query.type) {
    const page = await queue.list({ ...base, type: q, cursor: after });
    if (page.jobs.length > 0 || mode === "type") {
      return { jobs: page.jobs, cursor: page.cursor && `type:${page.cursor}` };
    }
  }
  return await scanKeys(queue, q, base, mode === "key" ? after : null);
}

/** Reads jobs from `after` on until `limit` have a key holding `q`. */
async function scanKeys(
  queue: Queue,
  q: string,
  base: { limit: number; status?: Job["status"]; type?: string },
  after: string | null,
): Promise<JobPage> {
  const jobs: Job[] = [];
  let scanned = 0;
  let cursor = after;
  do {
    const page = await queue.list({ ...base, limit: SCAN_PAGE, cursor });
    for (const job of page.jobs) {
      scanned++;
      cursor = job.id;
      if (job.key?.includes(q)) jobs.push(job);
      if (jobs.length === base.limit) break;
    }
    if (page.cursor === null && jobs.length < base.limit) {
      return { jobs, cursor: null, scanned };
    }
  } while (jobs.length < base.limit && scanned < KEY_SCAN);
  return { jobs, cursor: `key:${cursor}`, scanned };
}

/** A job, or a 404. */
export async function jobOr404(queue: Queue, id: string): Promise<Job> {
  const job = await getJob(queue, id);
  if (job === null) {
    throw new HttpError(
      404,
      `no job ${JSON.stringify(id)} in queue ${queue.name}`,
    );
  }
  return job;
}

/** Retries, cancels or removes one job: whether it changed, or a 404. */
export async function jobAction(
  queue: Queue,
  id: string,
  action: "retry" | "cancel" | "remove",
): Promise<{ changed: boolean }> {
  await jobOr404(queue, id);
  const changed = action === "retry"
    ? await queue.retry(id)
    : action === "cancel"
    ? await queue.cancel(id, "cancelled from the dashboard")
    : await queue.remove(id);
  return { changed };
}

/** Puts every failed job (of one type, if given) back to pending. */
export async function retryFailed(
  queue: Queue,
  type: string | undefined,
): Promise<{ retried: number }> {
  let retried = 0;
  let cursor: string | null = null;
  do {
    const page: ListPage = await queue.list({
      status: "failed",
      limit: SCAN_PAGE,
      cursor,
      ...(type ? { type } : {}),
    });
    for (const job of page.jobs) if (await queue.retry(job.id)) retried++;
    cursor = page.cursor;
  } while (cursor !== null);
  return { retried };
}

/** Reads `{ type? }` from a POST body. */
export function typeOf(body: Record<string, unknown>): string | undefined {
  const { type } = body;
  if (type === undefined || type === null || type === "") return undefined;
  if (typeof type !== "string") {
    throw new HttpError(400, '"type" must be a string');
  }
  return type;
}

/** Pauses or resumes the queue, or one type. */
export async function setPaused(
  queue: Queue,
  pause: boolean,
  body: Record<string, unknown>,
): Promise<{ changed: boolean; paused: boolean; type?: string }> {
  const type = typeOf(body);
  const changed = pause ? await queue.pause(type) : await queue.resume(type);
  return { changed, paused: pause, ...(type ? { type } : {}) };
}

/** Cleans per `{ status, olderThan?, type?, limit? }`. */
export async function cleanJobs(
  queue: Queue,
  body: Record<string, unknown>,
): Promise<{ removed: number }> {
  const removed = await queue.clean(body as unknown as CleanOptions);
  return { removed };
}
