/**
 * The table of the CLI's commands, in the order the help lists them. A
 * command lives in the file of its group (cmd_queue.ts, cmd_jobs.ts,
 * cmd_flows.ts, cmd_limits.ts, cmd_bulk.ts, cmd_move.ts, cmd_dashboard.ts);
 * this file only names them.
 *
 * @module
 */

import { BULK_COMMANDS } from "./cmd_bulk.ts";
import { DASHBOARD_COMMANDS } from "./cmd_dashboard.ts";
import { FLOW_COMMANDS } from "./cmd_flows.ts";
import { LIMIT_COMMANDS } from "./cmd_limits.ts";
import { JOB_COMMANDS } from "./cmd_jobs.ts";
import { MOVE_COMMANDS } from "./cmd_move.ts";
import { QUEUE_COMMANDS } from "./cmd_queue.ts";
import type { Command } from "./types.ts";

/** Every command of the CLI, by name. */
export const COMMANDS: Record<string, Command> = {
  stats: QUEUE_COMMANDS.stats!,
  list: JOB_COMMANDS.list!,
  get: JOB_COMMANDS.get!,
  enqueue: JOB_COMMANDS.enqueue!,
  retry: BULK_COMMANDS.retry!,
  cancel: JOB_COMMANDS.cancel!,
  remove: JOB_COMMANDS.remove!,
  clean: BULK_COMMANDS.clean!,
  flow: FLOW_COMMANDS.flow!,
  "cancel-flow": FLOW_COMMANDS["cancel-flow"]!,
  pause: QUEUE_COMMANDS.pause!,
  resume: QUEUE_COMMANDS.resume!,
  limits: LIMIT_COMMANDS.limits!,
  tail: QUEUE_COMMANDS.tail!,
  schedules: MOVE_COMMANDS.schedules!,
  dashboard: DASHBOARD_COMMANDS.dashboard!,
  migrate: MOVE_COMMANDS.migrate!,
};
