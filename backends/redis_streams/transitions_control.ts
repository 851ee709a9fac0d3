/**
 * The flow-control transitions of the Redis Streams backend (pause,
 * resume, reschedule): each one script call (lua_control.ts), arguments built
 * and reply decoded here. The claim script reads the pause set itself.
 *
 * @module
 */

import { pausedStateOf } from "../../src/backend/paused.ts";
import type { Runner } from "./scripts.ts";
import { byId } from "./transitions.ts";

/** Pauses or resumes the queue (`type` null) or a type; true if it changed. */
export async function setPaused(
  r: Runner,
  queue: string,
  type: string | null,
  paused: boolean,
  now: number,
): Promise<boolean> {
  const reply = await r.run("setPaused", {
    queue,
    now,
    types: [],
    args: [type ?? "", paused ? "1" : "0"],
  });
  return Number(reply) === 1;
}

/** Whether the queue is paused, and its paused types. */
export async function pausedState(
  r: Runner,
  queue: string,
  now: number,
): Promise<{ queue: boolean; types: string[] }> {
  const reply = await r.run("pausedState", {
    queue,
    now,
    types: [],
    args: [],
  }) as unknown[];
  return pausedStateOf(reply);
}

/** Moves a live pending job to a new runAt and/or priority. */
export async function rescheduleJob(
  r: Runner,
  queue: string,
  id: string,
  { runAt, priority, now }: { runAt?: number; priority?: number; now: number },
): Promise<boolean> {
  const args = [
    id,
    runAt === undefined ? "" : String(runAt),
    priority === undefined ? "" : String(priority),
  ];
  const reply = await byId(
    r,
    queue,
    id,
    (type) => r.run("reschedule", { queue, now, types: [type], args }),
  );
  return Number(reply) === 1;
}
