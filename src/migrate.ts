/**
 * Moving a queue between backends (SPEC §10): `migrate({ from, to })`
 * checks that the target can hold the jobs, copies them in batches through
 * the target's import transition (ids, enqueue order, attempts, runAt,
 * keys, results and errors kept), verifies counts and a checksum per status
 * by reading the target back, and only then, for `mode: "move"`, removes
 * what it copied from the source. It works below the Queue interface, on
 * the records the backends store, and never touches a job that is
 * processing or waiting in a flow.
 *
 * @module
 */

import type { Backend, ImportOutcome, JobRecord } from "./backend/interface.ts";
import { ValidationError } from "./errors.ts";
import { queueInternals } from "./queue_context.ts";
import type { Queue } from "./queue_types.ts";
import type { JobStatus } from "./types.ts";
import { checkStatus } from "./validate.ts";

/**
 * The statuses migrate can copy: all but "processing" and "waiting" (a
 * flow's links do not move: its waiting jobs stay, and its other jobs are
 * copied as plain jobs).
 */
export type MigrateStatus = Exclude<JobStatus, "processing" | "waiting">;

/**
 * Options of {@linkcode migrate}.
 *
 * @example
 * ```ts
 * import { createQueue, type MigrateOptions } from "@jobline/jobline";
 * const options: MigrateOptions = {
 *   from: createQueue(), to: createQueue(),
 *   statuses: ["pending", "failed"], mode: "copy",
 * };
 * ```
 */
export interface MigrateOptions {
  /** The queue to copy from. */
  from: Queue;
  /** The queue to copy to (its name may differ). */
  to: Queue;
  /**
   * Which jobs: pending (delayed ones too) by default; add finished
   * statuses to bring their history.
   * @default {["pending"]}
   */
  statuses?: MigrateStatus[];
  /**
   * "copy" leaves the source as it is; "move" removes what was copied and
   * verified.
   * @default {"copy"}
   */
  mode?: "copy" | "move";
  /** Called after each batch with the jobs read so far. */
  onProgress?: (progress: { read: number; copied: number }) => void;
  /**
   * Jobs per batch.
   * @default {500}
   */
  batchSize?: number;
}

/**
 * What {@linkcode migrate} did.
 *
 * @example
 * ```ts
 * import type { MigrateReport } from "@jobline/jobline";
 * const ok = (r: MigrateReport): boolean => r.verified && r.error === undefined;
 * ```
 */
export interface MigrateReport {
  /** Jobs the target stored in this run. */
  copied: number;
  /** Jobs not copied: processing or waiting ones, those already there, held keys. */
  skipped: number;
  /** Why, by reason. */
  skippedBy: {
    processing: number;
    waiting: number;
    exists: number;
    keyHeld: number;
  };
  /**
   * True when the target holds every job of this run (copied or already
   * there) exactly as the source does: same count and checksum per status.
   */
  verified: boolean;
  /** Jobs removed from the source ("move"). */
  removed: number;
  /** Counts per status of the jobs checked, source side. */
  byStatus: Partial<Record<MigrateStatus, number>>;
  /** What stopped the run, if it stopped: the source is then left whole. */
  error?: string;
}

/**
 * Copies (or moves) a queue's jobs to another queue, on any two backends.
 * Run it with no worker on either queue: a job claimed during the run would
 * fail the verification (and then nothing is removed). Running it twice
 * copies nothing twice.
 *
 * @example From a SQLite file to another backend
 * ```ts
 * import { createQueue, migrate } from "@jobline/jobline";
 * await using from = createQueue(); // sqlite://./jobs.db, say
 * await using to = createQueue(); // postgres://..., say
 * await from.enqueue("email", { to: "a@example.com" }, { priority: "high" });
 * const report = await migrate({ from, to, mode: "move" });
 * console.log(report.copied, report.verified, (await to.stats()).pending); // 1 true 1
 * ```
 *
 * @returns The report; a store that fails mid-run gives a report with an
 *   `error` (and the source left whole), not a rejection.
 * @throws {ValidationError} for bad options, or a target that cannot hold
 *   the source's jobs.
 */
