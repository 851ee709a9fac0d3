/**
 * The due pending jobs of one memory queue, in claim order (SPEC §4.1,
 * §7.4). Per type, one lane per group ("" for the jobs without one), each
 * a queue of its jobs by (priority, enqueue order) (job_queue.ts); per
 * type, a heap of its lanes by (its first job's priority, the turn it was
 * last served, its first job's order), so that groups of equal priority
 * take turns and a group never served comes first. A turn is the group's,
 * whatever the types of its jobs: serving one of its lanes moves all of
 * them (jobs without a group count as one group). A lane that empties
 * stays in its heap, keeping its turn, until a claim meets it at the top:
 * a group whose next job arrives before then (a chain of jobs, each
 * enqueued as the last one ends) keeps its place instead of coming first
 * as a group never served would. A lane of a group held back by a group
 * limit (transitions_limits.ts) is parked: out of its type's heap once a
 * claim meets it, its jobs kept, so a claim looks at it at most once.
 * Every step is O(log lanes) times the types of one group at most; none
 * scans the lanes but a sweep of empty lanes once they outnumber the
 * others (and 1,024). Private to backends/memory/; it publishes nothing.
 *
 * @module
 */

import { Heap, type Slot } from "./indexed_heap.ts";
import { JobQueue } from "./job_queue.ts";
import type { Rec } from "./records.ts";

/** The due jobs of one group and type. */
export interface Lane extends Slot {
  type: string;
  /** The group key; "" for jobs without a group. */
  group: string;
  jobs: JobQueue;
  /** The turn it was last served; 0 when never. */
  served: number;
  /** Held back by a group limit (out of its heap once a claim meets it). */
  parked: boolean;
  /** Its first job's priority and sequence (kept as its first job changes). */
  hp: number;
  hs: number;
}

/** The lanes of one type. */
export interface TypeLanes {
  lanes: Map<string, Lane>;
  heap: Heap<Lane>;
  /** Lanes of a group kept while empty (see settle). */
  empty: number;
  /** The last pop that asked for this type (Ready.pops). */
  asked: number;
}

/** The due pending jobs of a queue. */
export interface Ready {
  byType: Map<string, TypeLanes>;
  /** The lanes of each group key ("" too), across types: one turn for all. */
  byGroup: Map<string, Set<Lane>>;
  /** Groups whose lanes are parked. */
  parked: Set<string>;
  /** The last turn given. */
  turn: number;
  /** Pops so far (which types a pop asked for: TypeLanes.asked). */
  pops: number;
}

/** Between lanes: priority, then the turn, then enqueue order. */
const laneFirst = (a: Lane, b: Lane): boolean => {
  if (a.hp !== b.hp) return a.hp > b.hp;
  if (a.served !== b.served) return a.served < b.served;
  return a.hs < b.hs;
};

/**
 * Between the first lanes of two types: as laneFirst, except that two
 * lanes of one group (jobs without a group, say) go by enqueue order, so
 * that a group's jobs stay FIFO across types.
 */
const crossFirst = (a: Lane, b: Lane): boolean => {
  if (a.group !== b.group) return laneFirst(a, b);
  return a.hp > b.hp || (a.hp === b.hp && a.hs < b.hs);
};

/** No due jobs. */
export function newReady(): Ready {
  return {
    byType: new Map(),
    byGroup: new Map(),
    parked: new Set(),
    turn: 0,
    pops: 0,
  };
}

/** Puts a due job in its lane. */
export function addReady(r: Ready, rec: Rec): void {
  let t = r.byType.get(rec.type);
  if (t === undefined) {
    r.byType.set(
      rec.type,
      t = { lanes: new Map(), heap: new Heap(laneFirst), empty: 0, asked: 0 },
    );
  }
  const group = rec.group ?? "";
  let lane = t.lanes.get(group);
  if (lane === undefined) {
    let set = r.byGroup.get(group);
    if (set === undefined) r.byGroup.set(group, set = new Set());
    lane = {
      i: -1,
      type: rec.type,
      group,
      jobs: new JobQueue(),
      // The group's turn, when it has lanes of other types.
      served: set.size > 0 ? set.values().next().value!.served : 0,
      parked: r.parked.has(group),
      hp: 0,
      hs: 0,
    };
    t.lanes.set(group, lane);
    set.add(lane);
  } else if (lane.jobs.size === 0 && group !== "") t.empty--;
  lane.jobs.push(rec);
  head(lane);
  if (lane.i >= 0) t.heap.update(lane);
  else if (!lane.parked) t.heap.push(lane);
}

