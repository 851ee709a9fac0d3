/**
 * The migrations of the PostgreSQL backend, as SQL text built for one
 * schema: the migrations in order, each run once per schema under a lock
 * (db.ts), and the statements that create the schema and its migration
 * table (`bootstrap`). Each migration is assembled from the files that own
 * its parts: sql_claim.ts, sql_retention.ts, sql_schedule.ts, sql_final.ts,
 * sql_flows_schema.ts, sql_flows.ts, sql_limits.ts,
 * sql_limits_migrations.ts, sql_retained.ts,
 * sql_watchers.ts. Owns no connection and runs nothing.
 *
 * @module
 */

import { ident } from "./sql.ts";
import { claimFunction, claimMigration } from "./sql_claim.ts";
import { finalUpdatesTable } from "./sql_final.ts";
import { cancelFlowFunction, settleFunction } from "./sql_flows.ts";
import { flowResultsMigration, flowsMigration } from "./sql_flows_schema.ts";
import { flowTurnMigration, retryMigration } from "./sql_flows_retry.ts";
import { flowsGoneMigration } from "./sql_flows_gone.ts";
import { limitsMigration } from "./sql_limits.ts";
import {
  addressMigration,
  eagerParkMigration,
  foldMigration,
  fullLanesMigration,
  keptLaneMigration,
  lazyParkMigration,
  lowerMigration,
  plentyMigration,
  raiseMigration,
} from "./sql_limits_migrations.ts";
import { retainedMigration, savingMigration } from "./sql_retained.ts";
import { finishFunctions, retentionTables } from "./sql_retention.ts";
import { schedulesTable } from "./sql_schedule.ts";
import { watchersMigration } from "./sql_watchers.ts";

