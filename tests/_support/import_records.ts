/**
 * Jobs as a backend hands them to another in a migration: a stored
 * JobRecord, pending by default, for the import tests of every backend.
 * Tests only.
 *
 * @module
 */

import type { JobRecord } from "../../src/backend/interface.ts";

/** Keep rules that keep a job for good. */
const kept = { age: null, count: null };

/**
 * A stored pending job made at `made`, with `change` applied on top.
 *
 * @example
 * ```ts ignore
 * const failed = importedJob("f-1", Date.now(), { status: "failed" });
 * ```
 */
export function importedJob(
  id: string,
  made: number,
  change: Partial<JobRecord> = {},
): JobRecord {
  return {
    id,
    type: "t",
    data: `{"id":"${id}"}`,
    priority: 50,
    maxAttempts: 3,
    runAt: made,
    createdAt: made,
    ttl: null,
    expiresAt: null,
    key: null,
    metadata: "{}",
    keep: { complete: kept, failed: kept },
    status: "pending",
    progress: 0,
    message: "",
    result: null,
    error: null,
    attempt: 0,
    updatedAt: made,
    startedAt: null,
    completedAt: null,
    lease: null,
    version: 1,
    ...change,
  };
}
