/**
 * The walk of the SQLite claim under limits or with jobs of a group due
 * (transitions_limits.ts sets it up and logs its rates): which jobs it
 * takes, in claim order, inside the claim's transaction.
 *
 * Per type it reads a batch of the best claimable lanes, each with its
 * first due job and its group's running count (LANES_NEXT), and a batch of
 * the first due jobs without a group (UNGROUPED_NEXT); then it chooses one
 * job at a time, the best of every type's front (priority, then turn, then
 * enqueue order, as the memory backend's lanes do), in memory, and when
 * that is a group's and other types are open, the group's first job of
 * them (GROUP_FIRST: a group stays FIFO across types). A turn is the
 * group's, whatever the types of its jobs: serving a group moves its lanes
 * of every type (LANES_SERVED), and the jobs without a group share one turn
 * (UNGROUPED in jobline_turns). What it chose is written back in a few statements per batch, whatever its size:
 * the jobs claimed (CLAIM_LIST), the lanes served with their new turns,
 * the groups parked, the lanes found empty. A batch is read again (after
 * that write) only when it runs out while more may follow, or when a lane
 * served with room left in its group would come before what is left of it,
 * or when a lane's priority was found too high (corrected first). Each
 * read goes through an index, so the cost does not grow with the jobs or
 * the groups waiting.
 *
 * @module
 */

import type { Limits } from "../../src/limits_types.ts";
import type { Tx } from "./db.ts";
import { type Window, windowOf } from "./limits.ts";
import { type Row, seqOf, typeOfClaimed } from "./records.ts";
import { CLAIM_LIST } from "./sql_claim.ts";
import * as SQL from "./sql_limits.ts";
import { HOLD_FULL, NEVER, UNGROUPED } from "./sql_limits_schema.ts";
import { TALLY_CLAIMED } from "./sql_counts.ts";
import { tally } from "./tallies.ts";

/** The best due job of a lane. */
interface Candidate {
  type: string;
  /** Null: the lane of jobs without a group. */
  group: string | null;
  seq: number;
  priority: number;
  turn: number;
  /**
   * The lane whose place in line this job's group used, when the job waits
   * in the group's lane of another type (see groupFirst).
   */
  via?: Candidate;
}

/** A row of LANES_NEXT. */
type LaneRow = [string, number, number, number | null, number | null, number];

/** What a type may still take in this claim, and its batches. */
export interface TypeState {
  left: number;
  window: Window | null;
  claimed: number;
  /** Its jobs without a group; null: to read. */
  ungrouped: Row[] | null;
  u: number;
  /** Its claimable lanes; null: to read. */
  lanes: LaneRow[] | null;
  l: number;
  /** The batch read was full: more may follow it. */
  moreUngrouped: boolean;
  moreLanes: boolean;
  /** The highest priority of a lane served with room left in its group. */
  again: number;
}

/** What a group may still take in this claim. */
export interface GroupState {
  left: number;
  window: Window | null;
  claimed: number;
}

/** One claim's state. */
export interface Claim {
  tx: Tx;
  queue: string;
  now: number;
  limits: Limits;
  /** A job with a group is due: lanes are read. */
  grouped: boolean;
  turn: number;
  types: Map<string, TypeState>;
  groups: Map<string, GroupState>;
  /** Turns given to groups by this claim. */
  groupTurns: Map<string, number>;
  /** The turn this claim gave the jobs without a group, if it did. */
  ungroupedTurn: number | undefined;
  /** Their stored turn (null: none), once read. */
  storedUngrouped?: number | null;
  /** Chosen and not written yet: seqs, lanes served, groups parked, drops. */
  chosen: number[];
  served: [string, string, number][];
  parked: Set<string>;
  dropped: [string, string][];
  /** Groups this claim filled (parked if it ends short, or see walk). */
  filled: string[];
  /** This claim met a lane of a full group (see walk). */
  met: boolean;
  /** A lane was served out of its batch's order: write, then read again. */
  stale?: boolean;
}

/** Where the claimed rows go, and the lease they get. */
export interface Lease {
  token: string;
  until: number;
}

/** A batch no longer tells what comes next: write, then read again. */
const STALE = 0;

