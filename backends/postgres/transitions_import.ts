/**
 * The import transition of the PostgreSQL backend (moving a queue between
 * backends, SPEC §10): stores jobs as they are, in one transaction, each
 * with the next seq (its place in claim order), its key held while
 * pending, its removal time from its keep rule once finished; then sweeps
 * removals that are due, as a finishing step does. It publishes no update
 * (the jobs did not change), only one wake for the pending ones. It checks
 * every job before it writes: a refused call writes nothing. Like
 * transitions.ts, it holds no lifecycle (`db.ts` wraps every call).
 *
 * @module
 */

import type {
  BackendImport,
  ImportOutcome,
  JobRecord,
} from "../../src/backend/interface.ts";
import { checkImported } from "../../src/backend/import_check.ts";
import type { Sql } from "./db.ts";
import { importJson } from "./records.ts";
import { ident, type Statements } from "./sql.ts";
import { type ImportStatements, importStatements } from "./sql_import.ts";

const prepare = { prepare: true } as const;

/** Makes the import of one schema (`statements`: the schema's own). */
export function createImport(
  sql: Sql,
  schema: string,
  statements: Statements,
  channel: (queue: string) => string,
): BackendImport["importJobs"] {
  const s = importStatements(ident(schema));
  return async (queue, jobs, { now }) => {
    checkImported(jobs);
    if (jobs.length === 0) return [];
    const outcomes = await sql.begin(async (tx) => {
      const keys = [
        ...new Set(
          jobs.flatMap((j) => j.status === "pending" ? j.key ?? [] : []),
        ),
      ];
      if (keys.length > 0) {
        await tx.unsafe(statements.dropExpiredHolders, [
          queue,
          now,
          JSON.stringify(keys),
        ], prepare);
      }
      const { outcomes, wakeAt } = await store(
        tx as unknown as Sql,
        s,
        queue,
        jobs,
      );
      await tx.unsafe(s.finish, [
        queue,
        now,
        channel(queue),
        wakeAt === Infinity ? null : wakeAt,
      ], prepare);
      return outcomes;
    });
    return outcomes as ImportOutcome[];
  };
}

/**
 * Inserts the jobs, the first of each id in one statement, a later one of
 * the same id (never sent by migrate) in a statement after it; tells
 * whose id was stored already from whose key was held.
 *
 * @returns One outcome per job, and the soonest runAt of the pending jobs
 *   stored (Infinity for none).
 */
async function store(
  tx: Sql,
  s: ImportStatements,
  queue: string,
  jobs: readonly JobRecord[],
): Promise<{ outcomes: ImportOutcome[]; wakeAt: number }> {
  const outcomes: ImportOutcome[] = [];
  let wakeAt = Infinity;
  for (let todo = jobs.map((_, i) => i); todo.length > 0;) {
    const seen = new Set<string>();
    const first: number[] = [];
    const later: number[] = [];
    for (const i of todo) {
      const id = jobs[i]!.id;
      if (seen.has(id)) later.push(i);
      else (seen.add(id), first.push(i));
    }
    const rows = await tx.unsafe(s.insert, [
      queue,
      importJson(first.map((i) => jobs[i]!)),
    ], prepare);
    const created = new Set<string>();
    for (const r of rows) {
      created.add(r.id as string);
      if (r.pending === true) wakeAt = Math.min(wakeAt, r.runat as number);
    }
    const missing = first.filter((i) => !created.has(jobs[i]!.id));
    const stored = new Set<string>();
    if (missing.length > 0) {
      const ids = JSON.stringify(missing.map((i) => jobs[i]!.id));
      for (const r of await tx.unsafe(s.stored, [queue, ids], prepare)) {
        stored.add(r.id as string);
      }
    }
    for (const i of first) {
      const id = jobs[i]!.id;
      outcomes[i] = created.has(id)
        ? "created"
        : stored.has(id)
        ? "exists"
        : "key-held";
    }
    todo = later;
  }
  return { outcomes, wakeAt };
}
