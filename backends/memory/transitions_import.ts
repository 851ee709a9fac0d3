/**
 * The import transition of the memory backend (moving a queue between
 * backends, SPEC §10): stores jobs as they are, with the next enqueue
 * sequence each, their key held while pending, their removal time from
 * their keep rule once finished. Like transitions.ts, none reads a clock.
 *
 * @module
 */

import { checkImported } from "../../src/backend/import_check.ts";
import type { ImportOutcome, JobRecord } from "../../src/backend/interface.ts";
import { wake } from "./events.ts";
import { admit, type Finished, live, type State } from "./heap.ts";
import { newRec } from "./records.ts";
import { index, sweep } from "./retention.ts";

/** Stores jobs as they are (see Backend.importJobs); one wake for all. */
export function importJobs(
  s: State,
  jobs: readonly JobRecord[],
  now: number,
): ImportOutcome[] {
  checkImported(jobs);
  let wakeAt = Infinity;
  const outcomes = jobs.map((job): ImportOutcome => {
    if (s.jobs.has(job.id)) return "exists";
    const pending = job.status === "pending";
    if (pending && job.key !== null) {
      const holder = s.keys.get(job.key);
      if (holder !== undefined && live(s, holder, now) !== undefined) {
        return "key-held";
      }
    }
    const rec = newRec(job, ++s.counters.seq);
    delete rec.flow; // a migration does not carry flows
    Object.assign(rec, {
      status: job.status,
      progress: job.progress,
      message: job.message,
      result: job.result,
      error: job.error === null ? null : { ...job.error },
      attempt: job.attempt,
      updatedAt: job.updatedAt,
      startedAt: job.startedAt,
      completedAt: job.completedAt,
      version: job.version,
    });
    if (pending) {
      admit(s, rec, now);
      wakeAt = Math.min(wakeAt, rec.runAt);
      return "created";
    }
    admit(s, rec, now); // a finished job: in no line, holding no key
    const status = rec.status as Finished;
    const rule = status === "complete" ? rec.keep.complete : rec.keep.failed;
    index(s, rec, rule, rec.completedAt!);
    return "created";
  });
  sweep(s, now);
  if (wakeAt !== Infinity) wake(s, wakeAt);
  return outcomes;
}
