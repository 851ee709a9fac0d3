/**
 * The schedule transitions of the memory backend (SPEC §8): put, remove,
 * list, and fire, which moves a schedule on and enqueues its job in one
 * step, only if the schedule still has the version the caller read. A
 * (queue, name) never has the same version twice, even across remove and
 * re-create: a new schedule starts above the highest version a removed
 * schedule of the queue had (`removedVersions`), so a fire that read the
 * old one finds another version. Like transitions.ts, none reads a clock of
 * its own.
 *
 * @module
 */

import type {
  EnqueueOutcome,
  ScheduleFire,
  ScheduleRecord,
} from "../../src/backend/interface.ts";
import type { State } from "./heap.ts";
import { enqueueJobs } from "./transitions.ts";

/**
 * The highest version a removed schedule of each queue had: only grows.
 * Kept beside the queue's state rather than in it, as only these
 * transitions read it.
 */
const removedVersions = new WeakMap<State, number>();

/**
 * Creates or replaces a schedule; one stored as it is stays untouched. A
 * new one gets the version after every removed one's, a replaced one the
 * old version + 1.
 */
export function putSchedule(
  s: State,
  put: Omit<ScheduleRecord, "version">,
): ScheduleRecord {
  const old = s.schedules.get(put.name);
  if (old !== undefined && old.definition === put.definition) return { ...old };
  const version = (old?.version ?? removedVersions.get(s) ?? 0) + 1;
  const rec = { ...put, version };
  s.schedules.set(put.name, rec);
  return { ...rec };
}

/** Deletes a schedule, keeping its version's mark; true if it existed. */
export function removeSchedule(s: State, name: string): boolean {
  const rec = s.schedules.get(name);
  if (rec === undefined) return false;
  s.schedules.delete(name);
  removedVersions.set(s, Math.max(removedVersions.get(s) ?? 0, rec.version));
  return true;
}

/** Every schedule by name, or those due by `dueBy` by next occurrence. */
export function listSchedules(
  s: State,
  dueBy: number | null,
): ScheduleRecord[] {
  const all = [...s.schedules.values()].map((r) => ({ ...r }));
  if (dueBy === null) {
    return all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  return all.filter((r) => r.nextRunAt <= dueBy).sort((a, b) =>
    a.nextRunAt - b.nextRunAt
  );
}

/**
 * Fires a schedule at the version the caller read: moves it to its next
 * occurrence and enqueues its job. Null when the schedule is gone or
 * changed since (another process fired or replaced it).
 */
export function fireSchedule(
  s: State,
  fire: ScheduleFire,
  now: number,
): EnqueueOutcome | null {
  const rec = s.schedules.get(fire.name);
  if (rec === undefined || rec.version !== fire.version) return null;
  rec.nextRunAt = fire.nextRunAt;
  rec.version++;
  return enqueueJobs(s, [fire.job], now)[0]!;
}
