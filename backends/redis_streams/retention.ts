/**
 * clean() on the Redis Streams backend: calls of the clean script
 * (lua_retention.ts) until `limit` jobs are deleted or none are left. Each
 * call is atomic and scans a bounded number of index entries. The keep
 * rules a job finishes with are applied by the scripts that finish it.
 *
 * @module
 */

import type { CleanRequest } from "../../src/backend/interface.ts";
import type { Runner } from "./scripts.ts";

/** Index entries the clean script reads per call, at most. */
const CLEAN_BUDGET = 2_000;

/** Deletes up to `limit` jobs of one status, oldest first; returns how many. */
export async function cleanJobs(
  r: Runner,
  queue: string,
  { status, cutoff, type, limit, now }: CleanRequest,
): Promise<number> {
  let removed = 0;
  let after = "";
  let score = "";
  for (;;) {
    const [n, more, id, at] = await r.run("clean", {
      queue,
      now,
      types: type === null ? [] : [type],
      args: [
        status,
        String(cutoff),
        String(limit - removed),
        String(CLEAN_BUDGET),
        after,
        score,
      ],
    }) as [number, number, string, string];
    removed += Number(n);
    if (removed >= limit || Number(more) === 0) return removed;
    after = String(id);
    score = String(at);
  }
}
