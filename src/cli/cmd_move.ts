/**
 * The CLI's commands on schedules and on moving a queue: `schedules` (the
 * queue's schedules with their next occurrence) and `migrate FROM_URL
 * TO_URL` (copy or move a queue to another backend with `migrate()`, a
 * progress bar on a terminal, and the report).
 *
 * @module
 */

import { migrate, type MigrateStatus } from "../migrate.ts";
import { checkStatus } from "../validate.ts";
import { printable, table, time, toJson } from "./format.ts";
import { open } from "./open.ts";
import { startProgress } from "./progress.ts";
import { type Command, Failure, UsageError } from "./types.ts";

const schedules: Command = {
  usage: "",
  summary: "list the queue's schedules and their next occurrence",
  args: [0, 0],
  options: {},
  async run(ctx) {
    const list = await ctx.queue.schedules();
    if (ctx.json) {
      ctx.print(toJson(list));
      return 0;
    }
    if (list.length === 0) {
      ctx.note("no schedules");
      return 0;
    }
    ctx.print(table(
      ["NAME", "WHEN", "TYPE", "NEXT RUN"],
      list.map((s) => [
        printable(s.name),
        printable(
          s.cron !== undefined
            ? `cron ${s.cron}${s.tz === undefined ? "" : ` (${s.tz})`}`
            : `every ${s.every} ms`,
        ),
        printable(s.type),
        time(s.nextRunAt),
      ]),
    ));
    return 0;
  },
};

const migrateCommand: Command = {
  usage: "FROM_URL TO_URL",
  summary: "copy (or --move) the queue's jobs to another backend",
  args: [2, 2],
  options: {
    "to-queue": {
      type: "string",
      value: "NAME",
      help: "the target queue's name (default: the same as --queue)",
    },
    statuses: {
      type: "string",
      value: "LIST",
      help: "statuses to copy, comma-separated (default: pending)",
    },
    move: {
      type: "boolean",
      help: "remove the copied jobs from the source once verified",
    },
  },
  async standalone(ctx) {
    const [fromUrl, toUrl] = ctx.args as [string, string];
    const name = String(ctx.values.queue ?? "default");
    const statuses = statusesOf(ctx.values.statuses);
    const from = open(ctx.io, fromUrl, name);
    let to;
    try {
      to = open(ctx.io, toUrl, String(ctx.values["to-queue"] ?? name));
    } catch (err) {
      await from.close();
      throw err;
    }
    try {
      const total = statuses.length === 1 && statuses[0] === "pending"
        ? (await from.stats()).pending
        : 0;
      const bar = startProgress(ctx.io, "copying", total);
      let seen = 0;
      const report = await migrate({
        from,
        to,
        statuses,
        mode: ctx.values.move === true ? "move" : "copy",
        onProgress: ({ read }) => {
          bar.add(read - seen);
          seen = read;
        },
      }).finally(() => bar.done());
      if (ctx.json) ctx.print(toJson(report));
      else {
        ctx.print(
          `copied ${report.copied}, skipped ${report.skipped} (processing ${report.skippedBy.processing}, waiting ${report.skippedBy.waiting}, already there ${report.skippedBy.exists}, key held ${report.skippedBy.keyHeld}, of a flow ${report.skippedBy.flow}, past keep time ${report.skippedBy.expired}), verified ${
            report.verified ? "yes" : "no"
          }, removed ${report.removed}`,
        );
      }
      if (report.error !== undefined) {
        throw new Failure(`migrate stopped: ${report.error}`);
      }
      if (!report.verified) {
        throw new Failure("migrate could not verify the copy");
      }
      return 0;
    } finally {
      await Promise.all([from.close(), to.close()]);
    }
  },
};

/** The `--statuses` list. */
function statusesOf(value: unknown): MigrateStatus[] {
  if (value === undefined) return ["pending"];
  const list = String(value).split(",").map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new UsageError("--statuses is empty");
  return list.map((s) => {
    const status = checkStatus(s, "migrate");
    if (status === "processing" || status === "waiting") {
      throw new UsageError(`${status} jobs are never copied`);
    }
    return status;
  });
}

/** The commands of this file, by name. */
export const MOVE_COMMANDS: Record<string, Command> = {
  schedules,
  migrate: migrateCommand,
};
