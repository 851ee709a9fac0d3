/**
 * The CLI's commands on a whole queue: `stats` (counts by status and type,
 * and pause state), `pause [TYPE]`, `resume [TYPE]`, and `tail [ID]`, which
 * prints live updates from `subscribe()` until the signal of the run aborts
 * (Ctrl-C) or, given a job, until that job ends.
 *
 * @module
 */

import { JobNotFoundError } from "../errors.ts";
import { subscribe } from "../subscribe.ts";
import type { JobUpdate, QueueStats } from "../types.ts";
import { percent, printable, table, time, toJson } from "./format.ts";
import { type Command, type CommandContext, Failure } from "./types.ts";

/** The statuses in the order a person reads them; others follow. */
const ORDER = [
  "pending",
  "waiting",
  "processing",
  "complete",
  "failed",
  "cancelled",
];

/** The statuses the stats hold (a newer library may count more). */
function statuses(stats: QueueStats): string[] {
  const counted = Object.keys(stats).filter((k) =>
    typeof (stats as unknown as Record<string, unknown>)[k] === "number"
  );
  return [
    ...ORDER.filter((s) => counted.includes(s)),
    ...counted.filter((s) => !ORDER.includes(s)),
  ];
}

const stats: Command = {
  usage: "",
  summary: "count jobs by status and type; show what is paused",
  args: [0, 0],
  options: {},
  async run(ctx) {
    const { queue } = ctx;
    const [counts, paused, pausedTypes] = await Promise.all([
      queue.stats(),
      queue.isPaused(),
      queue.pausedTypes(),
    ]);
    const types = Object.keys(counts.byType).sort();
    // The table shows whether each type is claimed: paused on its own, or
    // with the whole queue.
    const typePaused = types.map((t) => paused || pausedTypes.includes(t));
    if (ctx.json) {
      ctx.print(
        toJson({ queue: queue.name, paused, pausedTypes, stats: counts }),
      );
      return 0;
    }
    const cols = statuses(counts);
    const row = (name: string, c: Record<string, number>, p: boolean) => [
      name,
      ...cols.map((s) => String(c[s] ?? 0)),
      p ? "yes" : "no",
    ];
    ctx.print(`queue ${printable(queue.name)}${paused ? " (paused)" : ""}`);
    ctx.print(table(
      ["TYPE", ...cols.map((s) => s.toUpperCase()), "PAUSED"],
      [
        row("(all)", counts as unknown as Record<string, number>, paused),
        ...types.map((t, i) =>
          row(
            t,
            counts.byType[t] as unknown as Record<string, number>,
            typePaused[i]!,
          )
        ),
      ],
    ));
    return 0;
  },
};

/** `pause` and `resume`: one command each, the same shape. */
function pauseCommand(pause: boolean): Command {
  const verb = pause ? "pause" : "resume";
  return {
    usage: "[TYPE]",
    summary: `${verb} the whole queue, or one job type`,
    args: [0, 1],
    options: {},
    async run(ctx) {
      const { queue } = ctx;
      const type = ctx.args[0];
      const changed = pause
        ? await queue.pause(type)
        : await queue.resume(type);
      const what = type === undefined
        ? `queue ${queue.name}`
        : `type ${type} of queue ${queue.name}`;
      if (ctx.json) {
        ctx.print(toJson({
          queue: queue.name,
          ...(type === undefined ? {} : { type }),
          paused: pause,
          changed,
        }));
      } else {
        const done = pause ? "paused" : "resumed";
        ctx.print(
          printable(
            changed
              ? `${done} ${what}`
              : `${what} was ${pause ? "already" : "not"} paused`,
          ),
        );
      }
      return 0;
    },
  };
}

/** One update as a line for people. */
function updateLine(u: JobUpdate): string {
  const parts = [time(u.at), u.jobId, u.type, u.status, percent(u.progress)];
  if (u.message) parts.push(u.message);
  if (u.status === "failed" && u.error) parts.push(`error: ${u.error.message}`);
  return parts.map(printable).join("  ");
}

/** Follows one job to its end: exit 0 if it completes, 1 if not. */
async function tailJob(ctx: CommandContext, id: string): Promise<number> {
  const { signal } = ctx.io;
  let last: JobUpdate | undefined;
  try {
    for await (
      const u of subscribe(ctx.queue, id, {
        ifMissing: "throw",
        ...(signal ? { signal } : {}),
      })
    ) {
      ctx.print(ctx.json ? toJson(u, 0) : updateLine(u));
      last = u;
    }
  } catch (err) {
    if (err instanceof JobNotFoundError) {
      throw new Failure(
        last === undefined
          ? `no job ${JSON.stringify(id)} in queue ${ctx.queue.name}`
          : `job ${id} was removed before it ended`,
      );
    }
    throw err;
  }
  if (signal?.aborted || last === undefined || last.status === "complete") {
    return 0;
  }
  ctx.note(`job ${id} ended ${last.status}`);
  return 1;
}

const tail: Command = {
  usage: "[ID]",
  summary:
    "print live updates: of one job until it ends, or of the queue until Ctrl-C",
  args: [0, 1],
  options: {},
  async run(ctx) {
    const id = ctx.args[0];
    if (id !== undefined) return await tailJob(ctx, id);
    const { signal } = ctx.io;
    for await (
      const u of subscribe(ctx.queue, undefined, signal ? { signal } : {})
    ) {
      ctx.print(ctx.json ? toJson(u, 0) : updateLine(u));
    }
    return 0;
  },
};

/** The commands of this file, by name. */
export const QUEUE_COMMANDS: Record<string, Command> = {
  stats,
  pause: pauseCommand(true),
  resume: pauseCommand(false),
  tail,
};