export async function migrate(options: MigrateOptions): Promise<MigrateReport> {
  const o = checkOptions(options);
  const from = queueInternals(o.from);
  const to = queueInternals(o.to);
  const report: MigrateReport = {
    copied: 0,
    skipped: 0,
    skippedBy: { processing: 0, waiting: 0, exists: 0, keyHeld: 0 },
    verified: false,
    removed: 0,
    byStatus: {},
  };
  const source = await from.handle.open();
  const target = await to.handle.open();
  checkTarget(source, target);
  const taken = new Map<MigrateStatus, Map<string, number>>();
  try {
    const counts = await source.stats(from.name, { now: from.clock() });
    report.skippedBy.processing = counts.processing;
    report.skippedBy.waiting = counts.waiting;
    let read = 0;
    for (const status of o.statuses) {
      const sums = new Map<string, number>();
      taken.set(status, sums);
      for await (
        const batch of pages(source, from.name, status, o, from.clock)
      ) {
        const outcomes = await importBatch(target, to.name, batch, to.clock);
        batch.forEach((job, i) => {
          const outcome = outcomes[i];
          if (outcome === "key-held") return void report.skippedBy.keyHeld++;
          if (outcome === "exists") report.skippedBy.exists++;
          else report.copied++;
          sums.set(job.id, checksum(job));
        });
        read += batch.length;
        o.onProgress?.({ read, copied: report.copied });
      }
      report.byStatus[status] = sums.size;
    }
    report.verified = await verify(target, to.name, taken, to.clock);
    if (report.verified && o.mode === "move") {
      report.removed = await removeAll(source, from.name, taken, from.clock);
    }
  } catch (err) {
    report.error = err instanceof Error ? err.message : String(err);
    report.verified = false;
  }
  const s = report.skippedBy;
  report.skipped = s.processing + s.waiting + s.exists + s.keyHeld;
  return report;
}

/** Checked options, the defaults filled in. */
interface Checked extends Required<Omit<MigrateOptions, "onProgress">> {
  onProgress: MigrateOptions["onProgress"] | undefined;
}

function checkOptions(options: MigrateOptions): Checked {
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
function checkTarget(source: Backend, target: Backend): void {
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

/** The source's jobs of one status, by ascending id, a batch at a time. */
async function* pages(
  source: Backend,
  name: string,
  status: MigrateStatus,
  o: { batchSize: number },
  clock: () => number,
): AsyncGenerator<JobRecord[]> {
  let after: string | null = null;
  for (;;) {
    const batch: JobRecord[] = await source.list(name, {
      status,
      type: null,
      limit: o.batchSize,
      after,
      now: clock(),
    });
    if (batch.length > 0) yield batch;
    if (batch.length < o.batchSize) return;
    after = batch[batch.length - 1]!.id;
  }
}

function importBatch(
  target: Backend,
  name: string,
  batch: JobRecord[],
  clock: () => number,
): Promise<ImportOutcome[]> {
  return target.importJobs(name, batch, { now: clock() });
}

/** Reads the target back: every job taken, with the same checksum. */
async function verify(
  target: Backend,
  name: string,
  taken: Map<MigrateStatus, Map<string, number>>,
  clock: () => number,
): Promise<boolean> {
  for (const [status, sums] of taken) {
    let seen = 0;
    for await (
      const batch of pages(target, name, status, { batchSize: 1000 }, clock)
    ) {
      for (const job of batch) {
        const want = sums.get(job.id);
        if (want === undefined) continue;
        if (want !== checksum(job)) return false;
        seen++;
      }
    }
    if (seen !== sums.size) return false;
  }
  return true;
}

/** Removes the verified jobs from the source, 50 calls at a time. */
async function removeAll(
  source: Backend,
  name: string,
  taken: Map<MigrateStatus, Map<string, number>>,
  clock: () => number,
): Promise<number> {
  const ids = [...taken.values()].flatMap((m) => [...m.keys()]);
  let removed = 0;
  for (let i = 0; i < ids.length; i += 50) {
    const done = await Promise.all(
      ids.slice(i, i + 50).map((id) =>
        source.remove(name, id, { now: clock() })
      ),
    );
    removed += done.filter(Boolean).length;
  }
  return removed;
}

/**
 * A 32-bit FNV-1a hash of what a job is (not its enqueue sequence), with
 * its JSON fields in a canonical form: a store may keep JSON its own way
 * (PostgreSQL's jsonb reorders keys).
 */
function checksum(job: JobRecord): number {
  const { keep, error } = job;
  const text = JSON.stringify([
    job.id,
    job.type,
    canonical(job.data),
    job.priority,
    job.maxAttempts,
    job.runAt,
    job.createdAt,
    job.ttl,
    job.expiresAt,
    job.key,
    canonical(job.metadata),
    [
      keep.complete.age,
      keep.complete.count,
      keep.failed.age,
      keep.failed.count,
    ],
    job.status,
    job.progress,
    job.message,
    job.result === null ? null : canonical(job.result),
    error === null ? null : [error.name, error.message, error.stack ?? null],
    job.attempt,
    job.startedAt,
    job.completedAt,
  ]);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** JSON text with object keys sorted, whatever its spacing and order. */
function canonical(text: string): string {
  return JSON.stringify(JSON.parse(text), (_key, value) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return value;
    }
    return Object.fromEntries(
      Object.keys(value).sort().map((k) => [k, value[k]]),
    );
  });
}
