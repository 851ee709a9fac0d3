/**
 * clean() on the Redis backend: calls of the clean script (lua_retention.ts)
 * until `limit` jobs are deleted or none are left. Each call is atomic and
 * scans a bounded number of index entries, so a clean of one type among
 * many finished jobs never holds the server long. The keep rules a job
 * finishes with are applied by the scripts that finish it, not here.
 *
 * @module
 */

import type { CleanRequest } from "../../src/backend/interface.ts";
import type { Scripts } from "./transitions.ts";

/** Index entries the clean script reads per call, at most. */
const CLEAN_BUDGET = 2_000;

/** Deletes up to `limit` jobs of one status, oldest first; returns how many. */
export async function cleanJobs(
  s: Scripts,
  queue: string,
  { status, cutoff, type, limit, now }: CleanRequest,
): Promise<number> {
  let removed = 0;
  let after = "";
  let score = "";
  for (;;) {
    const [n, more, id, at] = await s.run("clean", queue, [
      String(now),
      status,
      String(cutoff),
      type ?? "",
      String(limit - removed),
      String(CLEAN_BUDGET),
      after,
      score,
    ]) as [number, number, string, string];
    removed += Number(n);
    if (removed >= limit || Number(more) === 0) return removed;
    after = String(id);
    score = String(at);
  }
}
