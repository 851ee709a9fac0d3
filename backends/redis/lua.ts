/**
 * The Lua scripts of the Redis backend: one per state transition, each atomic
 * and one round trip. Every script gets one key, the queue's namespace
 * `<prefix>:{<queue>}:`, and builds the queue's other keys from it, so they
 * all share the `{<queue>}` hash tag (one Cluster slot). `ARGV[1]` is always
 * `now` (epoch ms from the queue's clock): scripts never call TIME.
 *
 * Keys under the namespace `B`:
 *
 * | key | type | holds |
 * | --- | --- | --- |
 * | `B j:<id>` | hash | the job (short field names: the table in records.ts) |
 * | `B r:<type>` | zset | due pending jobs of a type, by (priority, sequence) |
 * | `B delayed` | zset | pending jobs by runAt |
 * | `B active` | zset | processing jobs by lease deadline, and a pin (no job, scored +inf: see PIN in lua_prelude.ts) that keeps it a skiplist |
 * | `B expiry` | zset | jobs with a TTL, by expiresAt |
 * | `B ids` | zset | every job id (score 0, read by lex for list) |
 * | `B keys` | hash | idempotency key -> id of the pending/processing holder |
 * | `B counts` | hash | `<status>:<type>` -> number of jobs |
 * | `B seq` | string | enqueue sequence |
 * | `B paused` | set | paused types, "" for the whole queue (lua_control.ts) |
 * | `B done:<status>:<age>` | zset | finished jobs whose rule is that age alone, by completedAt (lua_retention.ts) |
 * | `B ages` | set | `<status>:<age>` of each such index |
 * | `B done:<status>` | zset | other finished jobs of a status, by completedAt |
 * | `B removals` | zset | jobs of `done:<status>` with an age rule, by removal time |
 * | `B schedules` | hash | schedule name -> its record (lua_schedule.ts) |
 * | `B schedules:next` | zset | schedule names by next occurrence |
 * | `B f:<flow>` | zset | a flow's job ids by sequence (lua_flows.ts) |
 * | `B fx:<flow>` | hash | a flow's unfinished count and kept results |
 * | `B gl:`, `B ln:`, `B pk`, ... | | lanes of jobs with a group (lua_lanes.ts) |
 * | `B lim`, `B run`, `B rl:`, ... | | limits, what runs under them, claim logs (lua_limits.ts) |
 *
 * A script that finishes a job applies its keep rule in the same call
 * (retain and tidy, in lua_retention.ts). Here are the transitions under a
 * lease (heartbeat, update, complete, fail, release), list and stats, and
 * the registry of every script. Scripts kept apart: claim (lua_claim.ts),
 * enqueue (lua_enqueue.ts), pause, reschedule, cancel, retry and remove
 * (lua_control.ts), clean (lua_retention.ts), schedules (lua_schedule.ts),
 * import (lua_import.ts), flows (lua_flows.ts, whose helpers complete, fail,
 * cancel, retry, remove and a lease's expiry run for a job of a flow).
 *
 * Channels: `B u` carries a JSON array of updates per script call; `B w`
 * carries worker signals: `w<at>` (wake) and `c<id> <version>` (cancel: the
 * lease held before that version of the job is gone).
 *
 * These scripts must never scan a whole key space (no KEYS, no SCAN), and
 * must stay within the queue's namespace.
 *
 * @module
 */

import { CLAIM } from "./lua_claim.ts";
import { ENQUEUE } from "./lua_enqueue.ts";
import {
  CANCEL,
  PAUSED_STATE,
  REMOVE,
  RESCHEDULE,
  RETRY,
  SET_PAUSED,
} from "./lua_control.ts";
import { CLEAN } from "./lua_retention.ts";
import {
  FIRE_SCHEDULE,
  LIST_SCHEDULES,
  PUT_SCHEDULE,
  REMOVE_SCHEDULE,
} from "./lua_schedule.ts";
import { IMPORT } from "./lua_import.ts";
import {
  CANCEL_FLOW,
  ENQUEUE_FLOW,
  GET_FLOW,
  PARENT_RESULTS,
} from "./lua_flows.ts";
import { GET_LIMITS, SET_LIMITS } from "./lua_limits.ts";
import { type Helper, prelude } from "./lua_prelude.ts";

