/**
 * The CLI's commands over many jobs: `retry ID...`, `retry --failed` (every
 * failed job, paged through `list` by cursor, which is safe while the pages
 * change since a cursor is the last id read) and `clean` (in batches, so a
 * terminal can show progress). Both draw a progress bar on a terminal.
 *
 * @module
 */

import type { CleanOptions } from "../control_types.ts";
import type { Queue } from "../queue_types.ts";
import type { JobStatus } from "../types.ts";
import { parseDuration, parseInteger, stringOption } from "./args.ts";
import { printable, toJson } from "./format.ts";
import { startProgress } from "./progress.ts";
import { whyNot } from "./cmd_jobs.ts";
import { type Command, type CommandContext, UsageError } from "./types.ts";

/** Jobs read per page, and retried at once within a page. */
const PAGE = 500;
const AT_ONCE = 16;
/** Jobs removed per clean call, between two redraws of the bar. */
const CLEAN_BATCH = 1_000;

/** How many jobs of a status (and type) the queue holds. */
async function countOf(
  queue: Queue,
  status: JobStatus,
  type: string | undefined,
): Promise<number> {
  const stats = await queue.stats();
  const counts = type === undefined ? stats : stats.byType[type];
  return (counts as Record<string, number> | undefined)?.[status] ?? 0;
}

/** Retries every failed job (of a type); returns how many went back. */
async function retryFailed(
  ctx: CommandContext,
  type: string | undefined,
): Promise<number> {
  const { queue } = ctx;
  const bar = startProgress(
    ctx.io,
    "retrying",
    await countOf(queue, "failed", type),
  );
  let retried = 0;
  let cursor: string | null = null;
  try {
    do {
      const page = await queue.list({
        status: "failed",
        limit: PAGE,
        cursor,
        ...(type === undefined ? {} : { type }),
      });
      for (let i = 0; i < page.jobs.length; i += AT_ONCE) {
        const chunk = page.jobs.slice(i, i + AT_ONCE);
        const done = await Promise.all(chunk.map((j) => queue.retry(j.id)));
        retried += done.filter(Boolean).length;
        bar.add(chunk.length);
      }
      cursor = page.cursor;
    } while (cursor !== null);
  } finally {
    bar.done();
  }
  return retried;
}

/** Retries the jobs named; prints why for each that did not go back. */
async function retryIds(ctx: CommandContext): Promise<number> {
  const missed: { id: string; reason: string }[] = [];
  const retried: string[] = [];
  for (const id of ctx.args) {
    if (await ctx.queue.retry(id)) retried.push(id);
    else {missed.push({
        id,
        reason: await whyNot(ctx, id, "failed or cancelled"),
      });}
  }
  if (ctx.json) {
    ctx.print(
      toJson({ retried: retried.length, ids: retried, notRetried: missed }),
    );
  } else {
    for (const id of retried) ctx.print(`retried ${id}`);
  }
  for (const { reason } of missed) ctx.note(`jobline: cannot retry: ${reason}`);
  return missed.length ? 1 : 0;
}

const retry: Command = {
  usage: "ID... | --failed",
  summary: "put failed or cancelled jobs back to pending, attempts afresh",
  args: [0, Infinity],
  options: {
    failed: { type: "boolean", help: "retry every failed job of the queue" },
    type: { type: "string", value: "T", help: "with --failed: only this type" },
  },
  async run(ctx) {
    const failed = ctx.values.failed === true;
    const type = stringOption(ctx.values, "type");
    if (failed === (ctx.args.length > 0)) {
      throw new UsageError("retry takes job ids or --failed (one of the two)");
    }
    if (!failed && type !== undefined) {
      throw new UsageError("--type goes with retry --failed only");
    }
    if (!failed) return await retryIds(ctx);
    const n = await retryFailed(ctx, type);
    ctx.print(ctx.json ? toJson({ retried: n }) : `retried ${n} failed jobs`);
    return 0;
  },
};

const clean: Command = {
  usage: "--status S",
  summary: "remove the jobs of a status (not processing), by age",
  args: [0, 0],
  options: {
    status: {
      type: "string",
      value: "S",
      help: "pending, complete, failed or cancelled (required)",
    },
    "older-than": {
      type: "string",
      value: "DURATION",
      help:
        "only jobs finished (pending: created) this long ago: 90s, 15m, 1h, 7d",
    },
    type: { type: "string", value: "T", help: "only jobs of this type" },
    limit: { type: "string", value: "N", help: "remove at most N jobs" },
  },
  async run(ctx) {
    const status = stringOption(ctx.values, "status");
    if (status === undefined) throw new UsageError("clean needs --status");
    const older = stringOption(ctx.values, "older-than");
    const olderThan = older === undefined
      ? undefined
      : parseDuration(older, "--older-than");
    const type = stringOption(ctx.values, "type");
    const text = stringOption(ctx.values, "limit");
    const limit = text === undefined
      ? Infinity
      : parseInteger(text, "--limit", 1, Number.MAX_SAFE_INTEGER);
    const n = await cleanAll(
      ctx,
      status as CleanOptions["status"],
      olderThan,
      type,
      limit,
    );
    ctx.print(
      ctx.json
        ? toJson({ removed: n })
        : `removed ${n} ${printable(status)} jobs`,
    );
    return 0;
  },
};

/** Cleans in batches until a batch comes back short or `limit` is met. */
async function cleanAll(
  ctx: CommandContext,
  status: CleanOptions["status"],
  olderThan: number | undefined,
  type: string | undefined,
  limit: number,
): Promise<number> {
  const { queue } = ctx;
  // Without an age every job of the status goes: the count is the total.
  const total = olderThan === undefined
    ? Math.min(limit, await countOf(queue, status, type))
    : 0;
  const bar = startProgress(ctx.io, "removing", total);
  let removed = 0;
  try {
    while (removed < limit) {
      const batch = Math.min(CLEAN_BATCH, limit - removed);
      const n = await queue.clean({
        status,
        limit: batch,
        ...(olderThan === undefined ? {} : { olderThan }),
        ...(type === undefined ? {} : { type }),
      });
      removed += n;
      bar.add(n);
      if (n < batch) break;
    }
  } finally {
    bar.done();
  }
  return removed;
}

/** The commands of this file, by name. */
export const BULK_COMMANDS: Record<string, Command> = { retry, clean };
