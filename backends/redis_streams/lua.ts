/**
 * The Lua scripts of the Redis Streams backend: one per state transition,
 * each atomic and one round trip, with the helpers and fixed keys each
 * uses (lua_prelude.ts). Every key a script touches is one it declares:
 * the queue's fixed keys it needs and, per type the caller names, the
 * stream `s:<type>` and the delayed set `d:<type>`. A script that works on
 * one job by id gets its type from the caller (which read it first) and
 * returns -1 if the job turns out to have another one, so the caller tries
 * again with the right keys.
 *
 * Keys live under the queue's namespace `<prefix>:{<queue>}:rs:`, so they
 * share the `{<queue>}` hash tag (one Cluster slot). `now` comes from the
 * queue's clock: scripts never call TIME. Channels: `u` carries a JSON
 * array of updates per call, `w` the worker signals `w<at>` (wake) and
 * `c<id> <version>` (cancel), as on the Redis backend. These scripts must
 * never scan a whole key space (no KEYS, no SCAN).
 *
 * @module
 */

import { CLAIM } from "./lua_claim.ts";
import { ENQUEUE, FIRE, IMPORT } from "./lua_enqueue.ts";
import {
  PAUSED_STATE,
  RELEASE,
  RESCHEDULE,
  SET_PAUSED,
} from "./lua_control.ts";
import { PUT_SCHEDULE, REMOVE_SCHEDULE, SCHEDULES } from "./lua_schedule.ts";
import { CLEAN } from "./lua_retention.ts";
import {
  FIXED_KEYS,
  type FixedKey,
  type Helper,
  keysOf,
  scriptSource,
} from "./lua_prelude.ts";

/** ARGV: id, token, until. Returns 1, or 0 when the lease is lost. */
const HEARTBEAT = `
local id = ARGV[A + 1]
local f = rd(id)
if not f or f[2] ~= 'processing' or f[11] ~= ARGV[A + 2] then return 0 end
f[12] = ARGV[A + 3]
wr(id, f)
call('ZADD', ACTIVE, f[12], id)
done()
return 1
`;

/**
 * ARGV: id, token, progress ("" to keep), "1" to set the message, message.
 * Returns 1, or 0 when the lease is lost.
 */
const UPDATE = `
local id = ARGV[A + 1]
local f = rd(id)
if not f or f[2] ~= 'processing' or f[11] ~= ARGV[A + 2] then return 0 end
if ARGV[A + 3] ~= '' then f[5] = ARGV[A + 3] end
if ARGV[A + 4] == '1' then f[18] = ARGV[A + 5] end
f[4], f[8] = inc(f[4]), NOWS
wr(id, f)
note(id, f)
done()
return 1
`;

/**
 * ARGV: 4 per job: id, token, result, now. Returns 1 per job completed, 0
 * per lease lost. The job's entry is acknowledged and stays in the stream
 * as history.
 */
const COMPLETE = `
local out = {}
local ids = {}
for i = A + 1, #ARGV, 4 do ids[#ids + 1] = ARGV[i] end
prefetch(ids)
prefetchKeys(ids)
for i = A + 1, #ARGV, 4 do
  local id, res, at = ARGV[i], ARGV[i + 2], ARGV[i + 3]
  local f = rd(id)
  if not f or f[2] ~= 'processing' or f[11] ~= ARGV[i + 1] then
    out[#out + 1] = 0
  else
    local t = f[1]
    add('ZREM', ACTIVE, nil, id)
    ack(t, f[13])
    f[2], f[4], f[8], f[10] = 'complete', inc(f[4]), at, at
    f[11], f[12], f[13], f[14] = '', '', '', ''
    wr(id, f)
    add('HSET', RES, nil, id, res)
    relkey(id)
    count('processing', t, -1)
    count('complete', t, 1)
    note(id, f, res, nil, at)
    retain(id, f)
    out[#out + 1] = 1
  end
end
done()
tidy()
return out
`;

/**
 * ARGV: id, token, error (JSON text), retryAt ("" to fail for good).
 * Returns the new status, or 0 when the lease is lost. A retry due later
 * waits in the delayed set; one due now gets a new entry.
 */