/** ARGV: now, id, token, until. Returns 1, or 0 when the lease is lost. */
const HEARTBEAT = `
local id = ARGV[2]
local x = call('HMGET', J(id), 's', 'lt')
if x[1] ~= 'processing' or x[2] ~= ARGV[3] then return 0 end
call('HSET', J(id), 'lu', ARGV[4])
call('ZADD', ACTIVE, ARGV[4], id)
return 1
`;

/**
 * ARGV: now, id, token, progress ("" to keep), "1" to set the message,
 * message. Returns 1, or 0 when the lease is lost.
 */
const UPDATE = `
local id = ARGV[2]
local x = call('HMGET', J(id), 's', 'lt', 't', 'v', 'a', 'pg', 'm', 'e')
if x[1] ~= 'processing' or x[2] ~= ARGV[3] then return 0 end
local pg = x[6] or '0'
if ARGV[4] ~= '' then pg = ARGV[4] end
local m = x[7] or ''
if ARGV[5] == '1' then m = ARGV[6] end
local v = tonumber(x[4] or 1) + 1
call('HSET', J(id), 'pg', pg, 'm', m, 'ua', NOWS, 'v', v)
note(id, x[3], 'processing', pg, m, x[5], v, nil, x[8], NOWS)
done()
return 1
`;

/**
 * ARGV: now, n, then 4 per job: id, token, result, now. Returns 1 per job
 * completed, 0 per lease lost.
 */
const COMPLETE = `
local n = tonumber(ARGV[2])
local out = {}
local loud = listening()
local JB = B..'j:'
local moved = {}
for i = 0, n - 1 do
  local o = 2 + i * 4
  local id, res, at = ARGV[o + 1], ARGV[o + 3], ARGV[o + 4]
  local key = JB..id
  local x
  if loud then x = call('HMGET', key, 's', 'lt', 't', 'k', 'v', 'kp', 'f', 'g', 'lc', 'a', 'pg', 'm', 'e')
  else x = call('HMGET', key, 's', 'lt', 't', 'k', 'v', 'kp', 'f', 'g', 'lc') end
  if x[1] ~= 'processing' or x[2] ~= ARGV[o + 2] then
    out[i + 1] = 0
  else
    local v = num(tonumber(x[5] or 1) + 1)
    call('HSET', key, 's', 'complete', 'r', res, 'co', at, 'ua', at, 'v', v)
    add('ZREM', ACTIVE, id)
    if x[4] then release(id, x[4]) end
    moved[x[3]] = (moved[x[3]] or 0) + 1
    if x[9] and x[9] == x[2] then unrun(x[3], x[8], id) end
    if loud then note(id, x[3], 'complete', x[11], x[12], x[10], v, res, x[13], at) end
    -- only a flow job has f: a plain one costs one absent field here
    if x[7] then fdone(id, 'complete', res, x[7], true) end
    retain(id, 'complete', x[3], x[6], at, x[7])
    out[i + 1] = 1
  end
end
for t, c in pairs(moved) do
  count('processing', t, -c)
  count('complete', t, c)
end
done()
tidy()
fwake()
return out
`;

/**
 * ARGV: now, id, token, error (JSON text), retryAt ("" to fail for good).
 * Returns the new status, or 0 when the lease is lost.
 */
