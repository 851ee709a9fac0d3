/**
 * The Redis backend's schedule scripts (lua.ts registers them with the
 * helpers they use). A queue's schedules live under its namespace `B`, so
 * they share the queue's hash tag (one Cluster slot) with its jobs and the
 * fire script can move a schedule on and enqueue its job atomically:
 *
 * | key | type | holds |
 * | --- | --- | --- |
 * | `B schedules` | hash | name -> `<version> <nextRunAt> <definition>`, and `#version` -> the highest version of a removed schedule |
 * | `B schedules:next` | zset | names by next occurrence (the due index) |
 *
 * The definition is JSON text the scripts never read, only compare.
 * `#version` is never a schedule's name (names have no `#`) nor listed:
 * a new schedule starts above it, so a (queue, name) never has the same
 * version twice and a fire that read a removed schedule cannot pass on its
 * successor. It lives in the schedules hash so that no script touches a
 * key it did not before. Like the others, these scripts never scan a key
 * space.
 *
 * @module
 */

const KEYS_OF = `
local SCHED, NEXT = B..'schedules', B..'schedules:next'
local REMOVED = '#version'
`;

/**
 * ARGV: now, name, definition, nextRunAt. Stores the schedule with the
 * version after the removed ones' (1 when none was removed) or the old
 * version + 1, unless it is stored with that definition already (then it
 * is left as it is). Returns the stored value.
 */
export const PUT_SCHEDULE: string = KEYS_OF + `
local name, def, nextS = ARGV[2], ARGV[3], ARGV[4]
local cur = call('HGET', SCHED, name)
local v = tonumber(call('HGET', SCHED, REMOVED) or '0') + 1
if cur then
  local ov, od = string.match(cur, '^(%d+) %S+ (.*)$')
  if od == def then return cur end
  v = tonumber(ov) + 1
end
local val = string.format('%d', v)..' '..nextS..' '..def
call('HSET', SCHED, name, val)
call('ZADD', NEXT, nextS, name)
return val
`;

/**
 * ARGV: now, name. Deletes the schedule, raising `#version` to its version.
 * Returns 1 if it existed.
 */
export const REMOVE_SCHEDULE: string = KEYS_OF + `
local name = ARGV[2]
if name == REMOVED then return 0 end
local cur = call('HGET', SCHED, name)
if not cur then return 0 end
local v = tonumber(string.match(cur, '^(%d+) '))
if v > tonumber(call('HGET', SCHED, REMOVED) or '0') then
  call('HSET', SCHED, REMOVED, string.format('%d', v))
end
call('ZREM', NEXT, name)
return call('HDEL', SCHED, name)
`;

/**
 * ARGV: now, dueBy ("" for every schedule). Returns (name, value) pairs:
 * every schedule (in no order, without `#version`), or those due by dueBy,
 * soonest first, read through the due index.
 */
export const LIST_SCHEDULES: string = KEYS_OF + `
local out = {}
if ARGV[2] == '' then
  local all = call('HGETALL', SCHED)
  for i = 1, #all, 2 do
    if all[i] ~= REMOVED then
      out[#out + 1] = all[i]
      out[#out + 1] = all[i + 1]
    end
  end
  return out
end
for _, name in ipairs(call('ZRANGEBYSCORE', NEXT, '-inf', ARGV[2])) do
  local val = call('HGET', SCHED, name)
  if val then
    out[#out + 1] = name
    out[#out + 1] = val
  end
end
return out
`;

/**
 * ARGV: now, name, version, nextRunAt, the job packed as the enqueue helper
 * takes it (lua_enqueue.ts), its key ("" for none). If the schedule still
 * has that version, moves it to nextRunAt with version + 1 and enqueues the
 * job in the same call, through the enqueue helper. Returns 0 when the
 * schedule is gone or has another version, else the helper's reply (empty,
 * or {0, holder id} when the key was held and no job was made).
 */
export const FIRE_SCHEDULE: string = KEYS_OF + `
local name, nextS = ARGV[2], ARGV[4]
local cur = call('HGET', SCHED, name)
if not cur then return 0 end
local ov, def = string.match(cur, '^(%d+) %S+ (.*)$')
if tonumber(ov) ~= tonumber(ARGV[3]) then return 0 end
call('HSET', SCHED, name, string.format('%d', tonumber(ov) + 1)..' '..nextS..' '..def)
call('ZADD', NEXT, nextS, name)
local keyOf = {}
if ARGV[6] ~= '' then keyOf[0] = ARGV[6] end
return enqueue(1, ARGV[5], keyOf)
`;
