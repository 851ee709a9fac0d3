/**
 * The schedule transitions of the Redis Streams backend (SPEC §8): put,
 * remove, list, and fire, which moves a schedule on and enqueues its job in
 * one script call, only if the schedule still has the version the caller
 * read (lua_schedule.ts, lua_enqueue.ts).
 *
 * @module
 */

import type {
  EnqueueOutcome,
  ScheduleFire,
  ScheduleRecord,
} from "../../src/backend/interface.ts";
import { enqueueArgs } from "./records.ts";
import type { Runner } from "./scripts.ts";

/** Reads a stored schedule: `<version>\n<nextRunAt>\n<definition>`. */
function scheduleOf(name: string, value: string): ScheduleRecord {
  const a = value.indexOf("\n");
  const b = value.indexOf("\n", a + 1);
  return {
    name,
    version: Number(value.slice(0, a)),
    nextRunAt: Number(value.slice(a + 1, b)),
    definition: value.slice(b + 1),
  };
}

/** Creates or replaces a schedule; one stored as it is stays untouched. */
export async function putSchedule(
  r: Runner,
  queue: string,
  { name, definition, nextRunAt }: Omit<ScheduleRecord, "version">,
  now: number,
): Promise<ScheduleRecord> {
  const [version, next, def] = await r.run("putSchedule", {
    queue,
    now,
    types: [],
    args: [name, definition, String(nextRunAt)],
  }) as [string, string, string];
  return {
    name,
    version: Number(version),
    nextRunAt: Number(next),
    definition: String(def),
  };
}

/** Deletes a schedule; true if it existed. */
export async function removeSchedule(
  r: Runner,
  queue: string,
  name: string,
  now: number,
): Promise<boolean> {
  const reply = await r.run("removeSchedule", {
    queue,
    now,
    types: [],
    args: [name],
  });
  return Number(reply) === 1;
}

/** Every schedule by name, or those due by `dueBy`, soonest first. */
export async function listSchedules(
  r: Runner,
  queue: string,
  dueBy: number | null,
  now: number,
): Promise<ScheduleRecord[]> {
  const reply = await r.run("schedules", {
    queue,
    now,
    types: [],
    args: [dueBy === null ? "" : String(dueBy)],
  }) as unknown[];
  const out: ScheduleRecord[] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) {
    out.push(scheduleOf(String(reply[i]), String(reply[i + 1])));
  }
  if (dueBy === null) {
    out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  return out;
}

/** Fires a schedule at the version the caller read; null when it moved on. */
export async function fireSchedule(
  r: Runner,
  queue: string,
  { name, version, nextRunAt, job }: ScheduleFire,
  now: number,
): Promise<EnqueueOutcome | null> {
  const reply = await r.run("fireSchedule", {
    queue,
    now,
    types: [job.type],
    args: [name, String(version), String(nextRunAt), ...enqueueArgs([job])],
  });
  if (!Array.isArray(reply)) return null;
  return Number(reply[0]) === 1
    ? { id: job.id, created: true }
    : { id: String(reply[1]), created: false };
}
