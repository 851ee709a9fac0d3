/**
 * Limits in the memory backend (SPEC §7.3): the stored limits, how many
 * jobs run per queue, type and group, and the windows of recent claim
 * times that rate limits read. heap.ts calls `started` and `stopped` as a
 * job enters and leaves "processing", so the counts cannot drift (a lease
 * that runs out stops its job like any other way out). A group at its
 * limit has its lanes parked (lanes.ts) until a slot frees or its window
 * moves on, so a claim never looks at it. When a full concurrency limit
 * frees, workers are woken at once; when a rate limit holds a claim back,
 * they are woken for when its window lets one through, and when a full
 * concurrency limit does, for when the soonest time to live of a running
 * job runs out. While no limit is set, nothing is counted.
 *
 * @module
 */

import type { Limits, RateLimit } from "../../src/limits_types.ts";
import { wake } from "./events.ts";
import { parkGroup } from "./lanes.ts";
import {
  type Expiring,
  type LimitState,
  newLimitState,
  type Parked,
  Window,
} from "./limit_state.ts";
import type { Rec } from "./records.ts";
import type { State } from "./state.ts";

/**
 * Replaces the limits: counts what runs now, starts the rate windows
 * afresh, and parks the groups that are full.
 */
export function setLimits(s: State, limits: Limits): void {
  const l = s.limits;
  for (const group of [...s.ready.parked]) parkGroup(s.ready, group, false);
  Object.assign(l, newLimitState(), {
    limits,
    on: Object.keys(limits).length > 0,
  });
  if (limits.rate !== undefined) l.queueWindow = new Window(limits.rate);
  if (!l.on) return;
  for (const rec of s.jobs.values()) {
    if (rec.status === "processing") count(l, rec, 1);
  }
  const max = limits.groups?.concurrency;
  if (max === undefined) return;
  for (const [group, n] of l.byGroup) {
    if (n >= max) parkGroup(s.ready, group, true);
  }
}

/** A job entered "processing" at `now`: counts it and its claim. */
export function started(s: State, rec: Rec, now: number): void {
  const l = s.limits;
  if (!l.on) return;
  count(l, rec, 1);
  l.queueWindow?.add(now);
  const typeRate = l.limits.types?.[rec.type]?.rate;
  if (typeRate !== undefined) {
    windowOf(l.typeWindows, rec.type, typeRate).add(now);
  }
  const group = rec.group;
  const rule = l.limits.groups;
  if (group === undefined || rule === undefined) return;
  if (rule.rate !== undefined) {
    const w = windowOf(l.groupWindows, group, rule.rate);
    w.add(now);
    const until = w.until(now);
    if (until > 0) parkUntil(s, group, until);
  }
  if (
    rule.concurrency !== undefined && l.byGroup.get(group)! >= rule.concurrency
  ) {
    parkGroup(s.ready, group, true);
  }
}

/** A job left "processing": frees its slots, waking workers if one was full. */
export function stopped(s: State, rec: Rec): void {
  const l = s.limits;
  if (!l.on) return;
  const { limits } = l;
  const typeMax = limits.types?.[rec.type]?.concurrency;
  const groupMax = rec.group === undefined
    ? undefined
    : limits.groups?.concurrency;
  const full = l.total >= (limits.concurrency ?? Infinity) ||
    (l.byType.get(rec.type) ?? 0) >= (typeMax ?? Infinity) ||
    (rec.group !== undefined &&
      (l.byGroup.get(rec.group) ?? 0) >= (groupMax ?? Infinity));
  count(l, rec, -1);
  if (
    rec.group !== undefined && groupMax !== undefined &&
    !l.parkedAt.has(rec.group)
  ) {
    if ((l.byGroup.get(rec.group) ?? 0) < groupMax) {
      parkGroup(s.ready, rec.group, false);
    }
  }
  if (full) wake(s, 0);
}

/**
 * When a claim may take a job of the queue (0: now; Infinity: once a
 * running job stops).
 */
export function queueUntil(s: State, now: number): number {
  const l = s.limits;
  if (!l.on) return 0;
  if (l.total >= (l.limits.concurrency ?? Infinity)) return Infinity;
  return l.queueWindow?.until(now) ?? 0;
}

/** When a claim may take a job of a type (0: now). */
export function typeUntil(s: State, type: string, now: number): number {
  const l = s.limits;
  const rule = l.on ? l.limits.types?.[type] : undefined;
  if (rule === undefined) return 0;
  if ((l.byType.get(type) ?? 0) >= (rule.concurrency ?? Infinity)) {
    return Infinity;
  }
  return rule.rate === undefined
    ? 0
    : windowOf(l.typeWindows, type, rule.rate).until(now);
}

/** Unparks the groups whose rate window has moved on by `now`. */
export function unparkDue(s: State, now: number): void {
  const l = s.limits;
  for (
    let p = l.byTime.peek();
    p !== undefined && p.at <= now;
    p = l.byTime.peek()
  ) {
    l.byTime.pop();
    l.parkedAt.delete(p.group);
    const max = l.limits.groups?.concurrency ?? Infinity;
    if ((l.byGroup.get(p.group) ?? 0) < max) parkGroup(s.ready, p.group, false);
  }
}

/** The soonest time a parked group's window lets a claim through, or 0. */
export function nextUnpark(s: State): number {
  return s.limits.byTime.peek()?.at ?? 0;
}

function parkUntil(s: State, group: string, at: number): void {
  const l = s.limits;
  if (l.parkedAt.has(group)) return;
  const p: Parked = { i: -1, group, at };
  l.parkedAt.set(group, p);
  l.byTime.push(p);
  parkGroup(s.ready, group, true);
  wake(s, at);
}

function count(l: LimitState, rec: Rec, n: number): void {
  l.total += n;
  bump(l.byType, rec.type, n);
  if (rec.group !== undefined) bump(l.byGroup, rec.group, n);
  if (rec.expiresAt === null) return;
  if (n > 0) {
    const e: Expiring = { id: rec.id, at: rec.expiresAt, i: -1 };
    l.expiringOf.set(rec.id, e);
    l.expiring.push(e);
  } else {
    const e = l.expiringOf.get(rec.id);
    if (e === undefined) return;
    l.expiringOf.delete(rec.id);
    l.expiring.remove(e);
  }
}

function bump(map: Map<string, number>, key: string, n: number): void {
  const v = (map.get(key) ?? 0) + n;
  if (v === 0) map.delete(key);
  else map.set(key, v);
}

function windowOf(
  map: Map<string, Window>,
  key: string,
  rate: RateLimit,
): Window {
  let w = map.get(key);
  if (w === undefined || w.rate !== rate) map.set(key, w = new Window(rate));
  return w;
}

/**
 * After a claim a limit may have cut short: a wake for when the soonest
 * window that held it back lets a claim through, and, while a concurrency
 * limit is full, for when the soonest time to live of a running job runs
 * out (it frees its slots with no call to announce it).
 */
export function wakeForLimits(
  s: State,
  types: readonly string[] | null,
  now: number,
): void {
  let at = nextUnpark(s) || Infinity;
  const q = queueUntil(s, now);
  let full = q === Infinity || s.ready.parked.size > 0;
  if (q > 0) at = Math.min(at, q);
  for (const t of types ?? s.ready.byType.keys()) {
    const u = typeUntil(s, t, now);
    if (u === Infinity) full = true;
    if (u > 0) at = Math.min(at, u);
  }
  const expiry = full ? s.limits.expiring.peek()?.at : undefined;
  if (expiry !== undefined && expiry > now) at = Math.min(at, expiry);
  if (at !== Infinity) wake(s, at);
}
