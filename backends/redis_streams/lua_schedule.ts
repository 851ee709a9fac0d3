/**
 * The Redis Streams backend's schedule scripts (SPEC §8): put, remove and
 * list (fire, which enqueues, is in lua_enqueue.ts). A schedule is a field
 * of the `sched` hash, `<version>\n<nextRunAt>\n<definition>`, and a member
 * of the `due` set by its next occurrence, so listing the due ones reads an
 * index, not every schedule. The field `#version` of `sched` (never a
 * schedule's name: names have no `#`; never listed) holds the highest
 * version a removed schedule had: a new schedule starts above it, so a
 * (queue, name) never has the same version twice and a fire that read a
 * removed schedule cannot pass on its successor. It lives in `sched` so
 * that the scripts declare no other key.
 *
 * @module
 */

/** The field of `sched` that holds the highest removed version. */
const REMOVED = "local REMOVED = '#version'\n";

/**
 * ARGV: name, definition, next occurrence. Creates the schedule (at the
 * version after the removed ones', 1 when none was removed) or replaces it
 * (version + 1); one stored with the same definition is left as it is.
 * Returns {version, nextRunAt, definition} as stored.
 */
export const PUT_SCHEDULE: string = REMOVED + `
local name, def, nx = ARGV[A + 1], ARGV[A + 2], ARGV[A + 3]
local v = tostring(tonumber(call('HGET', SCHED, REMOVED) or '0') + 1)
local old = call('HGET', SCHED, name)
if old then
  local ov, on, od = string.match(old, '^(%d+)\\n([^\\n]*)\\n(.*)$')
  if od == def then return {ov, on, od} end
  v = tostring(tonumber(ov) + 1)
end
call('HSET', SCHED, name, v..'\\n'..nx..'\\n'..def)
call('ZADD', DUE, nx, name)
return {v, nx, def}
`;

/**
 * ARGV: name. Deletes the schedule, raising `#version` to its version.
 * Returns 1 if it existed.
 */
export const REMOVE_SCHEDULE: string = REMOVED + `
local name = ARGV[A + 1]
if name == REMOVED then return 0 end
local old = call('HGET', SCHED, name)
if not old then return 0 end
local v = tonumber(string.match(old, '^(%d+)\\n'))
if v > tonumber(call('HGET', SCHED, REMOVED) or '0') then
  call('HSET', SCHED, REMOVED, tostring(v))
end
call('ZREM', DUE, name)
return call('HDEL', SCHED, name)
`;

/**
 * ARGV: due by ("" for every schedule). Returns (name, stored value)
 * pairs: every schedule (without `#version`), or those due by then,
 * soonest first.
 */
export const SCHEDULES: string = REMOVED + `
local out = {}
if ARGV[A + 1] == '' then
  local all = call('HGETALL', SCHED)
  for i = 1, #all, 2 do
    if all[i] ~= REMOVED then
      out[#out + 1] = all[i]
      out[#out + 1] = all[i + 1]
    end
  end
  return out
end
for _, name in ipairs(call('ZRANGEBYSCORE', DUE, '-inf', ARGV[A + 1])) do
  local v = call('HGET', SCHED, name)
  if v then
    out[#out + 1] = name
    out[#out + 1] = v
  end
end
return out
`;
