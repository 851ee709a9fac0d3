/**
 * The claim of the SQLite backend under limits or with jobs of a group due
 * (SPEC §7.3, §7.4), inside the claim's transaction: transitions.ts runs it
 * instead of the plain claim when its one read (CLAIM_GUARD) finds limits
 * set or a job with a group due, and never otherwise.
 *
 * Queue and type limits bound how many it takes; the jobs are chosen by
 * lanes.ts (per type, the lane of jobs without a group against the best
 * claimable lanes of groups, read in batches), which parks a group that a
 * claim fills (a job stopping frees it: limits.ts; its rate window
 * passing: HOLDS_DUE). With limits but no group due and no type limit, it
 * is the plain claim with a smaller limit.
 *
 * @module
 */

import type { Limits } from "../../src/limits_types.ts";
import type { Tx } from "./db.ts";
import {
  anyRate,
  freeStopped,
  logClaims,
  running,
  runningType,
  windowOf,
} from "./limits.ts";
import type { Window } from "./limits.ts";
import { type Claim, type TypeState, walk } from "./lanes.ts";
import type { Row } from "./records.ts";
import * as SQL from "./sql_limits.ts";
import { UNGROUPED } from "./sql_limits_schema.ts";

/** A claim request after pauses are taken out. */
export interface LimitedRequest {
  types: readonly string[] | null;
  limit: number;
  now: number;
  token: string;
  until: number;
}

const NO_LIMITS: Limits = {};

/**
 * Claims under limits and groups; returns the claimed rows (CLAIMED), in
 * claim order. `plain(limit)` runs the plain claim.
 */
export function claimLimited(
  tx: Tx,
  queue: string,
  request: LimitedRequest,
  state: { grouped: boolean; limits: Limits | null },
  plain: (limit: number) => Row[],
): Row[] {
  const { now } = request;
  freeStopped(tx, queue);
  const limits = state.limits ?? NO_LIMITS;
  const rated = anyRate(limits);
  if (rated) tx.stmt(SQL.CLAIMS_TRIM).run(queue, now);
  let room = request.limit;
  if (limits.concurrency !== undefined) {
    room = Math.min(room, limits.concurrency - running(tx, queue));
  }
  const queueWindow = limits.rate === undefined
    ? null
    : windowOf(tx, queue, "", limits.rate, now);
  if (queueWindow !== null) room = Math.min(room, queueWindow.left);
  let rows: Row[] = [];
  const c: Claim = {
    tx,
    queue,
    now,
    limits,
    grouped: state.grouped,
    turn: 0,
    types: new Map(),
    groups: new Map(),
    groupTurns: new Map(),
    ungroupedTurn: undefined,
    chosen: [],
    served: [],
    parked: new Set(),
    dropped: [],
    filled: [],
    met: false,
  };
  if (room > 0) {
    if (!c.grouped && limits.types === undefined) {
      rows = plain(room);
    } else {
      rows = claimEach(c, request, room);
    }
  }
  if (rated) logRates(c, queueWindow, rows.length, request.limit);
  return rows;
}

/** Claims up to `room` jobs by lane (lanes.ts). */
function claimEach(c: Claim, request: LimitedRequest, room: number): Row[] {
  const { tx, queue } = c;
  const types = request.types ??
    tx.stmt(SQL.PENDING_TYPES).all(queue).map((r) => r[0] as string);
  for (const type of types) c.types.set(type, typeState(c, type));
  if (c.grouped) {
    // Only a group rate holds a lane until a time.
    if (c.limits.groups?.rate !== undefined) {
      tx.stmt(SQL.HOLDS_DUE).run(
        queue,
        c.now,
        c.limits.groups.concurrency ?? null,
      );
    }
    c.turn = (tx.stmt(SQL.TURN_GET).get(queue, "")?.[0] as number) ?? 0;
  }
  const rows = walk(c, request, room);
  if (c.grouped && rows.length > 0) {
    tx.stmt(SQL.TURN_SET).run(queue, "", c.turn);
    if (c.ungroupedTurn !== undefined) {
      tx.stmt(SQL.TURN_SET).run(queue, UNGROUPED, c.ungroupedTurn);
    }
  }
  return rows;
}

/** What a type may take: its concurrency and rate. */
function typeState(c: Claim, type: string): TypeState {
  const rule = c.limits.types?.[type];
  let left = Infinity;
  let window: Window | null = null;
  if (rule?.concurrency !== undefined) {
    left = rule.concurrency - runningType(c.tx, c.queue, type);
  }
  if (rule?.rate !== undefined) {
    window = windowOf(c.tx, c.queue, `t:${type}`, rule.rate, c.now);
    left = Math.min(left, window.left);
  }
  return {
    left,
    window,
    claimed: 0,
    ungrouped: null,
    u: 0,
    lanes: null,
    l: 0,
    moreUngrouped: false,
    moreLanes: false,
    again: -Infinity,
  };
}

/**
 * Logs the claims in every rate window they count in; a group whose
 * window is full stays parked until it moves on. A claim that took fewer
 * jobs than asked wakes workers when the soonest window that held it back
 * (the queue's, a type's, a group's) lets a claim through.
 */
function logRates(
  c: Claim,
  queueWindow: Window | null,
  claimed: number,
  asked: number,
): void {
  const { tx, queue, now } = c;
  let at = Infinity;
  const next = (w: Window | null, k: number) => {
    if (w === null) return;
    const t = logClaims(tx, queue, w, k, now);
    if (t > now) at = Math.min(at, t);
  };
  next(queueWindow, claimed);
  for (const t of c.types.values()) next(t.window, t.claimed);
  for (const [group, g] of c.groups) {
    if (g.window === null) continue;
    const t = logClaims(tx, queue, g.window, g.claimed, now);
    if (t > now) tx.stmt(SQL.GROUP_HOLD).run(queue, group, t);
  }
  if (claimed >= asked) return;
  const held = tx.stmt(SQL.HOLD_NEXT).get(queue)?.[0] as number | undefined;
  if (held !== undefined && held < SQL.HOLD_FULL && held > now) {
    at = Math.min(at, held);
  }
  if (at !== Infinity) tx.emit(queue, "w", null, String(at));
}