const FAIL = `
local id, e, retryAt = ARGV[A + 1], ARGV[A + 3], ARGV[A + 4]
local f = rd(id)
if not f or f[2] ~= 'processing' or f[11] ~= ARGV[A + 2] then return 0 end
local t = f[1]
call('ZREM', ACTIVE, id)
ack(t, f[13])
f[4], f[8], f[11], f[12], f[13], f[14] = inc(f[4]), NOWS, '', '', '', ''
call('HSET', ERR, id, e)
if retryAt == '' then
  f[2], f[10] = 'failed', NOWS
  relkey(id)
else
  f[2], f[6] = 'pending', retryAt
  if tonumber(retryAt) > NOW then
    call('ZADD', D[t], retryAt, id)
    f[14] = 'd'
  else
    f[13], f[14] = xadd(t, id, dataOf(id)), 's'
  end
end
wr(id, f)
count('processing', t, -1)
count(f[2], t, 1)
note(id, f, nil, e)
if retryAt == '' then retain(id, f) end
done()
tidy()
if retryAt ~= '' then call(PUB, WCH, 'w'..retryAt) end
return f[2]
`;

/** ARGV: id, error (JSON text). Returns 1 if the job changed, -1: retry. */
const CANCEL = `
local id, e = ARGV[A + 1], ARGV[A + 2]
local f = rd(id)
if not f then return 0 end
local t, s = f[1], f[2]
if not S[t] then return -1 end
if expired(f) then
  drop(id, f)
  done()
  return 0
end
if s == 'pending' then
  if f[14] == 'd' then
    call('ZREM', D[t], id)
  elseif f[14] == 'r' then
    call('ZREM', REDO, rmem(t, f[13], id))
    ack(t, f[13])
  end
elseif s == 'processing' then
  call('ZREM', ACTIVE, id)
  ack(t, f[13])
else
  return 0
end
f[2], f[4], f[8], f[10] = 'cancelled', inc(f[4]), NOWS, NOWS
f[11], f[12], f[13], f[14] = '', '', '', ''
if s == 'processing' then call(PUB, WCH, 'c'..id..' '..f[4]) end
wr(id, f)
call('HSET', ERR, id, e)
relkey(id)
count(s, t, -1)
count('cancelled', t, 1)
note(id, f, nil, e)
retain(id, f)
done()
tidy()
return 1
`;

/** ARGV: id. Returns 1 if the job changed, -1: retry with its type. */
const RETRY = `
local id = ARGV[A + 1]
local f = rd(id)
if not f then return 0 end
local t, s = f[1], f[2]
if not S[t] then return -1 end
if expired(f) then
  drop(id, f)
  done()
  return 0
end
if s ~= 'failed' and s ~= 'cancelled' then return 0 end
call('ZREM', DONE[s], id)
call('ZREM', RM, id)
call('HDEL', ERR, id)
call('HDEL', RES, id)
local k = call('HGET', KID, id)
if k then
  local holder = call('HGET', KEYIDX, k)
  if not holder or not holds(holder) then call('HSET', KEYIDX, k, id) end
end
f[2], f[3], f[4], f[5], f[6] = 'pending', '0', inc(f[4]), '0', NOWS
f[8], f[10], f[18] = NOWS, '', ''
f[13], f[14] = xadd(t, id, dataOf(id)), 's'
wr(id, f)
count(s, t, -1)
count('pending', t, 1)
note(id, f, nil, false)
done()
call(PUB, WCH, 'w'..NOWS)
return 1
`;

/** ARGV: id. Returns 1 if a live job was deleted, -1: retry. */
const REMOVE = `
local id = ARGV[A + 1]
local f = rd(id)
if not f then return 0 end
if not S[f[1]] then return -1 end
drop(id, f)
done()
if expired(f) then return 0 end
if f[2] == 'processing' then call(PUB, WCH, 'c'..id..' '..f[4]) end
return 1
`;

/** ARGV: id. Returns {state, job, key, error, result}, or nil. */
const GET = `
local id = ARGV[A + 1]
local st = call('HGET', ST, id)
if not st then return nil end
return {st, call('HGET', JOB, id), call('HGET', KID, id), call('HGET', ERR, id), call('HGET', RES, id)}
`;

/**
 * ARGV: after ("" from the start), status ("" any), type ("" any), limit,
 * scan budget. Returns {last id scanned, ids scanned, jobs}, each job
 * {id, state, job, key, error, result}.
 */