const FAIL = `
local id, e, retryAt = ARGV[2], ARGV[4], ARGV[5]
local x = call('HMGET', J(id), 's', 'lt', 't', 'k', 'v', 'a', 'pg', 'm', 'q', 'kp', 'f', 'g', 'lc')
if x[1] ~= 'processing' or x[2] ~= ARGV[3] then return 0 end
local v = tonumber(x[5] or 1) + 1
local s = 'failed'
call('ZREM', ACTIVE, id)
if x[13] == x[2] then unrun(x[3], x[12], id) end
if retryAt ~= '' then
  s = 'pending'
  call('HSET', J(id), 's', s, 'e', e, 'ra', retryAt, 'ua', NOWS, 'v', v)
  schedule(id, x[3], qof(x[9], x[2]), retryAt, x[12])
else
  call('HSET', J(id), 's', s, 'e', e, 'co', NOWS, 'ua', NOWS, 'v', v)
  release(id, x[4])
end
count('processing', x[3], -1)
count(s, x[3], 1)
note(id, x[3], s, x[7], x[8], x[6], v, nil, e, NOWS)
if retryAt == '' then
  if x[11] then fdone(id, s, e, x[11], true) end
  retain(id, s, x[3], x[10], NOWS, x[11])
end
done()
tidy()
fwake()
if retryAt ~= '' then call(PUB, WCH, 'w'..retryAt) end
return s
`;

/**
 * ARGV: now, runAt ("" to keep), then (id, token) per lease. Puts each job
 * still processing under its token back to pending as it was before its
 * claim: attempt - 1, lease fields gone (its ready score kept as q, so its
 * place in line stays), key and error unchanged, runAt too unless given (a
 * snooze). Returns the ids released, in ARGV order.
 */
const RELEASE = `
local out = {}
local snooze = ARGV[2] ~= '' and ARGV[2] or nil
for i = 3, #ARGV - 1, 2 do
  local id = ARGV[i]
  local x = call('HMGET', J(id), 's', 'lt', 't', 'k', 'v', 'a', 'pg', 'm', 'q', 'ra', 'ea', 'e', 'g', 'lc')
  if x[1] == 'processing' and x[2] == ARGV[i + 1] then
    if expired(x[11]) then
      drop(id, x[1], x[3], x[4])
    else
      local v = tostring(tonumber(x[5] or 1) + 1)
      local a = tostring(tonumber(x[6] or 1) - 1)
      local q = qof(x[9], x[2])
      -- runAt is the enqueued one (line 4 of x) until a transition sets ra
      local ra = snooze or x[10] or string.match(call('HGET', J(id), 'x'), '^[^\\n]*\\n[^\\n]*\\n[^\\n]*\\n([^\\n]*)')
      call('HSET', J(id), 's', 'pending', 'a', a, 'q', q, 'ra', ra, 'ua', NOWS, 'v', v)
      call('HDEL', J(id), 'lt', 'lu')
      add('ZREM', ACTIVE, id)
      if x[14] == x[2] then unrun(x[3], x[13], id) end
      schedule(id, x[3], q, ra, x[13])
      count('processing', x[3], -1)
      count('pending', x[3], 1)
      note(id, x[3], 'pending', x[7], x[8], a, v, nil, x[12], NOWS)
      out[#out + 1] = id
    end
  end
end
done()
if #out > 0 then call(PUB, WCH, 'w'..(snooze or NOWS)) end
return out
`;

/**
 * ARGV: now, after ("" from the start), status ("" any), type ("" any),
 * limit, scan budget. Returns {last id scanned, ids scanned, jobs}.
 */
const LIST = `
local lo = '-'
if ARGV[2] ~= '' then lo = '('..ARGV[2] end
local status, t, limit = ARGV[3], ARGV[4], tonumber(ARGV[5])
local ids = call('ZRANGEBYLEX', IDS, lo, '+', 'LIMIT', 0, tonumber(ARGV[6]))
local out = {}
local last = ''
for _, id in ipairs(ids) do
  last = id
  local x = call('HMGET', J(id), 's', 't', 'ea')
  if x[1] and (status == '' or x[1] == status) and (t == '' or x[2] == t) and
    not expired(x[3]) then
    out[#out + 1] = call('HGETALL', J(id))
    if #out >= limit then break end
  end
end
return {last, #ids, out}
`;

