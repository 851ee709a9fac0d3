/**
 * The schedule transitions of the Redis backend (SPEC §8): put, remove,
 * list, and fire, which moves a schedule on and enqueues its job in one
 * script call, only if the schedule still has the version the caller read
 * (the scripts are in lua_schedule.ts; fire stores its job through the
 * enqueue helper, as enqueue does). Arguments are built and replies decoded
 * here; like transitions.ts, nothing here touches a key itself.
 *
 * @module
 */

import type {
  EnqueueOutcome,
  ScheduleFire,
  ScheduleRecord,
} from "../../src/backend/interface.ts";
import { enqueueEntry } from "./records.ts";
import type { Scripts } from "./transitions.ts";

/** Reads a stored schedule value, `<version> <nextRunAt> <definition>`. */
function scheduleOf(name: string, value: unknown): ScheduleRecord {
  const text = String(value);
  const a = text.indexOf(" ");
  const b = text.indexOf(" ", a + 1);
  return {
    name,
    definition: text.slice(b + 1),
    nextRunAt: Number(text.slice(a + 1, b)),
    version: Number(text.slice(0, a)),
  };
}

/** Creates or replaces a schedule; one stored as it is stays untouched. */
export async function putSchedule(
  s: Scripts,
  queue: string,
  { name, definition, nextRunAt }: Omit<ScheduleRecord, "version">,
  now: number,
): Promise<ScheduleRecord> {
  const reply = await s.run("putSchedule", queue, [
    String(now),
    name,
    definition,
    String(nextRunAt),
  ]);
  return scheduleOf(name, reply);
}

/** Deletes a schedule; true if it existed. */
export async function removeSchedule(
  s: Scripts,
  queue: string,
  name: string,
  now: number,
): Promise<boolean> {
  return Number(
    await s.run("removeSchedule", queue, [String(now), name]),
  ) === 1;
}

/** Every schedule by name, or those due by `dueBy`, soonest first. */
export async function listSchedules(
  s: Scripts,
  queue: string,
  dueBy: number | null,
  now: number,
): Promise<ScheduleRecord[]> {
  const reply = await s.run("listSchedules", queue, [
    String(now),
    dueBy === null ? "" : String(dueBy),
  ]) as unknown[];
  const out: ScheduleRecord[] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) {
    out.push(scheduleOf(String(reply[i]), reply[i + 1]));
  }
  if (dueBy === null) {
    out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  return out;
}

/**
 * Fires a schedule at the version the caller read: moves it to its next
 * occurrence and enqueues its job, in one script call. Null when the
 * schedule is gone or changed since (another process fired or replaced it).
 */
export async function fireSchedule(
  s: Scripts,
  queue: string,
  { name, version, nextRunAt, job }: ScheduleFire,
  now: number,
): Promise<EnqueueOutcome | null> {
  const reply = await s.run("fireSchedule", queue, [
    String(now),
    name,
    String(version),
    String(nextRunAt),
    enqueueEntry(job),
    job.key ?? "",
  ]);
  if (!Array.isArray(reply)) return null;
  return reply.length >= 2
    ? { id: String(reply[1]), created: false }
    : { id: job.id, created: true };
}
