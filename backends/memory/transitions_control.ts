/**
 * The flow-control transitions of the memory backend: pause and resume (the
 * paused set that `next` in heap.ts consults at each claim) and reschedule
 * of a pending job. Like transitions.ts, none reads a clock of its own.
 *
 * @module
 */

import { pausedSignal, publish, wake } from "./events.ts";
import { live, schedule, type State, unschedule } from "./heap.ts";

/** Pauses or resumes the queue (`type` null) or a type; true if it changed. */
export function setPaused(
  s: State,
  type: string | null,
  paused: boolean,
  now: number,
): boolean {
  const member = type ?? "";
  if (s.paused.has(member) === paused) return false;
  if (paused) {
    s.paused.add(member);
    pausedSignal(s, type);
  } else {
    s.paused.delete(member);
    wake(s, now);
  }
  return true;
}

/** Whether the queue is paused, and its paused types. */
export function pausedState(s: State): { queue: boolean; types: string[] } {
  return {
    queue: s.paused.has(""),
    types: [...s.paused].filter((t) => t !== ""),
  };
}

/**
 * Moves a live pending job to a new runAt and/or priority; its sequence
 * (its place among equals) stays.
 */
export function rescheduleJob(
  s: State,
  id: string,
  change: { runAt?: number; priority?: number; now: number },
): boolean {
  const { runAt = undefined, priority = undefined, now } = change;
  const rec = live(s, id, now);
  if (rec === undefined || rec.status !== "pending") return false;
  const newRunAt = runAt ?? rec.runAt;
  const newPriority = priority ?? rec.priority;
  if (newRunAt === rec.runAt && newPriority === rec.priority) return false;
  const earlier = newRunAt < rec.runAt;
  unschedule(s, rec); // out of its heap before its key changes
  rec.runAt = newRunAt;
  rec.priority = newPriority;
  rec.version++;
  rec.updatedAt = now;
  schedule(s, rec, now);
  publish(s, rec);
  if (earlier) wake(s, newRunAt);
  return true;
}
