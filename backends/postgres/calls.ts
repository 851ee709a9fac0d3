/**
 * The PostgreSQL backend's calls: each Backend method (and the schedule,
 * import and flow methods) as one call of its transition through
 * `db.run`, which checks the backend is open and turns a failure into a
 * BackendError (the transitions: `transitions.ts`; pause, resume,
 * reschedule and clean in `transitions_control.ts`; schedules in
 * `transitions_schedule.ts`; the import in `transitions_import.ts`; flows in
 * `transitions_flows.ts`). mod.ts spreads them into the backend, with
 * listen, close and the limit calls.
 *
 * @module
 */

import type {
  Backend,
  BackendImport,
  BackendSchedules,
} from "../../src/backend/interface.ts";
import type { BackendFlows } from "../../src/backend/interface_flows.ts";
import type { BackendLimits } from "../../src/backend/interface_limits.ts";
import { ValidationError } from "../../src/errors.ts";
import type { TransactionSql } from "postgres";
import type { Db, Sql } from "./db.ts";
import type { Events } from "./events.ts";
import type { Transitions } from "./transitions.ts";
import type { ControlTransitions } from "./transitions_control.ts";
import type { ScheduleTransitions } from "./transitions_schedule.ts";

/** The transitions the calls run. */
export interface CallTransitions {
  jobs: Transitions;
  control: ControlTransitions;
  schedules: ScheduleTransitions;
  importJobs: BackendImport["importJobs"];
  flows: BackendFlows;
}

/** A transaction an enqueue joins (PostgresTransaction, mod.ts). */
// deno-lint-ignore no-explicit-any
type Tx = TransactionSql<any>;

/**
 * The calls of `backendCalls`: every Backend method but these four and the
 * limit calls (transitions_limits.ts makes those).
 */
export type BackendCalls =
  & Omit<
    Backend<Tx>,
    "name" | "capabilities" | "listen" | "close" | keyof BackendLimits
  >
  & BackendFlows;

/** The calls of a backend over `db`, `events` handing off its enqueues. */
export function backendCalls(
  db: Db,
  events: Events,
  t: CallTransitions,
): BackendCalls {
  return {
    ...jobCalls(db, events, t.jobs, t.control),
    ...scheduleCalls(db, t.schedules, t.importJobs),
    ...flowCalls(db, t.flows),
  };
}

/** The job, lease and control calls, each through `db.run`. */
function jobCalls(
  db: Db,
  events: Events,
  t: Transitions,
  f: ControlTransitions,
): Omit<
  BackendCalls,
  keyof BackendSchedules | keyof BackendImport | keyof BackendFlows
> {
  const run = db.run;
  return {
    async enqueue(queue, jobs, { now, tx }) {
      if (jobs.length === 0) return [];
      const client = clientFor(db, tx);
      return await run("enqueue", queue, now, () => {
        return t.enqueue(client, queue, jobs, now);
      });
    },
    enqueueClaim(queue, jobs, r) {
      const claim = () => t.enqueueClaim(queue, jobs, r);
      const send = () => run("enqueue", queue, r.now, claim);
      return events.handing(queue, jobs, send);
    },
    claim: (queue, req) =>
      run("claim", queue, req.now, () => t.claim(queue, req)),
    heartbeat: (queue, ref, o) =>
      run("heartbeat", queue, o.now, () => t.heartbeat(queue, ref, o)),
    update: (queue, ref, o) =>
      run("update", queue, o.now, () => t.update(queue, ref, o)),
    complete: (queue, ref, result, o) =>
      run("complete", queue, o.now, () => t.complete(queue, ref, result, o)),
    fail: (queue, ref, o) =>
      run("fail", queue, o.now, () => t.fail(queue, ref, o)),
    release: (queue, refs, o) =>
      run("release", queue, o.now, () => t.release(queue, refs, o)),
    cancel: (queue, id, o) =>
      run("cancel", queue, o.now, () => t.cancel(queue, id, o)),
    retry: (queue, id, o) =>
      run("retry", queue, o.now, () => t.retry(queue, id, o)),
    remove: (queue, id, o) =>
      run("remove", queue, o.now, () => t.remove(queue, id, o)),
    get: (queue, id, o) => run("get", queue, o.now, () => t.get(queue, id, o)),
    list: (queue, req) => run("list", queue, req.now, () => t.list(queue, req)),
    stats: (queue, o) => run("stats", queue, o.now, () => t.stats(queue, o)),
    setPaused: (queue, o) =>
      run("setPaused", queue, o.now, () => f.setPaused(queue, o)),
    pausedState: (queue, o) =>
      run("pausedState", queue, o.now, () => f.pausedState(queue, o)),
    reschedule: (queue, id, o) =>
      run("reschedule", queue, o.now, () => f.reschedule(queue, id, o)),
    clean: (queue, req) =>
      run("clean", queue, req.now, () => f.clean(queue, req)),
  };
}

/**
 * The `tx` of an enqueue, checked by shape for callers without types.
 *
 * @returns The client to insert with: the transaction, or the backend's.
 */
function clientFor(db: Db, tx: unknown): Sql {
  if (tx === undefined) return db.sql;
  if (
    tx === null || typeof (tx as { unsafe?: unknown }).unsafe !== "function"
  ) {
    throw new ValidationError(
      "Cannot enqueue job as 'tx' must be a transaction of npm 'postgres' (the argument of sql.begin's callback)",
    );
  }
  return tx as Sql;
}

/** The schedule calls and the import, each through `db.run`. */
function scheduleCalls(
  db: Db,
  t: ScheduleTransitions,
  importJobs: BackendImport["importJobs"],
): BackendSchedules & BackendImport {
  const run = db.run;
  return {
    putSchedule: (queue, schedule, o) =>
      run("putSchedule", queue, o.now, () => t.putSchedule(queue, schedule, o)),
    removeSchedule: (queue, name, o) =>
      run(
        "removeSchedule",
        queue,
        o.now,
        () => t.removeSchedule(queue, name, o),
      ),
    listSchedules: (queue, o) =>
      run("listSchedules", queue, o.now, () => t.listSchedules(queue, o)),
    fireSchedule: (queue, fire, o) =>
      run("fireSchedule", queue, o.now, () => t.fireSchedule(queue, fire, o)),
    importJobs: (queue, jobs, o) =>
      run("importJobs", queue, o.now, () => importJobs(queue, jobs, o)),
  };
}

/** The flow calls (SPEC §12), each through `db.run`. */
function flowCalls(db: Db, t: BackendFlows): BackendFlows {
  const run = db.run;
  return {
    enqueueFlow: (queue, flow, o) =>
      run("enqueueFlow", queue, o.now, () => t.enqueueFlow(queue, flow, o)),
    getFlow: (queue, id, o) =>
      run("getFlow", queue, o.now, () => t.getFlow(queue, id, o)),
    cancelFlow: (queue, id, o) =>
      run("cancelFlow", queue, o.now, () => t.cancelFlow(queue, id, o)),
    parentResults: (queue, id, o) =>
      run("parentResults", queue, o.now, () => t.parentResults(queue, id, o)),
  };
}