/** Claims up to `room` jobs by lane; returns their rows in claim order. */
export function walk(c: Claim, lease: Lease, room: number): Row[] {
  const rows: Row[] = [];
  let taken = 0;
  while (taken < room) {
    const best = next(c, room - taken);
    if (best === STALE) {
      write(c, lease, rows);
      continue;
    }
    if (best === null) break;
    serve(c, best);
    taken++;
  }
  // A claim that got all it asked for leaves the groups it filled
  // claimable: their lanes, served last, come after every other, so the
  // next claim reaches them only once the others are taken, and parks them
  // then (each once). One that ends short parks them now: its worker waits
  // for them, and a job of theirs stopping wakes it (limits.ts). Either way
  // a job mostly finishes before its lane is read again, sparing two writes.
  // Not so while the claims of this queue meet full groups (workers hold a
  // job of most groups): then a claim parks the groups it fills, in the
  // write that serves them, rather than have the next claim read and park
  // them in two more steps.
  const park = parkFilled(c);
  if (taken < room || park) {
    for (const group of c.filled) c.parked.add(group);
  }
  write(c, lease, rows);
  return rows;
}

/** How many claims of a queue park what they fill after one met a full group. */
const PARK_FOR = 8;

/**
 * Per database (its Tx, the same for every transaction) and queue, how many
 * more claims park the groups they fill: only a hint of what the last
 * claims met, so a change by another process costs time, never a job.
 */
const parking = new WeakMap<Tx, Map<string, number>>();

/** Whether this claim parks the groups it fills; counts the claim. */
function parkFilled(c: Claim): boolean {
  let queues = parking.get(c.tx);
  if (queues === undefined) parking.set(c.tx, queues = new Map());
  const left = c.met ? PARK_FOR : (queues.get(c.queue) ?? 0);
  if (left > 0) queues.set(c.queue, left - 1);
  else queues.delete(c.queue);
  return left > 0;
}

/** The best front of every type with room left; STALE: write first. */
function next(c: Claim, want: number): Candidate | null | typeof STALE {
  if (c.stale) return STALE;
  let best: Candidate | null = null;
  for (const [type, t] of c.types) {
    if (t.left <= 0) continue;
    const u = ungroupedFront(c, type, t, want);
    if (u === STALE) return STALE;
    if (u !== null && (best === null || first(u, best))) best = u;
    if (!c.grouped) continue;
    const g = laneFront(c, type, t, want);
    if (g === STALE) return STALE;
    if (g !== null && (best === null || first(g, best))) best = g;
  }
  return best === null ? null : groupFirst(c, best);
}

/**
 * A group's jobs stay FIFO across types: its first job of the types with
 * room left may wait in its lane of another type, behind another group's
 * lane there (a type's batch shows only its best lanes). Then that job
 * goes, by way of the best lane, which keeps its job and takes the turn
 * too, as the group's place in line.
 */
