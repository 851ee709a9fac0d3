/**
 * The pieces the finishing functions of the PostgreSQL backend are built
 * of, as SQL text: which migration makes a function and what it holds in
 * each (`create`, `six`, `seven`, `eight`), the settings they are planned
 * with, a finished job's keep rule, and the retention steps a finishing
 * transition ends with (its keep rule, then a bounded sweep of jobs whose
 * removal time has passed). Holds SQL text only and runs nothing; the
 * complete and clean functions (sql_retention.ts), fail and cancel
 * (sql_fail.ts), the claim (sql_claim.ts) and the flow functions
 * (sql_flows.ts) build on it. Apart from sql_retention.ts so that
 * sql_fail.ts can build on it with no import circle.
 *
 * @module
 */

import { dropSaving } from "./sql_final.ts";
import { SWEEP_BATCH } from "./sql_retained.ts";

/**
 * Which migration a finishing function is made by: 4 made them, 5 replaces
 * them with ones that keep a removed job's final update when it is too
 * large to notify (sql_final.ts), 6 with ones that take the queue's
 * channel and settle a finished flow job's dependents (sql_flows.ts; the
 * migration drops the old signatures first), 7 with ones that report a
 * job that stops processing to the queue's limits (sql_limits.ts), 8 with
 * ones that keep finished jobs in one index (sql_retained.ts).
 */
export type FinishVersion = 4 | 5 | 6 | 7 | 8;

/** How migration `v` makes a function: 5 and 6 replace those before. */
export function create(v: FinishVersion): string {
  return v === 4 ? "CREATE FUNCTION" : "CREATE OR REPLACE FUNCTION";
}

/**
 * The settings the finishing functions are planned and run with: index
 * scans only, in index order (no sort), by generic plans (see sql_claim.ts
 * for why), and no nested loop but the one a LATERAL lookup forces (a
 * nested loop over a batch's rows re-reads its items for each of them).
 */
export const FINISH_SETTINGS =
  "SET enable_sort = off SET enable_seqscan = off SET enable_bitmapscan = off" +
  " SET enable_nestloop = off SET enable_mergejoin = off SET jit = off" +
  " SET plan_cache_mode = force_generic_plan";

/** `text` in the functions of migration 6 (flows) on, nothing before. */
export function six(v: FinishVersion, text: string): string {
  return v >= 6 ? text : "";
}

/** `a` in the functions of migration 8 (one retention index) on, else `b`. */
export function eight(v: FinishVersion, a: string, b: string): string {
  return v >= 8 ? a : b;
}

/** `text` in the functions of migration 7 (limits) on, nothing before. */
export function seven(v: FinishVersion, text: string): string {
  return v >= 7 ? text : "";
}

/**
 * Sets `v_drop` and `v_keep` from a finished job's keep rule (its `age` and
 * `count`) and its row's `at`: removed at once with age 0 or count 0; with
 * a count (and an age other than 0), the newest `count` kept.
 */
export function keepOf(age: string, count: string, at: string): string {
  return `IF ${age} = 0 OR ${count} = 0 THEN
        v_drop := ARRAY[${at}];
      END IF;
      IF ${age} IS DISTINCT FROM 0 THEN
        v_keep := ${count};
      END IF;`;
}

/**
 * The condition of a DELETE from `s.jobs j` (in a function with `p_queue`)
 * that takes up to SWEEP_BATCH jobs whose removal time is `now` or earlier,
 * the earliest first, through the removal index.
 */
export function sweepWhere(s: string, now: string): string {
  return `j.ctid = ANY(ARRAY(
        SELECT o.ctid FROM ${s}.jobs o
        WHERE o.queue = p_queue AND o.remove_at <= ${now}
        ORDER BY o.remove_at LIMIT ${SWEEP_BATCH}
        FOR UPDATE OF o SKIP LOCKED))`;
}

