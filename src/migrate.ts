/**
 * Moving a queue between backends (SPEC §10): `migrate({ from, to })`
 * checks that the target can hold the jobs, copies them in batches through
 * the target's import transition (ids, enqueue order, attempts, runAt,
 * keys, results and errors kept), verifies counts and a checksum per status
 * by reading the target back, and only then, for `mode: "move"`, removes
 * what it copied from the source. It works below the Queue interface, on
 * the records the backends store, and never touches a job that is
 * processing or waiting in a flow (nor, in a move, any job of a flow).
 * What it checks before it writes, and which jobs it leaves where they
 * are, is migrate_checks.ts; its options and report are migrate_types.ts.
 *
 * @module
 */

import type { Backend, ImportOutcome, JobRecord } from "./backend/interface.ts";
export type {
  MigrateOptions,
  MigrateReport,
  MigrateStatus,
} from "./migrate_types.ts";
import {
  checkNotSame,
  checkOptions,
  checkTarget,
  leftBehind,
} from "./migrate_checks.ts";
import type {
  MigrateOptions,
  MigrateReport,
  MigrateStatus,
} from "./migrate_types.ts";
import { queueInternals } from "./queue_context.ts";

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
 * @throws {ValidationError} for bad options, a target that cannot hold
 *   the source's jobs, or a move onto the source's own stored queue.
 */
export async function migrate(options: MigrateOptions): Promise<MigrateReport> {
  const o = checkOptions(options);
  const from = queueInternals(o.from);
  const to = queueInternals(o.to);
  const report: MigrateReport = {
    copied: 0,
    skipped: 0,
    skippedBy: {
      processing: 0,
      waiting: 0,
      exists: 0,
      keyHeld: 0,
      flow: 0,
      expired: 0,
    },
    verified: false,
    removed: 0,
    byStatus: {},
  };
  const source = await from.handle.open();
  const target = await to.handle.open();
  checkTarget(source, target);
  if (o.mode === "move") {
    await checkNotSame(source, from.name, target, to.name, to.clock());
  }
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
        const page of pages(source, from.name, status, o, from.clock)
      ) {
        const now = from.clock();
        const batch = page.filter((job) => {
          const left = leftBehind(job, status, o.mode, now);
          if (left !== null) report.skippedBy[left]++;
          return left === null;
        });
        const outcomes = await importBatch(target, to.name, batch, to.clock);
        batch.forEach((job, i) => {
          const outcome = outcomes[i];
          if (outcome === "key-held") return void report.skippedBy.keyHeld++;
          if (outcome === "exists") report.skippedBy.exists++;
          else report.copied++;
          sums.set(job.id, checksum(job));
        });
        read += page.length;
        o.onProgress?.({ read, copied: report.copied });
      }
      report.byStatus[status] = sums.size;
    }
    report.verified = await verify(target, to.name, taken, to.clock);
  } catch (err) {
    report.error = err instanceof Error ? err.message : String(err);
    report.verified = false;
  }
  if (report.verified && o.mode === "move") {
    try {
      await removeAll(source, from.name, taken, from.clock, report);
    } catch (err) {
      report.error = err instanceof Error ? err.message : String(err);
    }
  }
  report.skipped = Object.values(report.skippedBy).reduce((a, b) => a + b);
  return report;
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

/**
 * Removes the verified jobs from the source, 50 calls at a time, each
 * counted in `report.removed` as it succeeds; throws the first failure
 * once its group of calls has settled.
 */
async function removeAll(
  source: Backend,
  name: string,
  taken: Map<MigrateStatus, Map<string, number>>,
  clock: () => number,
  report: MigrateReport,
): Promise<void> {
  const ids = [...taken.values()].flatMap((m) => [...m.keys()]);
  for (let i = 0; i < ids.length; i += 50) {
    const done = await Promise.allSettled(
      ids.slice(i, i + 50).map((id) =>
        source.remove(name, id, { now: clock() })
      ),
    );
    for (const d of done) {
      if (d.status === "fulfilled" && d.value) report.removed++;
    }
    const failed = done.find((d) => d.status === "rejected");
    if (failed !== undefined) throw failed.reason;
  }
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