/** The migrations, in order; each runs once per schema, under a lock. */
export function migrations(schema: string): string[] {
  const s = ident(schema);
  return [
    `CREATE TABLE ${s}.jobs (
      queue text NOT NULL,
      id text COLLATE "C" NOT NULL,
      seq bigint GENERATED ALWAYS AS IDENTITY,
      type text NOT NULL,
      data text NOT NULL,
      priority integer NOT NULL,
      max_attempts integer NOT NULL,
      run_at float8 NOT NULL,
      created_at float8 NOT NULL,
      ttl float8,
      expires_at float8,
      key text,
      held_key text,
      metadata text NOT NULL,
      status text NOT NULL,
      progress float8 NOT NULL DEFAULT 0,
      message text NOT NULL DEFAULT '',
      result text,
      error text,
      attempt integer NOT NULL DEFAULT 0,
      updated_at float8 NOT NULL,
      started_at float8,
      completed_at float8,
      lease_token text,
      lease_until float8,
      version integer NOT NULL DEFAULT 1,
      PRIMARY KEY (queue, id)
    );
    CREATE INDEX jobs_claim ON ${s}.jobs (queue, priority DESC, seq)
      WHERE status = 'pending';
    CREATE INDEX jobs_lease ON ${s}.jobs (queue, lease_until)
      WHERE status = 'processing';
    CREATE INDEX jobs_expiry ON ${s}.jobs (queue, expires_at)
      WHERE expires_at IS NOT NULL;
    CREATE UNIQUE INDEX jobs_key ON ${s}.jobs (queue, held_key)
      WHERE held_key IS NOT NULL;`,
    // 2: pause state, a row per paused type ('' for the whole queue).
    `CREATE TABLE ${s}.paused (
      queue text NOT NULL,
      type text NOT NULL,
      PRIMARY KEY (queue, type)
    );`,
    // 3: the claim, planned with settings of its own.
    claimMigration(s),
    // 4: retention: keep rules, removal times, the claim, complete, fail
    // and cancel functions that apply them.
    [retentionTables(s), claimFunction(s, 4), finishFunctions(s, 4)].join(
      "\n",
    ),
    // 5: schedules; and the final updates of jobs removed as they finish,
    // kept for a re-read when too large to notify, by the claim, complete,
    // fail and cancel functions made again.
    [
      schedulesTable(s),
      finalUpdatesTable(s),
      claimFunction(s, 5),
      finishFunctions(s, 5),
    ].join("\n"),
    // 6: flows (SPEC §12): their columns, index and tables, and the claim,
    // complete, fail, cancel and clean functions made again to settle a
    // finished flow job's dependents (sql_flows.ts).
    flowsMigration(s),
    // 7: limits and groups (SPEC §7.3, §7.4): the group column, lanes,
    // arrivals, limits, turns and rate windows, and the claim, finishing
    // and cancel_flow functions made again to honour them (sql_limits.ts).
    [
      limitsMigration(s),
      claimFunction(s, 7),
      finishFunctions(s, 7),
      cancelFlowFunction(s, 7),
    ].join("\n"),
    // 8: one retention index for every finished job (by status, keep age
    // and finish time) instead of two, and the claim, finishing, clean,
    // flow_settle and cancel_flow functions made again to read it
    // (sql_retained.ts).
    [
      retainedMigration(s),
      claimFunction(s, 8),
      finishFunctions(s, 8),
      settleFunction(s, 8),
      cancelFlowFunction(s, 8),
    ].join("\n"),
    // 9: a claim serves the lanes a stop unparks without writing them
    // unparked first, and lanes_wake leaves out full groups' lanes
    // (sql_limits_migrations.ts, foldMigration).
    foldMigration(s),
    // 10: who watches a queue's updates, so that claims and completions
    // notify only then (sql_watchers.ts).
    watchersMigration(s),
    // 11: a claim round with more claimable lanes than it may serve
    // leaves the lanes it filled claimable, so a stop has none to unpark (sql_limits_migrations.ts,
    // lazyParkMigration).
    lazyParkMigration(s),
    // 12: a claim round that lowers the priority of a stopped group's lane
    // unparks it, so that the same claim can serve it (sql_limits_migrations.ts,
    // lowerMigration).
    lowerMigration(s),
    // 13: the claim reads the lanes of the groups it names by key
    // (claim_round), the lanes parked for a full group through an index of
    // their own and only when the queue has one, and counts the claimable
    // lanes in turn order (sql_limits_migrations.ts, fullLanesMigration).
    fullLanesMigration(s),
    // 14: the count rule and the sweep of jobs past their removal time keep
    // the final update of a job they delete as it finishes, when too large
    // to notify, as a removal at once does (sql_retained.ts,
    // savingMigration).
    savingMigration(s),
    // 15: a lane lowered while a job of a higher priority waits in it for
    // later is raised back when that job is due (sql_limits_migrations.ts,
    // raiseMigration).
    raiseMigration(s),
    // 16: a lane whose last job a claim takes stays, with its turn, until a
    // claim reads it empty (sql_limits_migrations.ts, keptLaneMigration).
    keptLaneMigration(s),
    // 17: retry of a flow job re-arms a dependent only when no other parent
    // of it failed, and puts its "continue" dependents back to waiting
    // (sql_flows_retry.ts, retryMigration).
    retryMigration(s),
    // 18: a flow's kept results go with its last stored job (sql_flows_schema.ts,
    // flowResultsMigration).
    flowResultsMigration(s),
    // 19: a retry and a cancelFlow of one flow take turns, and a retry of a
    // job that follows "cancel" with a parent failed changes nothing
    // (sql_flows_retry.ts, flowTurnMigration).
    flowTurnMigration(s),
    // 20: a flow's kept results go even when two transactions delete its
    // last jobs at the same moment; the sweep checks the flows noted then
    // (sql_flows_gone.ts, flowsGoneMigration).
    flowsGoneMigration(s),
    // 21: a claim round parks every lane it fills, in the write that
    // serves it, again (sql_limits_migrations.ts, eagerParkMigration).
    eagerParkMigration(s),
    // 22: ... unless four times as many claimable lanes as it may serve
    // come after those it read (sql_limits_migrations.ts, plentyMigration).
    plentyMigration(s),
    // 23: no lanes_full; a round takes a job by the row address its heads
    // read (sql_limits_migrations.ts, addressMigration).
    addressMigration(s),
  ];
}

/** Statements that create the schema and its migration table. */
export function bootstrap(schema: string): string {
  const s = ident(schema);
  return `CREATE SCHEMA IF NOT EXISTS ${s};
    CREATE TABLE IF NOT EXISTS ${s}.migrations (
      version integer PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    );`;
}
