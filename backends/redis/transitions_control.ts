/**
 * The flow-control transitions of the Redis backend (pause, resume,
 * reschedule): each one script call (lua_control.ts), arguments built and
 * reply decoded here. The claim script reads the pause set itself.
 *
 * @module
 */

import { pausedStateOf } from "../../src/backend/paused.ts";
import type { Scripts } from "./transitions.ts";

/** Pauses or resumes the queue (`type` null) or a type; true if it changed. */
export async function setPaused(
  s: Scripts,
  queue: string,
  type: string | null,
  paused: boolean,
  now: number,
): Promise<boolean> {
  const reply = await s.run("setPaused", queue, [
    String(now),
    type ?? "",
    paused ? "1" : "0",
  ]);
  return Number(reply) === 1;
}

/** Whether the queue is paused, and its paused types. */
export async function pausedState(
  s: Scripts,
  queue: string,
  now: number,
): Promise<{ queue: boolean; types: string[] }> {
  const reply = await s.run("pausedState", queue, [String(now)]) as unknown[];
  return pausedStateOf(reply);
}

/** Moves a live pending job to a new runAt and/or priority. */
export async function rescheduleJob(
  s: Scripts,
  queue: string,
  id: string,
  { runAt, priority, now }: { runAt?: number; priority?: number; now: number },
): Promise<boolean> {
  const reply = await s.run("reschedule", queue, [
    String(now),
    id,
    runAt === undefined ? "" : String(runAt),
    priority === undefined ? "" : String(priority),
  ]);
  return Number(reply) === 1;
}
