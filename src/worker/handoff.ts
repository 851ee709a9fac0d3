/**
 * A worker's side of the hand-off (src/handoff.ts): while the worker runs
 * and has room, an enqueue of jobs of its types may claim for it in the
 * same atomic step, and the claim counts as one of the loop's own (in
 * `claims` and `claimingFor`, and awaited by the loop's end) until the
 * enqueue's reply brings the jobs, or its failure nothing.
 *
 * @module
 */

import type { HandOff } from "../handoff.ts";
import type { ClaimedJob } from "../types.ts";
import type { WorkerEventHub } from "./events.ts";
import type { WorkerSettings } from "./options.ts";
import type { Wakeups } from "./wake.ts";

/** The parts of a worker that a hand-off reads and counts in. */
export interface HandOffParts {
  readonly settings: Pick<WorkerSettings, "types" | "leaseMs" | "maxClaims">;
  readonly events: Pick<WorkerEventHub, "report">;
  readonly wakeups: Pick<Wakeups, "wake">;
  readonly stopping: boolean;
  readonly paused: boolean;
  readonly closedUnder: boolean;
  readonly pausedUntil: number;
  claims: number;
  claimingFor: number;
  readonly inFlight: Set<Promise<void>>;
}

/**
 * The worker's answer to an enqueue of jobs of `types`: a hand-off for
 * `wanted()` jobs, or undefined when it stops, pauses, backs off, claims
 * as much as it may already, has no room, or handles none of the types.
 * `claimed` takes what the claim brought, as after a claim of the loop's.
 */
export function handOff(
  w: HandOffParts,
  types: readonly string[],
  wanted: () => number,
  claimed: (want: number, jobs: ClaimedJob[]) => void,
): HandOff | undefined {
  const mine = w.settings.types;
  if (
    w.stopping || w.paused || w.closedUnder ||
    w.claims >= w.settings.maxClaims ||
    w.pausedUntil > performance.now() ||
    !types.some((type) => mine.includes(type))
  ) return undefined;
  const want = wanted();
  if (want <= 0) return undefined;
  w.claims++;
  w.claimingFor += want;
  let ended!: () => void;
  const p = new Promise<void>((resolve) => (ended = resolve));
  w.inFlight.add(p);
  const end = (jobs: ClaimedJob[]) => {
    w.claims--;
    w.claimingFor -= want;
    w.inFlight.delete(p);
    ended();
    claimed(want, jobs);
  };
  return {
    types: mine,
    limit: want,
    leaseMs: w.settings.leaseMs,
    take: end,
    drop(error) {
      if (error !== undefined) w.events.report(error);
      end([]);
      // The loop claims for itself: the enqueue may have stored jobs.
      w.wakeups.wake();
    },
  };
}