/**
 * The plpgsql statements that end a finishing transition of schema `s`
 * (quoted), in a function with `p_queue`, once the finished rows are
 * stored: delete the rows of `drop` (a tid[] variable: jobs whose rule
 * removes them at once), keep only the newest `keep` (an integer variable,
 * null for no limit) jobs of `status` (an SQL text literal), then, unless
 * `now` is null (the caller swept already), delete up to SWEEP_BATCH jobs
 * whose removal time is `now` or earlier. Rows other transactions hold are
 * skipped, never waited for: the next step takes them. With `save` (the
 * functions of migration 5), the rows of `drop` leave their final update
 * when it is too large to notify (sql_final.ts).
 */
export function retainSteps(
  s: string,
  status: string,
  { drop, keep, now, save, retained = false }: {
    drop: string;
    keep: string;
    now: string | null;
    save: boolean;
    /** Migration 8 on: the count rule and sweep by sql_retained.ts. */
    retained?: boolean;
  },
): string {
  const dropStep = `IF ${drop} IS NOT NULL THEN
        ${
    save
      ? dropSaving(s, drop)
      : `DELETE FROM ${s}.jobs j WHERE j.ctid = ANY(${drop});`
  }
      END IF;`;
  if (retained) {
    return `${dropStep}
      IF ${keep} IS NOT NULL THEN
        PERFORM ${s}.retain_trim(p_queue, ${status}, ${keep});
      END IF;${
      now === null ? "" : `
      PERFORM ${s}.retain_sweep(p_queue, ${now});`
    }`;
  }
  const finished = `o.queue = p_queue AND o.status = ${status}
          AND o.completed_at IS NOT NULL`;
  return `${dropStep}
      IF ${keep} = 0 THEN
        DELETE FROM ${s}.jobs j WHERE j.ctid = ANY(ARRAY(
          SELECT o.ctid FROM ${s}.jobs o WHERE ${finished}
          ORDER BY o.completed_at, o.seq
          FOR UPDATE OF o SKIP LOCKED));
      ELSIF ${keep} > 0 THEN
        -- Older than the newest ${keep}: only the rows beyond it are locked.
        DELETE FROM ${s}.jobs j WHERE j.ctid = ANY(ARRAY(
          SELECT o.ctid FROM ${s}.jobs o WHERE ${finished}
            AND (o.completed_at, o.seq) < (
              SELECT b.completed_at, b.seq FROM ${s}.jobs b
              WHERE b.queue = p_queue AND b.status = ${status}
                AND b.completed_at IS NOT NULL
              ORDER BY b.completed_at DESC, b.seq DESC
              OFFSET ${keep} - 1 LIMIT 1)
          ORDER BY o.completed_at, o.seq
          FOR UPDATE OF o SKIP LOCKED));
      END IF;${
    now === null ? "" : `
      DELETE FROM ${s}.jobs j WHERE ${sweepWhere(s, now)};`
  }`;
}

/**
 * retainSteps as the finishing functions of version `v` that finish their
 * jobs at `p_now` end with (claim, fail, cancel, complete of one job): the
 * rows of `v_drop` removed, `v_keep` kept, then the sweep at `p_now`.
 */
export function retainAtNow(
  s: string,
  status: string,
  v: FinishVersion,
): string {
  return retainSteps(s, status, {
    drop: "v_drop",
    keep: "v_keep",
    now: "p_now",
    save: v >= 5,
    retained: v >= 8,
  });
}

/**
 * From migration 6 on: the flow step of a function that finishes the one
 * job `p_id` with `status`, when `flow` (its flow id) is not null.
 */
export function settleOne(
  s: string,
  v: FinishVersion,
  flow: string,
  status: string,
): string {
  return six(
    v,
    `
      IF ${flow} IS NOT NULL THEN
        PERFORM ${s}.flow_settle(p_queue, p_channel, p_now, ARRAY[p_id],
          '${status}');
      END IF;`,
  );
}
