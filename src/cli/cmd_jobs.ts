/**
 * The CLI's commands on single jobs and lists of them: `list`, `get`,
 * `enqueue`, `cancel` and `remove`. Each checks its values (a bad one is a
 * UsageError), makes its queue calls and prints a table or JSON; an
 * operation that did not happen (an unknown id) is a Failure.
 *
 * @module
 */

import type { EnqueueOptions, ListOptions } from "../queue_types.ts";
import type { Job, JobStatus, JsonValue, Priority } from "../types.ts";
import {
  parseDuration,
  parseInteger,
  parseJson,
  stringOption,
} from "./args.ts";
import { jobDetail, jobTable, toJson } from "./format.ts";
import {
  type Command,
  type CommandContext,
  Failure,
  UsageError,
} from "./types.ts";

/**
 * Why a call on job `id` changed nothing: the job is unknown, or its status
 * is not one the call works on.
 */
export async function whyNot(
  ctx: CommandContext,
  id: string,
  wanted: string,
): Promise<string> {
  const job = await ctx.queue.get(id);
  return job === null
    ? `no job ${JSON.stringify(id)} in queue ${ctx.queue.name}`
    : `job ${id} is ${job.status}, not ${wanted}`;
}

const list: Command = {
  usage: "",
  summary: "list jobs, oldest first, a page at a time",
  args: [0, 0],
  options: {
    status: { type: "string", value: "S", help: "only jobs of this status" },
    type: { type: "string", value: "T", help: "only jobs of this type" },
    limit: {
      type: "string",
      value: "N",
      help: "at most N jobs (1..10000, default 100)",
    },
    cursor: {
      type: "string",
      value: "C",
      help: "read on from the cursor a previous page printed",
    },
  },
  async run(ctx) {
    const { values } = ctx;
    const options: ListOptions = {};
    const status = stringOption(values, "status");
    const type = stringOption(values, "type");
    const limit = stringOption(values, "limit");
    const cursor = stringOption(values, "cursor");
    if (status !== undefined) options.status = status as JobStatus;
    if (type !== undefined) options.type = type;
    if (limit !== undefined) {
      options.limit = parseInteger(limit, "--limit", 1, 10_000);
    }
    if (cursor !== undefined) options.cursor = cursor;
    const page = await ctx.queue.list(options);
    if (ctx.json) {
      ctx.print(toJson(page));
      return 0;
    }
    ctx.print(page.jobs.length ? jobTable(page.jobs) : "no jobs");
    if (page.cursor !== null) {
      ctx.note(`more: --cursor ${page.cursor}`);
    }
    return 0;
  },
};

const get: Command = {
  usage: "ID",
  summary: "show a job: data, result, error with stack, timestamps",
  args: [1, 1],
  options: {},
  async run(ctx) {
    const id = ctx.args[0]!;
    const job = await ctx.queue.get(id);
    if (job === null) {
      throw new Failure(
        `no job ${JSON.stringify(id)} in queue ${ctx.queue.name}`,
      );
    }
    ctx.print(ctx.json ? toJson(job) : jobDetail(job as Job));
    return 0;
  },
};

function parsePriority(text: string): Priority {
  if (text === "low" || text === "normal" || text === "high") return text;
  try {
    return parseInteger(text, "--priority", 1, 100);
  } catch {
    throw new UsageError(
      `bad value for --priority: ${
        JSON.stringify(text)
      } (1..100, low, normal or high)`,
    );
  }
}

/** The enqueue options given on the command line. */
function enqueueOptions(ctx: CommandContext): EnqueueOptions {
  const v = (name: string) => stringOption(ctx.values, name);
  const o: EnqueueOptions = {};
  const priority = v("priority");
  const delay = v("delay");
  const key = v("key");
  const ttl = v("ttl");
  const attempts = v("max-attempts");
  const timeout = v("timeout");
  const metadata = v("metadata");
  if (priority !== undefined) o.priority = parsePriority(priority);
  if (delay !== undefined) o.delay = parseDuration(delay, "--delay");
  if (key !== undefined) o.key = key;
  if (ttl !== undefined) {
    const seconds = parseDuration(ttl, "--ttl") / 1000;
    if (seconds < 1) throw new UsageError("bad value for --ttl: at least 1s");
    o.ttl = Math.round(seconds);
  }
  if (attempts !== undefined) {
    o.maxAttempts = parseInteger(attempts, "--max-attempts", 1, 1_000_000);
  }
  if (timeout !== undefined) o.timeout = parseDuration(timeout, "--timeout");
  if (metadata !== undefined) {
    const m = parseJson(metadata, "--metadata");
    if (m === null || typeof m !== "object" || Array.isArray(m)) {
      throw new UsageError("bad value for --metadata: a JSON object");
    }
    o.metadata = m;
  }
  return o;
}

const enqueue: Command = {
  usage: "TYPE [JSON]",
  summary:
    "add a job (data: a JSON value, default null; after -- when it starts with -, as in -- -1); prints its id",
  args: [1, 2],
  options: {
    priority: {
      type: "string",
      value: "P",
      help: "1..100, low, normal (default) or high",
    },
    delay: {
      type: "string",
      value: "DURATION",
      help: "run no sooner than this",
    },
    key: { type: "string", value: "KEY", help: "idempotency key" },
    ttl: {
      type: "string",
      value: "DURATION",
      help: "gone this long after creation",
    },
    "max-attempts": {
      type: "string",
      value: "N",
      help: "claims before it fails for good",
    },
    timeout: {
      type: "string",
      value: "DURATION",
      help: "the most one attempt may run",
    },
    metadata: {
      type: "string",
      value: "JSON",
      help: "a JSON object stored with the job",
    },
  },
  async run(ctx) {
    const [type, text] = ctx.args as [string, string | undefined];
    const data: JsonValue = text === undefined ? null : parseJson(text, "data");
    const id = await ctx.queue.enqueue(type, data, enqueueOptions(ctx));
    ctx.print(ctx.json ? toJson({ id }) : id);
    return 0;
  },
};

const cancel: Command = {
  usage: "ID",
  summary: "cancel a waiting, pending or processing job",
  args: [1, 1],
  options: {
    reason: { type: "string", value: "TEXT", help: "why (the job's message)" },
  },
  async run(ctx) {
    const id = ctx.args[0]!;
    const reason = stringOption(ctx.values, "reason");
    const done = reason === undefined
      ? await ctx.queue.cancel(id)
      : await ctx.queue.cancel(id, reason);
    if (!done) {
      throw new Failure(
        await whyNot(ctx, id, "waiting, pending or processing"),
      );
    }
    ctx.print(ctx.json ? toJson({ id, cancelled: true }) : `cancelled ${id}`);
    return 0;
  },
};

const remove: Command = {
  usage: "ID",
  summary: "delete a job, whatever its status",
  args: [1, 1],
  options: {},
  async run(ctx) {
    const id = ctx.args[0]!;
    if (!(await ctx.queue.remove(id))) {
      throw new Failure(
        `no job ${JSON.stringify(id)} in queue ${ctx.queue.name}`,
      );
    }
    ctx.print(ctx.json ? toJson({ id, removed: true }) : `removed ${id}`);
    return 0;
  },
};

/** The commands of this file, by name. */
export const JOB_COMMANDS: Record<string, Command> = {
  list,
  get,
  enqueue,
  cancel,
  remove,
};