/** ARGV: now. Purges expired jobs, recovers expired leases, returns counts. */
const STATS = `
while purge(1000) == 1000 do end
while recover(1000) == 1000 do end
done()
tidy()
fwake()
return call('HGETALL', COUNTS)
`;

/** The scripts by name, with the helpers each uses. */
export const SCRIPTS = {
  enqueue: [ENQUEUE, ["enqueue"]],
  enqueueFlow: [ENQUEUE_FLOW, ["done", "ready"]],
  getFlow: [GET_FLOW, []],
  cancelFlow: [CANCEL_FLOW, ["done", "stop"]],
  parentResults: [PARENT_RESULTS, []],
  claim: [CLAIM, ["purge", "recover", "promote", "lclaim"]],
  heartbeat: [HEARTBEAT, []],
  update: [UPDATE, ["done"]],
  complete: [COMPLETE, ["done", "release", "retain", "flow"]],
  fail: [FAIL, ["done", "schedule", "release", "qof", "retain", "flow"]],
  release: [RELEASE, ["done", "expired", "drop", "schedule", "qof"]],
  cancel: [CANCEL, ["done", "expired", "drop", "stop"]],
  retry: [RETRY, ["done", "expired", "drop", "holds", "ready", "qof", "rearm"]],
  remove: [REMOVE, ["done", "expired", "drop", "stop"]],
  list: [LIST, ["expired"]],
  stats: [STATS, ["done", "purge", "recover"]],
  setPaused: [SET_PAUSED, []],
  pausedState: [PAUSED_STATE, []],
  reschedule: [RESCHEDULE, ["done", "expired", "drop", "schedule", "qof"]],
  clean: [CLEAN, ["done", "expired", "drop"]],
  putSchedule: [PUT_SCHEDULE, []],
  removeSchedule: [REMOVE_SCHEDULE, []],
  listSchedules: [LIST_SCHEDULES, []],
  fireSchedule: [FIRE_SCHEDULE, ["enqueue"]],
  import: [IMPORT, ["done", "holds", "schedule", "retain"]],
  setLimits: [SET_LIMITS, ["limits"]],
  getLimits: [GET_LIMITS, ["limits"]],
} as const satisfies Record<string, readonly [string, readonly Helper[]]>;

/** A script's name. */
export type ScriptName = keyof typeof SCRIPTS;

/**
 * The publish commands every script uses. On Redis Cluster updates go out
 * with SPUBLISH (sharded pub/sub: the channel lives in the queue's slot and
 * is not broadcast to every node); a single server uses PUBLISH, which any
 * Redis version has.
 */
export function publishNames(publish: "PUBLISH" | "SPUBLISH"): string {
  return `local PUB, NUMSUB = '${publish}', '${
    publish === "PUBLISH" ? "NUMSUB" : "SHARDNUMSUB"
  }'\n`;
}

/** The full source of each script, as EVALSHA runs it. */
export function scriptSources(
  publish: "PUBLISH" | "SPUBLISH",
): Record<ScriptName, string> {
  // The first line is Dragonfly's in-source script flag: the scripts touch
  // job keys they cannot declare (a claim learns its jobs' ids as it runs),
  // which Dragonfly refuses unless told; Redis and Valkey read it as a
  // comment. `unpack` is Lua 5.1's (Redis); Lua 5.4 (Dragonfly) keeps it in
  // `table`.
  const head = "--!df flags=allow-undeclared-keys\n" +
    "local unpack = unpack or table.unpack\n" + publishNames(publish);
  const out = {} as Record<ScriptName, string>;
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    const [body, needs] = SCRIPTS[name];
    out[name] = head + prelude(needs) + body;
  }
  return out;
}
