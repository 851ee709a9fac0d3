/**
 * The completions of the SQLite backend: those asked for in one turn of the
 * event loop (a worker finishing the jobs of a claim) go in one write, and
 * there in one statement (completeJobs, transitions.ts), each with an
 * outcome of its own. The write is asked for at the turn's first
 * completion, so it keeps that place among the turn's writes: a claim asked
 * for after the completions still sees the slots they free. A batch whose
 * write fails for another reason than a lost lease runs again one
 * completion at a time, so that only the completion at fault fails.
 *
 * @module
 */

import type { Backend } from "../../src/backend/interface.ts";
import { LeaseLostError } from "../../src/errors.ts";
import type { Db } from "./db.ts";
import { completeJob, completeJobs, type Completion } from "./transitions.ts";

/** The most completions one statement takes; more start another batch. */
const MAX_BATCH = 1_000;

/** A completion waiting for its batch's write. */
interface Waiting extends Completion {
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The backend's `complete`, batched per queue and turn. */
export function batchedComplete(db: Db): Backend["complete"] {
  /** Per queue, the batch whose write has not run yet. */
  const open = new Map<string, Waiting[]>();
  return (queue, { id, token }, result, { now }) =>
    new Promise<void>((resolve, reject) => {
      let batch = open.get(queue);
      if (batch === undefined) {
        const items: Waiting[] = [];
        open.set(queue, items);
        void write(db, queue, items, now, () => {
          if (open.get(queue) === items) open.delete(queue);
        });
        batch = items;
      }
      batch.push({ id, token, result, now, resolve, reject });
      if (batch.length >= MAX_BATCH) open.delete(queue);
    });
}

/** Runs a batch in one write (taking no more items once it runs). */
async function write(
  db: Db,
  queue: string,
  items: Waiting[],
  now: number,
  close: () => void,
): Promise<void> {
  let done: boolean[];
  try {
    done = await db.write(queue, now, (tx) => {
      close();
      if (items.length > 1) return completeJobs(tx, queue, items);
      const c = items[0]!;
      try {
        completeJob(tx, queue, c.id, c.token, c.result, c.now);
        return [true];
      } catch (err) {
        if (err instanceof LeaseLostError) return [false];
        throw err;
      }
    });
  } catch (err) {
    close(); // when the write failed before it ran
    if (items.length === 1) return items[0]!.reject(err);
    // Each alone: only the completion at fault fails.
    for (const c of items) void write(db, queue, [c], c.now, () => {});
    return;
  }
  items.forEach((c, i) => {
    if (done[i]) c.resolve();
    else c.reject(new LeaseLostError(c.id));
  });
}