function groupFirst(c: Claim, best: Candidate): Candidate {
  if (best.group === null) return best;
  let chosen: string | undefined;
  let found = best;
  for (const [type, t] of c.types) {
    if (t.left <= 0 || type === best.type) continue;
    chosen ??= JSON.stringify(c.chosen);
    const row = c.tx.stmt(SQL.GROUP_FIRST).get(
      c.queue,
      c.now,
      best.group,
      type,
      chosen,
    );
    if (row === undefined) continue;
    const [seq, priority] = [row[0] as number, row[1] as number];
    if (
      priority > found.priority ||
      (priority === found.priority && seq < found.seq)
    ) found = { ...best, type, seq, priority, via: best };
  }
  return found;
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

/** The next job of a type without a group, or null. */
function ungroupedFront(
  c: Claim,
  type: string,
  t: TypeState,
  want: number,
): Candidate | null | typeof STALE {
  if (t.ungrouped === null) {
    t.ungrouped = c.tx.stmt(SQL.UNGROUPED_NEXT).all(c.queue, c.now, type, want);
    t.u = 0;
    t.moreUngrouped = t.ungrouped.length >= want;
  }
  const head = t.ungrouped[t.u];
  if (head === undefined) return t.moreUngrouped ? STALE : null;
  const seq = head[0] as number;
  let turn = c.ungroupedTurn;
  if (turn === undefined && c.grouped) {
    c.storedUngrouped ??=
      (c.tx.stmt(SQL.TURN_GET).get(c.queue, UNGROUPED)?.[0] as number) ??
        null;
    turn = c.storedUngrouped ?? seq - NEVER;
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
 * The first job of the type's best claimable lane, or null: dropping lanes
 * found empty, parking groups held back, correcting a lane whose first job
 * is of a lower priority than it says (then STALE).
 */
function laneFront(
  c: Claim,
  type: string,
  t: TypeState,
  want: number,
): Candidate | null | typeof STALE {
  const { tx, queue } = c;
  if (t.lanes === null) {
    const max = c.limits.groups?.concurrency ?? null;
    t.lanes = tx.stmt(SQL.LANES_NEXT).all(
      queue,
      c.now,
      type,
      want,
      max,
    ) as LaneRow[];
    t.l = 0;
    t.moreLanes = t.lanes.length >= want;
  }
  for (;;) {
    const lane = t.lanes[t.l];
    if (lane === undefined) {
      return t.moreLanes || t.again !== -Infinity ? STALE : null;
    }
    const [group, prio, turn, seq, priority, running] = lane;
    if (prio < t.again) return STALE;
    // Its group was served by way of another type's lane since the batch
    // was read: its turn is later now (written, then read again).
    if (turn < (c.groupTurns.get(group) ?? turn) && c.served.length > 0) {
      return STALE;
    }
    if (seq === null) {
      c.dropped.push([group, type]);
    } else if (priority! < prio) {
      tx.stmt(SQL.LANE_PRIO).run(queue, group, type, priority);
      return STALE;
    } else if (groupState(c, group, running).left <= 0) {
      c.parked.add(group);
      c.met = true;
    } else {
      return { type, group, seq, priority: priority!, turn };
    }
    t.l++;
  }
}

/** What a group may take: the group limits (none: unbounded). */
export function groupState(
  c: Claim,
  group: string,
  running: number,
): GroupState {
  let g = c.groups.get(group);
  if (g !== undefined) return g;
  const rule = c.limits.groups;
  g = { left: Infinity, window: null, claimed: 0 };
  if (rule?.concurrency !== undefined) g.left = rule.concurrency - running;
  if (rule?.rate !== undefined) {
    g.window = windowOf(c.tx, c.queue, `g:${group}`, rule.rate, c.now);
    g.left = Math.min(g.left, g.window.left);
  }
  c.groups.set(group, g);
  return g;
}

/** Takes a candidate: its turn, and what is left. */
function serve(c: Claim, best: Candidate): void {
  const t = c.types.get(best.type)!;
  c.chosen.push(best.seq);
  t.left--;
  t.claimed++;
  c.turn++;
  if (best.group === null) {
    t.u++;
    if (c.grouped) c.ungroupedTurn = c.turn;
    return;
  }
  c.groupTurns.set(best.group, c.turn);
  if (best.via === undefined) t.l++;
  else {
    // the job's lane was not its batch's front: every batch is read again
    c.types.get(best.via.type)!.l++;
    c.served.push([best.group, best.via.type, c.turn]);
    c.stale = true;
  }
  c.served.push([best.group, best.type, c.turn]);
  const g = c.groups.get(best.group)!;
  g.left--;
  g.claimed++;
  if (g.left <= 0) c.filled.push(best.group);
  else if (best.priority > t.again) t.again = best.priority;
}

/**
 * Writes what was chosen (the claimed rows go to `rows`, in the order
 * chosen) and lets every batch be read again.
 */
function write(c: Claim, lease: Lease, rows: Row[]): void {
  const { tx, queue } = c;
  if (c.chosen.length > 0) {
    const claimed = tx.stmt(CLAIM_LIST).all(
      queue,
      c.now,
      null,
      lease.token,
      lease.until,
      JSON.stringify(c.chosen),
    );
    tally(tx, queue, TALLY_CLAIMED, claimed, typeOfClaimed);
    if (claimed.length > 1) {
      const order = new Map(c.chosen.map((seq, i) => [seq, i]));
      claimed.sort((a, b) => order.get(seqOf(a))! - order.get(seqOf(b))!);
    }
    for (const row of claimed) rows.push(row);
    c.chosen = [];
  }
  if (c.served.length > 0) {
    // A group served and parked in one batch gets its turn and its hold in
    // one write (GROUPS_FULL then skips its lanes): mostly every group a
    // claim that ends short serves. Its last turn, once.
    const turns = new Map<string, number>();
    for (const [group, , turn] of c.served) turns.set(group, turn);
    const groups = [...turns].map(([group, turn]) =>
      c.parked.has(group) ? [group, turn, HOLD_FULL] : [group, turn]
    );
    tx.stmt(SQL.LANES_SERVED).run(queue, JSON.stringify(groups));
    c.served = [];
  }
  if (c.parked.size > 0) {
    tx.stmt(SQL.GROUPS_FULL).run(queue, JSON.stringify([...c.parked]));
    c.parked.clear();
  }
  if (c.dropped.length > 0) {
    tx.stmt(SQL.LANES_DROP).run(queue, JSON.stringify(c.dropped));
    c.dropped = [];
  }
  for (const t of c.types.values()) {
    t.ungrouped = null;
    t.lanes = null;
    t.again = -Infinity;
  }
  c.stale = false;
}
