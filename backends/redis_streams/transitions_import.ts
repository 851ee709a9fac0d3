/**
 * The import transition of the Redis Streams backend (moving a queue
 * between backends, SPEC §10): jobs written as they are, in one script
 * call (IMPORT in lua_enqueue.ts) that declares every type of the batch.
 * Pending jobs that are due get their stream entries in the order given,
 * so jobs imported in enqueue order keep their claim order.
 *
 * @module
 */

import { checkImported } from "../../src/backend/import_check.ts";
import type { ImportOutcome, JobRecord } from "../../src/backend/interface.ts";
import { importArgs } from "./records.ts";
import type { Runner } from "./scripts.ts";

/** Stores jobs as they are (see BackendImport.importJobs). */
export async function importJobs(
  r: Runner,
  queue: string,
  jobs: readonly JobRecord[],
  now: number,
): Promise<ImportOutcome[]> {
  checkImported(jobs);
  if (jobs.length === 0) return [];
  const reply = await r.run("import", {
    queue,
    now,
    types: [...new Set(jobs.map((j) => j.type))],
    args: jobs.flatMap(importArgs),
  }) as unknown[];
  return reply.map((o) => String(o) as ImportOutcome);
}
