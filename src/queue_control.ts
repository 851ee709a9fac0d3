/**
 * The queue's flow-control calls: pause, resume, isPaused, reschedule and
 * clean, each checked here and made as one backend call (clean: one per
 * batch) (src/control_types.ts has
 * their types). It must never hold state of its own: pause state lives in
 * the backend.
 *
 * @module
 */

import { ValidationError } from "./errors.ts";
import type { QueueControl, RescheduleOptions } from "./control_types.ts";
import type { BackendHandle } from "./queue_handle.ts";
import { checkClean } from "./retention.ts";
import {
  checkId,
  checkName,
  checkNumber,
  checkPriority,
  invalid,
} from "./validate.ts";

/** What the calls need of the queue. */
export interface ControlContext<Tx> {
  name: string;
  clock: () => number;
  handle: BackendHandle<Tx>;
}

/** Makes the flow-control calls of a queue. */
export function controlCalls<Tx>(c: ControlContext<Tx>): QueueControl {
  const { name, clock, handle } = c;
  const setPaused = (act: string, type: unknown, paused: boolean) => {
    const t = type === undefined ? null : checkName(type, act, "type");
    return handle.call(
      "setPaused",
      (b) => b.setPaused(name, { type: t, paused, now: clock() }),
    );
  };
  return {
    pause: (type) => setPaused("pause queue", type, true),
    resume: (type) => setPaused("resume queue", type, false),
    async isPaused(type) {
      const t = type === undefined
        ? null
        : checkName(type, "read pause", "type");
      const state = await handle.call(
        "pausedState",
        (b) => b.pausedState(name, { now: clock() }),
      );
      return state.queue || (t !== null && state.types.includes(t));
    },
    async pausedTypes() {
      const state = await handle.call(
        "pausedState",
        (b) => b.pausedState(name, { now: clock() }),
      );
      return [...state.types].sort();
    },
    async reschedule(id, options) {
      checkId(id, "reschedule job");
      const now = clock();
      const change = checkReschedule(options, now);
      return await handle.call(
        "reschedule",
        (b) => b.reschedule(name, id, { ...change, now }),
      );
    },
    async clean(options) {
      const { request, max } = checkClean(options, clock());
      let removed = 0;
      while (removed < max) {
        const limit = Math.min(CLEAN_BATCH, max - removed);
        const n = await handle.call(
          "clean",
          (b) => b.clean(name, { ...request, limit }),
        );
        removed += n;
        if (n < limit) break;
      }
      return removed;
    },
  };
}

/** The most jobs one backend call of clean() deletes. */
const CLEAN_BATCH = 1_000;

/** Checks reschedule's options; runAt resolved (a past time is now). */
function checkReschedule(
  options: RescheduleOptions,
  now: number,
): { runAt?: number; priority?: number } {
  const act = "reschedule job";
  if (options === null || typeof options !== "object") {
    throw invalid(act, "options", "an object", options);
  }
  const { runAt, delay, priority } = options;
  if (runAt !== undefined && delay !== undefined) {
    throw new ValidationError(
      "Cannot reschedule job with both 'delay' and 'runAt'",
    );
  }
  if (runAt === undefined && delay === undefined && priority === undefined) {
    throw new ValidationError(
      "Cannot reschedule job as it needs 'runAt', 'delay' or 'priority'",
    );
  }
  const out: { runAt?: number; priority?: number } = {};
  if (delay !== undefined) out.runAt = now + checkNumber(delay, act, "delay");
  if (runAt !== undefined) {
    const at = runAt instanceof Date ? runAt.getTime() : runAt;
    out.runAt = Math.max(now, checkNumber(at, act, "runAt"));
  }
  if (priority !== undefined) out.priority = checkPriority(priority, act);
  return out;
}