const LIST = `
local lo = '-'
if ARGV[A + 1] ~= '' then lo = '('..ARGV[A + 1] end
local status, t, limit = ARGV[A + 2], ARGV[A + 3], tonumber(ARGV[A + 4])
local ids = call('ZRANGEBYLEX', IDS, lo, '+', 'LIMIT', 0, tonumber(ARGV[A + 5]))
local out = {}
local last = ''
for _, id in ipairs(ids) do
  last = id
  local f = rd(id)
  if f and (status == '' or f[2] == status) and (t == '' or f[1] == t) and not expired(f) then
    out[#out + 1] = {id, call('HGET', ST, id), call('HGET', JOB, id), call('HGET', KID, id),
      call('HGET', ERR, id), call('HGET', RES, id)}
    if #out >= limit then break end
  end
end
return {last, #ids, out}
`;

/** Deletes expired jobs, recovers expired leases, returns the counts. */
const STATS = `
while purge(1000) == 1000 do end
while recover(1000) == 1000 do end
done()
tidy()
return call('HGETALL', COUNTS)
`;

/** A script: its body, the helpers it uses, the fixed keys its body uses. */
type Script = readonly [string, readonly Helper[], readonly FixedKey[]];

const FINISH: readonly Helper[] = ["done", "retain", "relkey", "ack"];

/** The keys that admitting a job (lua_enqueue.ts) touches besides ST and JOB. */
const ADMIT_KEYS: readonly FixedKey[] = ["KEYIDX", "IDS", "EXPIRY", "KID"];

/** The scripts by name. */
export const SCRIPTS = {
  enqueue: [ENQUEUE, ["done", "stream", "holds", "relkey"], ADMIT_KEYS],
  claim: [CLAIM, ["done", "stream", "purge", "recover"], [
    "PAUSED",
    "UNACKED",
    "KID",
  ]],
  heartbeat: [HEARTBEAT, ["state", "done"], ["ACTIVE"]],
  update: [UPDATE, ["state", "done"], []],
  complete: [COMPLETE, FINISH, ["RES"]],
  fail: [FAIL, [...FINISH, "stream"], []],
  release: [RELEASE, ["done", "drop"], []],
  cancel: [CANCEL, FINISH, []],
  retry: [RETRY, ["done", "stream", "holds", "relkey"], [
    "DONE_C",
    "DONE_F",
    "DONE_X",
    "RM",
    "ERR",
    "RES",
  ]],
  remove: [REMOVE, ["done", "drop"], []],
  get: [GET, [], ["ST", "JOB", "KID", "ERR", "RES"]],
  list: [LIST, ["state"], ["IDS", "JOB", "KID", "ERR", "RES"]],
  stats: [STATS, ["purge", "recover"], []],
  setPaused: [SET_PAUSED, [], ["PAUSED"]],
  pausedState: [PAUSED_STATE, [], ["PAUSED"]],
  reschedule: [RESCHEDULE, ["done", "stream", "drop"], []],
  clean: [CLEAN, ["done", "drop"], ["JOB", "IDS"]],
  putSchedule: [PUT_SCHEDULE, [], ["SCHED", "DUE"]],
  removeSchedule: [REMOVE_SCHEDULE, [], ["SCHED", "DUE"]],
  schedules: [SCHEDULES, [], ["SCHED", "DUE"]],
  fireSchedule: [FIRE, ["done", "stream", "holds", "relkey"], [
    ...ADMIT_KEYS,
    "SCHED",
    "DUE",
  ]],
  import: [IMPORT, ["done", "stream", "holds", "retain"], [
    ...ADMIT_KEYS,
    "ERR",
    "RES",
  ]],
} as const satisfies Record<string, Script>;

/** A script's name. */
export type ScriptName = keyof typeof SCRIPTS;

/** A script's source and the suffixes of the fixed keys it declares. */
export interface ScriptText {
  /** The Lua source. */
  source: string;
  /** The fixed keys' suffixes under the namespace, in KEYS order. */
  keys: string[];
}

/**
 * Every script's source and fixed keys. On a Redis Cluster updates go out
 * with SPUBLISH (sharded pub/sub: the channel lives in the queue's slot);
 * a single server uses PUBLISH. With `checkKeys`, a script fails on any
 * key it did not declare, as Dragonfly does.
 */
export function scriptTexts(
  options: { publish: "PUBLISH" | "SPUBLISH"; checkKeys: boolean },
): Record<ScriptName, ScriptText> {
  const out = {} as Record<ScriptName, ScriptText>;
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    const [body, needs, own] = SCRIPTS[name] as Script;
    const keys = keysOf(needs, own);
    out[name] = {
      source: scriptSource(body, needs, keys, options),
      keys: keys.map((k) => FIXED_KEYS[k]),
    };
  }
  return out;
}
