/**
 * The hand-off of new jobs to an idle worker made on the same queue object.
 * Where the backend can join an enqueue and a claim in one atomic step
 * (`Backend.enqueueClaim`: memory, SQLite and PostgreSQL), an enqueue claims
 * for a worker of the queue that has free slots, and the worker gets the
 * jobs with the enqueue's reply, where it would otherwise wait for the
 * wake-up and then its own claim (on PostgreSQL a second round trip and a
 * second commit). Workers offer to take through the queue's context
 * (`offerToTake` in src/queue_context.ts, from the worker's loop and
 * src/worker/handoff.ts); the queue's enqueue asks here. The claim is the
 * backend's own, so order, pause, limits and groups hold as in any claim.
 * A queue made with `handOff: false` takes no offer.
 *
 * @module
 */

import type {
  Backend,
  EnqueueOutcome,
  NewJobRecord,
} from "./backend/interface.ts";
import { decodeClaimed } from "./codec.ts";
import type { ClaimedJob } from "./types.ts";

/** A claim made for a worker by an enqueue, reserved until it ends. */
export interface HandOff {
  /** The claim's types (null: any), size and lease, as the worker asks. */
  readonly types: readonly string[] | null;
  readonly limit: number;
  readonly leaseMs: number;
  /** The claim's jobs (none, maybe): the hand-off ends. */
  take(jobs: ClaimedJob[]): void;
  /**
   * The hand-off ends with nothing taken: the enqueue failed (no error
   * given: the enqueue's caller has it), or the claimed jobs could not be
   * read (`error`; their leases run out, and a later claim takes them).
   */
  drop(error?: unknown): void;
}

/**
 * A worker's offer, asked with the types of a batch: a hand-off it
 * reserves now, or undefined when it has no room, claims as much already,
 * or handles none of those types.
 */
export type Taker = (types: readonly string[]) => HandOff | undefined;

/**
 * Stores `jobs` as `backend.enqueue` would (no transaction of the
 * caller's), joining a claim for the first worker that takes one when the
 * backend can; the claimed jobs go to that worker, and the workers take
 * turns. An enqueue that fails ends the hand-off with nothing taken.
 */
export function enqueueHandingOff<Tx>(
  backend: Backend<Tx>,
  queue: string,
  jobs: readonly NewJobRecord[],
  now: number,
  takers: Set<Taker>,
): Promise<EnqueueOutcome[]> {
  let offer: HandOff | undefined;
  if (backend.enqueueClaim !== undefined && takers.size > 0) {
    const types = [...new Set(jobs.map((job) => job.type))];
    for (const taker of takers) {
      if ((offer = taker(types)) === undefined) continue;
      // The next enqueue asks the other workers first: they take turns.
      takers.delete(taker);
      takers.add(taker);
      break;
    }
  }
  if (offer === undefined) return backend.enqueue(queue, jobs, { now });
  return handOff(backend, queue, jobs, now, offer);
}

/** The enqueue with the claim of `offer`, which it ends either way. */
async function handOff<Tx>(
  backend: Backend<Tx>,
  queue: string,
  jobs: readonly NewJobRecord[],
  now: number,
  offer: HandOff,
): Promise<EnqueueOutcome[]> {
  const { types, limit, leaseMs } = offer;
  let done;
  try {
    done = await backend.enqueueClaim!(queue, jobs, {
      types,
      limit,
      leaseMs,
      now,
    });
  } catch (err) {
    offer.drop();
    throw err;
  }
  let claimed: ClaimedJob[];
  try {
    claimed = done.claimed.map((record) => decodeClaimed(record));
  } catch (err) {
    // The enqueue is stored: its caller gets the ids, the worker the error.
    offer.drop(err);
    return done.outcomes;
  }
  offer.take(claimed);
  return done.outcomes;
}