/** Takes a due job out of its lane (it must be in one: `rec.readyStamp`). */
export function removeReady(r: Ready, rec: Rec): void {
  const t = r.byType.get(rec.type)!;
  const lane = t.lanes.get(rec.group ?? "")!;
  lane.jobs.remove(rec);
  settle(r, t, lane);
}

/**
 * Pops the best due job of the given types (the caller leaves out paused
 * and limited ones), giving its lane a turn. The best lane's group gives
 * its first job of those types, which may wait in its lane of another type
 * (behind another group's lane there): then both lanes get the turn, the
 * group's place in line being the best lane's.
 */
export function popReady(
  r: Ready,
  types: Iterable<string>,
): Rec | undefined {
  let best: Lane | undefined;
  const pop = ++r.pops;
  for (const type of types) {
    const t = r.byType.get(type);
    if (t === undefined) continue;
    t.asked = pop;
    let lane = t.heap.peek();
    // A parked lane leaves its heap when a claim meets it (lazily: a group
    // that frees its slot before then never leaves, nor comes back), and an
    // empty one goes then.
    while (lane !== undefined && (lane.parked || lane.jobs.size === 0)) {
      t.heap.pop();
      if (lane.jobs.size === 0) drop(r, t, lane);
      lane = t.heap.peek();
    }
    if (lane !== undefined && (best === undefined || crossFirst(lane, best))) {
      best = lane;
    }
  }
  if (best === undefined) return undefined;
  let lane = best;
  if (best.group !== "") {
    for (const other of r.byGroup.get(best.group)!) {
      if (
        other !== lane && other.jobs.size > 0 &&
        r.byType.get(other.type)!.asked === pop &&
        (other.hp > lane.hp || (other.hp === lane.hp && other.hs < lane.hs))
      ) lane = other;
    }
  }
  const rec = lane.jobs.pop()!;
  const turn = ++r.turn;
  lane.served = turn;
  // The turn is the group's: its lanes of other types move back with it
  // (those of the jobs without a group only while some group has a lane:
  // else turns order nothing, and a queue of many types pays nothing).
  const lanes = r.byGroup.get(lane.group)!;
  if (lanes.size > 1 && (lane.group !== "" || r.byGroup.size > 1)) {
    for (const other of lanes) {
      if (other === lane) continue;
      other.served = turn;
      if (other.i >= 0) r.byType.get(other.type)!.heap.update(other);
    }
  }
  settle(r, r.byType.get(lane.type)!, lane);
  return rec;
}

/**
 * Parks (`on`) or unparks every lane of a group. A parked lane may stay in
 * its heap until a claim meets it at the top (popReady takes it out then);
 * an unparked one that was taken out goes back.
 */
export function parkGroup(r: Ready, group: string, on: boolean): void {
  if (r.parked.has(group) === on) return;
  if (on) r.parked.add(group);
  else r.parked.delete(group);
  for (const lane of r.byGroup.get(group) ?? []) {
    lane.parked = on;
    if (!on && lane.i < 0 && lane.jobs.size > 0) {
      r.byType.get(lane.type)!.heap.push(lane);
    }
  }
}

/**
 * After a lane changed: back in order, or, when empty, out of the heap
 * (the lane of jobs without a group: it stays, so a queue that empties and
 * fills again makes nothing new) or left in it with its turn until a claim
 * meets it (a group's; dropped at once when out of its heap). Empty lanes
 * are swept once they outnumber the others and 1,024: a type no claim asks
 * for any more keeps no more than that.
 */
function settle(r: Ready, t: TypeLanes, lane: Lane): void {
  if (lane.jobs.size > 0) {
    head(lane);
    t.heap.update(lane);
    return;
  }
  if (lane.group === "") {
    t.heap.remove(lane);
    return;
  }
  if (lane.i < 0) return drop(r, t, lane, false);
  if (++t.empty > 1_024 && 2 * t.empty > t.lanes.size) {
    for (const other of [...t.lanes.values()]) {
      if (other.jobs.size === 0 && other.group !== "") {
        t.heap.remove(other);
        drop(r, t, other);
      }
    }
  }
}

/** Forgets an empty lane of a group, out of its heap (`counted`: in `empty`). */
function drop(r: Ready, t: TypeLanes, lane: Lane, counted = true): void {
  if (lane.group === "") return;
  if (counted) t.empty--;
  t.lanes.delete(lane.group);
  const set = r.byGroup.get(lane.group)!;
  set.delete(lane);
  if (set.size === 0) r.byGroup.delete(lane.group);
}

/** Notes a lane's first job, the key its type's heap orders it by. */
function head(lane: Lane): void {
  const first = lane.jobs.peek()!;
  lane.hp = first.priority;
  lane.hs = first.seq;
}
