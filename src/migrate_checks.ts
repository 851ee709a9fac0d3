/**
 * What `migrate` (migrate.ts) checks before it writes anything, and which
 * jobs of the source a run leaves where they are: its options; a target
 * that can hold the source's jobs; a move whose target is the source's own
 * stored queue under another Queue object (it would remove every job it
 * "copied"); the jobs of a flow, which a move would cut off from their
 * flow; the finished jobs past their keep time, which the source has not
 * swept yet and the target would sweep at once.
 *
 * @module
 */

import type { Backend, JobRecord } from "./backend/interface.ts";
import { ValidationError } from "./errors.ts";
import { newId } from "./id.ts";
import type { MigrateOptions, MigrateStatus } from "./migrate_types.ts";
import { queueInternals } from "./queue_context.ts";
import { checkStatus } from "./validate.ts";

/** Checked options, the defaults filled in. */
export interface Checked extends Required<Omit<MigrateOptions, "onProgress">> {
  onProgress: MigrateOptions["onProgress"] | undefined;
}

/** Checks `migrate`'s options; fills in the defaults. */
export function checkOptions(options: MigrateOptions): Checked {
  const act = "migrate";
  if (options === null || typeof options !== "object") {
    throw new ValidationError("Cannot migrate as options must be an object");
  }
  const {
    from,
    to,
    statuses = ["pending"],
    mode = "copy",
    onProgress,
    batchSize = 500,
  } = options;
  for (const [name, queue] of [["from", from], ["to", to]] as const) {
    try {
      queueInternals(queue);
    } catch {
      throw new ValidationError(
        `Cannot migrate as '${name}' must be a queue made by createQueue`,
      );
    }
  }
  if (from === to) {
    throw new ValidationError("Cannot migrate a queue onto itself");
  }
  if (!Array.isArray(statuses) || statuses.length === 0) {
    throw new ValidationError(
      "Cannot migrate as 'statuses' must be a non-empty array",
    );
  }
  for (const s of statuses) {
    const status = checkStatus(s, act);
    if (status === "processing" || status === "waiting") {
      throw new ValidationError(
        `Cannot migrate ${status} jobs: they are skipped and reported`,
      );
    }
  }
  if (mode !== "copy" && mode !== "move") {
    throw new ValidationError(
      `Cannot migrate as 'mode' must be "copy" or "move"`,
    );
  }
  if (onProgress !== undefined && typeof onProgress !== "function") {
    throw new ValidationError(
      "Cannot migrate as 'onProgress' must be a function",
    );
  }
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new ValidationError(
      "Cannot migrate as 'batchSize' must be an integer in 1..10000",
    );
  }
  return {
    from,
    to,
    statuses: [...new Set(statuses)],
    mode,
    onProgress,
    batchSize,
  };
}

/** Refuses a target that could not hold what the source holds. */
export function checkTarget(source: Backend, target: Backend): void {
  if (typeof target.importJobs !== "function") {
    throw new ValidationError(
      `Cannot migrate to the ${target.name} backend: it has no importJobs`,
    );
  }
  const s = source.capabilities as { priorities?: boolean };
  const t = target.capabilities as { priorities?: boolean };
  if (s.priorities !== false && t.priorities === false) {
    throw new ValidationError(
      `Cannot migrate to the ${target.name} backend: it keeps no priorities, so claim order would change`,
    );
  }
}

const SAME =
  "Cannot move a queue onto itself: the target is the source's own stored queue";

/**
 * Refuses a move whose target is the source's stored queue: the same
 * backend object and name, or (two backend objects on one store) a probe
 * the source can read once it is imported into the target. The probe is a
 * cancelled job of type `jobline.migrate-probe`, removed at once; it
 * expires within a minute should its removal fail.
 */
export async function checkNotSame(
  source: Backend,
  sourceName: string,
  target: Backend,
  targetName: string,
  now: number,
): Promise<void> {
  if (source === target && sourceName === targetName) {
    throw new ValidationError(SAME);
  }
  const probe = probeRecord(now);
  await target.importJobs(targetName, [probe], { now });
  let seen: boolean;
  try {
    seen = await source.get(sourceName, probe.id, { now }) !== null;
  } finally {
    await target.remove(targetName, probe.id, { now });
  }
  if (seen) throw new ValidationError(SAME);
}

/** The probe of checkNotSame: a finished job no worker ever claims. */
function probeRecord(now: number): JobRecord {
  const rule = { age: 60_000, count: null };
  return {
    id: newId(),
    type: "jobline.migrate-probe",
    data: "null",
    priority: 5,
    maxAttempts: 1,
    runAt: now,
    createdAt: now,
    ttl: 60,
    expiresAt: now + 60_000,
    key: null,
    metadata: "{}",
    keep: { complete: rule, failed: rule },
    status: "cancelled",
    progress: 0,
    message: "",
    result: null,
    error: { name: "Cancelled", message: "a probe of migrate" },
    attempt: 0,
    updatedAt: now,
    startedAt: null,
    completedAt: now,
    lease: null,
    version: 1,
  };
}

/** Why a run leaves a job of the source where it is, if it does. */
export type Left = "flow" | "expired";

/**
 * Whether a run leaves `job` in the source: in a move, a job of a flow
 * (removing it would cancel or strand the jobs that wait on it, and its
 * copy would run outside its flow); a finished job whose keep time has
 * passed (the source removes it at its next sweep; the target would at
 * once, and the copy could never verify).
 */
export function leftBehind(
  job: JobRecord,
  status: MigrateStatus,
  mode: "copy" | "move",
  now: number,
): Left | null {
  if (mode === "move" && job.flow !== undefined) return "flow";
  if (status === "pending" || job.completedAt === null) return null;
  const age = status === "complete"
    ? job.keep.complete.age
    : job.keep.failed.age;
  if (age !== null && job.completedAt + age <= now) return "expired";
  return null;
}
