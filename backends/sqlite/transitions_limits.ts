/**
 * The claim of the SQLite backend under limits or with jobs of a group due
 * (SPEC §7.3, §7.4), inside the claim's transaction: transitions.ts runs it
 * instead of the plain claim when its one read (CLAIM_GUARD) finds limits
 * set or a job with a group due, and never otherwise.
 *
 * It claims one job at a time: per type, the best job without a group (the
 * lane of jobs without a group, read from the partial due index) against
 * the best claimable lane (`jobline_lanes_next`, by priority then turn),
 * and across types the best of those, as the memory backend's lanes do;
 * each step reads a lane and its first job through an index, so the cost
 * does not grow with the jobs or the groups waiting. A lane found empty is
 * dropped, one whose first job is of a lower priority than it says is
 * corrected, one whose group a limit holds back is parked. Queue and type
 * limits bound how many it takes; a group that a claim fills is parked (a
 * job stopping frees it: limits.ts; its rate window passing: HOLDS_DUE).
 * With limits but no group due and no type limit, it is the plain claim
 * with a smaller limit.
 *
 * @module
 */

import type { Limits } from "../../src/limits_types.ts";
import type { Tx } from "./db.ts";
import {
  anyRate,
  logClaims,
  running,
  runningGroup,
  runningType,
  type Window,
  windowOf,
} from "./limits.ts";
import type { Row } from "./records.ts";
import { CLAIM_ONE } from "./sql.ts";
import * as SQL from "./sql_limits.ts";
import { NEVER } from "./sql_limits_schema.ts";

/** The best due job of a lane. */
interface Candidate {
  type: string;
  /** Null: the lane of jobs without a group. */
  group: string | null;
  seq: number;
  priority: number;
  turn: number;
}

/** What a type may still take in this claim, and its cached candidates. */
interface TypeState {
  left: number;
  window: Window | null;
  claimed: number;
  /** Undefined: not read yet; null: none. */
  ungrouped: Candidate | null | undefined;
  grouped: Candidate | null | undefined;
}

/** What a group may still take in this claim. */
interface GroupState {
  left: number;
  window: Window | null;
  claimed: number;
}

/** One claim's state. */
interface Claim {
  tx: Tx;
  queue: string;
  now: number;
  limits: Limits;
  /** A job with a group is due: lanes are read. */
  grouped: boolean;
  turn: number;
  types: Map<string, TypeState>;
  groups: Map<string, GroupState>;
  /** Turns given to lanes of jobs without a group, by type. */
  turns: Map<string, number>;
}

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
    turns: new Map(),
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

/** Claims up to `room` jobs one at a time, by lane. */
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
  const rows: Row[] = [];
  const claim = tx.stmt(CLAIM_ONE);
  const { now, token, until } = request;
  while (rows.length < room) {
    const best = bestCandidate(c);
    if (best === null) break;
    rows.push(claim.get(queue, now, null, token, until, best.seq)!);
    served(c, best);
  }
  if (c.grouped && rows.length > 0) {
    tx.stmt(SQL.TURN_SET).run(queue, "", c.turn);
    for (const [type, turn] of c.turns) {
      tx.stmt(SQL.TURN_SET).run(queue, type, turn);
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
  return { left, window, claimed: 0, ungrouped: undefined, grouped: undefined };
}

/** The best candidate of every type with room left. */
function bestCandidate(c: Claim): Candidate | null {
  let best: Candidate | null = null;
  for (const [type, t] of c.types) {
    if (t.left <= 0) continue;
    t.ungrouped ??= ungroupedOf(c, type);
    t.grouped ??= c.grouped ? groupedOf(c, type) : null;
    for (const x of [t.ungrouped, t.grouped]) {
      if (x !== null && (best === null || first(x, best))) best = x;
    }
  }
  return best;
}

/**
 * Claim order between two lanes' first jobs: priority, then the lane's
 * turn, then enqueue order; two lanes of one group (of two types) go by
 * enqueue order, so that a group stays FIFO across types.
 */
function first(a: Candidate, b: Candidate): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.group !== b.group && a.turn !== b.turn) return a.turn < b.turn;
  return a.seq < b.seq;
}

/** The first job of a type without a group, or null. */
function ungroupedOf(c: Claim, type: string): Candidate | null {
  const head = c.tx.stmt(SQL.UNGROUPED_HEAD).get(c.queue, c.now, type);
  if (head === undefined) return null;
  const seq = head[0] as number;
  let turn = c.turns.get(type);
  if (turn === undefined && c.grouped) {
    const row = c.tx.stmt(SQL.TURN_GET).get(c.queue, type);
    turn = row === undefined ? seq - NEVER : row[0] as number;
  }
  return {
    type,
    group: null,
    seq,
    priority: head[1] as number,
    turn: turn ?? 0,
  };
}

/**
 * The first job of the type's best claimable lane, or null: fixing or
 * dropping lanes that say more than they hold, parking groups held back.
 */
function groupedOf(c: Claim, type: string): Candidate | null {
  const { tx, queue } = c;
  for (;;) {
    const lane = tx.stmt(SQL.LANE_NEXT).get(queue, type);
    if (lane === undefined) return null;
    const [group, prio, turn] = lane as [string, number, number];
    const head = tx.stmt(SQL.LANE_HEAD).get(queue, c.now, group, type);
    if (head === undefined) {
      tx.stmt(SQL.LANE_DROP).run(queue, group, type);
    } else if ((head[1] as number) < prio) {
      tx.stmt(SQL.LANE_PRIO).run(queue, group, type, head[1] as number);
    } else if (groupState(c, group).left <= 0) {
      park(c, group);
    } else {
      const [seq, priority] = head as [number, number];
      return { type, group, seq, priority, turn };
    }
  }
}

/** What a group may take: the group limits (none: unbounded). */
function groupState(c: Claim, group: string): GroupState {
  let g = c.groups.get(group);
  if (g !== undefined) return g;
  const rule = c.limits.groups;
  g = { left: Infinity, window: null, claimed: 0 };
  if (rule?.concurrency !== undefined) {
    g.left = rule.concurrency - runningGroup(c.tx, c.queue, group);
  }
  if (rule?.rate !== undefined) {
    g.window = windowOf(c.tx, c.queue, `g:${group}`, rule.rate, c.now);
    g.left = Math.min(g.left, g.window.left);
  }
  c.groups.set(group, g);
  return g;
}

/**
 * Parks a group's lanes (as full; logRates sets a rate's time) and forgets
 * the candidates taken from them.
 */
function park(c: Claim, group: string): void {
  c.tx.stmt(SQL.GROUP_HOLD).run(c.queue, group, SQL.HOLD_FULL);
  for (const t of c.types.values()) {
    if (t.grouped?.group === group) t.grouped = undefined;
  }
}

/** After a claim from a candidate's lane: its turn, and what is left. */
function served(c: Claim, best: Candidate): void {
  const t = c.types.get(best.type)!;
  t.left--;
  t.claimed++;
  c.turn++;
  if (best.group === null) {
    if (c.grouped) c.turns.set(best.type, c.turn);
    t.ungrouped = undefined;
    return;
  }
  c.tx.stmt(SQL.LANE_SERVED).run(c.queue, best.group, best.type, c.turn);
  t.grouped = undefined;
  const g = groupState(c, best.group);
  g.left--;
  g.claimed++;
  if (g.left <= 0) park(c, best.group);
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
