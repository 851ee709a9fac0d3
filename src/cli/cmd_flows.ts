/**
 * The CLI's commands on flows (SPEC §12): `flow ID` prints a flow's jobs
 * with their statuses and parents, `cancel-flow ID` cancels its unfinished
 * jobs. An unknown flow is a Failure.
 *
 * @module
 */

import { stringOption } from "./args.ts";
import { table, toJson } from "./format.ts";
import { type Command, Failure } from "./types.ts";

const flow: Command = {
  usage: "ID",
  summary: "show a flow: its jobs, their statuses and parents",
  args: [1, 1],
  options: {},
  async run(ctx) {
    const id = ctx.args[0]!;
    const state = await ctx.queue.getFlow(id);
    if (state === null) {
      throw new Failure(
        `no flow ${JSON.stringify(id)} in queue ${ctx.queue.name}`,
      );
    }
    if (ctx.json) {
      ctx.print(toJson(state));
      return 0;
    }
    ctx.print(table(
      ["REF", "ID", "STATUS", "AFTER"],
      state.jobs.map((j) => [j.ref, j.id, j.status, j.dependsOn.join(",")]),
    ));
    return 0;
  },
};

const cancelFlow: Command = {
  usage: "ID",
  summary: "cancel every waiting, pending or processing job of a flow",
  args: [1, 1],
  options: {
    reason: { type: "string", value: "TEXT", help: "why (the jobs' error)" },
  },
  async run(ctx) {
    const id = ctx.args[0]!;
    const reason = stringOption(ctx.values, "reason");
    const done = await ctx.queue.cancelFlow(id, reason);
    if (!done) {
      const state = await ctx.queue.getFlow(id);
      throw new Failure(
        state === null
          ? `no flow ${JSON.stringify(id)} in queue ${ctx.queue.name}`
          : `flow ${id} has no unfinished job`,
      );
    }
    ctx.print(
      ctx.json ? toJson({ id, cancelled: true }) : `cancelled flow ${id}`,
    );
    return 0;
  },
};

/** The commands of this file, by name. */
export const FLOW_COMMANDS: Record<string, Command> = {
  flow,
  "cancel-flow": cancelFlow,
};
