/**
 * Events of the memory backend: each change is delivered synchronously, in
 * process, through the backend's listener registry (the kit's). Every
 * function here first checks that anyone listens, so a queue nobody
 * watches builds no event at all (claim and complete are hot).
 *
 * @module
 */

import { updateRecordOf } from "../../src/codec.ts";
import type { State } from "./state.ts";
import type { Rec } from "./records.ts";

/** Tells the queue's and the job's listeners the job's new state. */
export function publish(s: State, rec: Rec): void {
  if (s.updateListeners === 0 || !s.listeners.wants(s.name, "update", rec.id)) {
    return;
  }
  s.listeners.deliver(s.name, { kind: "update", update: updateRecordOf(rec) });
}

/** Tells the queue's workers that a job is due at `at`. */
export function wake(s: State, at: number): void {
  const { listeners } = s;
  if (listeners.size > 0 && listeners.wants(s.name, "wake")) {
    listeners.deliver(s.name, { kind: "wake", at });
  }
}

/**
 * Tells the queue's workers that the queue (`type` null) or a type was
 * paused: they give back the jobs of it they claimed ahead.
 */
export function pausedSignal(s: State, type: string | null): void {
  const { listeners } = s;
  if (listeners.size > 0 && listeners.wants(s.name, "paused")) {
    listeners.deliver(s.name, { kind: "paused", type });
  }
}

/** Tells the queue's workers that a job they may run lost its lease. */
export function cancelRun(s: State, jobId: string): void {
  const { listeners } = s;
  if (listeners.size > 0 && listeners.wants(s.name, "cancel")) {
    listeners.deliver(s.name, { kind: "cancel", jobId });
  }
}
