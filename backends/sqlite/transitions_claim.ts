/**
 * The claim of the SQLite backend, run inside one write transaction (see
 * db.ts) like the transitions of transitions.ts: lease expiry and the
 * promotion of delayed jobs first, each only when its one indexed read
 * finds work; then the plain claim, one UPDATE ... RETURNING over the best
 * due rows, or, under limits or with a job of a group due, the claim of
 * transitions_limits.ts.
 *
 * @module
 */

import type { ClaimRequest, JobRecord } from "../../src/backend/interface.ts";
import type { Tx } from "./db.ts";
import { limitsOf, stopped } from "./limits.ts";
import { retain } from "./retention.ts";
import { finishedInFlow } from "./transitions_flows.ts";
import { claimLimited } from "./transitions_limits.ts";
import {
  bestFirst,
  claimedOf,
  claimedPayload,
  type Row,
  typeOfClaimed,
} from "./records.ts";
import * as SQL from "./sql.ts";
import * as CLAIM from "./sql_claim.ts";
import { PAUSED } from "./sql_control.ts";
import { GROUPED_DUE, PENDING_TYPES } from "./sql_limits.ts";
import { TALLY_CLAIMED } from "./sql_counts.ts";
import { tally } from "./tallies.ts";

/**
 * What the lease token of a job claimed under limits or from a group's lane
 * carries, so that its complete and fail run the limits step (a plain
 * job's skip it). A job claimed before limits were set stops without it:
 * its stop wakes no worker (their poll interval does), and it has no
 * group, so no lane waits for it.
 */
export const LIMITED = "~";

/** Where LIMITS_TAIL starts in an expired lease's row. */
const EXPIRED_TAIL = 7;

const claimStatements: string[] = [];

/**
 * Returns expired leases to pending (or failed), makes due delayed jobs
 * claimable, then claims the best due jobs in one UPDATE ... RETURNING;
 * under limits or with a job of a group due, by transitions_limits.ts.
 */
export function claimJobs(
  tx: Tx,
  queue: string,
  request: ClaimRequest,
  claimToken: string,
): JobRecord[] {
  const { limit, leaseMs, now } = request;
  let token = claimToken;
  let { types } = request;
  // One read finds whether either update has rows to change, whether
  // anything is paused, whether a job with a group is due and the limits:
  // all but the claim are skipped in the common case.
  const guard = tx.stmt(CLAIM.CLAIM_GUARD).get(queue, now)!;
  const [expiring, promoting, pausing] = guard as number[];
  let grouped = guard[3] as number;
  if (expiring === 1) expireLeases(tx, queue, now);
  if (promoting === 1) tx.stmt(SQL.PROMOTE_DELAYED).run(queue, now);
  if (grouped === 0 && (expiring === 1 || promoting === 1)) {
    grouped = tx.stmt(GROUPED_DUE).get(queue)![0] as number;
  }
  let any = CLAIM.CLAIM_ANY;
  if (pausing === 1) {
    // Read in this transaction: a pause committed before it binds it.
    const paused = new Set(tx.stmt(PAUSED).all(queue).map((r) => r[0]));
    if (paused.has("")) return [];
    if (types !== null) types = types.filter((t) => !paused.has(t));
    if (types?.length === 0) return [];
    any = CLAIM.CLAIM_UNPAUSED;
  }
  const until = now + leaseMs;
  const plain = (n: number): Row[] => {
    let rows: Row[];
    if (types === null) {
      rows = tx.stmt(any).all(queue, now, n, token, until) as Row[];
    } else {
      const sql = claimStatements[types.length] ??= CLAIM.claimTypes(
        types.length,
      );
      rows = tx.stmt(sql).all(queue, now, n, token, until, ...types) as Row[];
    }
    tally(tx, queue, TALLY_CLAIMED, rows, typeOfClaimed);
    if (rows.length > 1) rows.sort(bestFirst);
    return rows;
  };
  let rows: Row[];
  const limits = limitsOf(guard[4]);
  if (grouped === 1 || limits !== null) {
    if (types === null && pausing === 1) {
      types = unpausedTypes(tx, queue);
      // Every type with pending jobs paused: nothing to claim (an empty
      // list would make the plain claim's `IN ()`, a syntax error).
      if (types.length === 0) return [];
    }
    token += LIMITED;
    const state = { grouped: grouped === 1, limits };
    const req = { types, limit, now, token, until };
    rows = claimLimited(tx, queue, req, state, plain);
  } else {
    rows = plain(limit);
  }
  const records: JobRecord[] = [];
  for (const row of rows) {
    const record = claimedOf(row, now, token, until);
    records.push(record);
    tx.emit(queue, "u", record.id, claimedPayload(row, now));
  }
  return records;
}

/** The types with pending jobs that are not paused. */
function unpausedTypes(tx: Tx, queue: string): string[] {
  const paused = new Set(tx.stmt(PAUSED).all(queue).map((r) => r[0]));
  return tx.stmt(PENDING_TYPES).all(queue).map((r) => r[0] as string)
    .filter((t) => !paused.has(t));
}

/**
 * Returns expired leases to pending (or failed: flow and retention steps);
 * the claim runs it, and stats() when a lease has run out (calls.ts).
 */
export function expireLeases(tx: Tx, queue: string, now: number): void {
  const expired = tx.stmt(SQL.EXPIRE_LEASES).all(queue, now) as Row[];
  for (const row of expired) {
    const id = row[0] as string;
    tx.emit(queue, "c", id, null);
    tx.emit(queue, "u", id, row[1] as string);
    stopped(tx, queue, row, EXPIRED_TAIL, now);
    if (row[2] !== 3) continue;
    finishedInFlow(tx, queue, id, "failed", row, 3, now);
    retain(tx, queue, "failed", now, row, 3);
  }
}
