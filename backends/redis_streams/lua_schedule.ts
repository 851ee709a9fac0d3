/**
 * The Redis Streams backend's schedule scripts (SPEC §8): put, remove and
 * list (fire, which enqueues, is in lua_enqueue.ts). A schedule is a field
 * of the `sched` hash, `<version>\n<nextRunAt>\n<definition>`, and a member
 * of the `due` set by its next occurrence, so listing the due ones reads an
 * index, not every schedule.
 *
 * @module
 */

/**
 * ARGV: name, definition, next occurrence. Creates the schedule (version
 * 1) or replaces it (version + 1); one stored with the same definition is
 * left as it is. Returns {version, nextRunAt, definition} as stored.
 */
export const PUT_SCHEDULE: string = `
local name, def, nx = ARGV[A + 1], ARGV[A + 2], ARGV[A + 3]
local v = '1'
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

/** ARGV: name. Returns 1 if the schedule existed. */
export const REMOVE_SCHEDULE: string = `
call('ZREM', DUE, ARGV[A + 1])
return call('HDEL', SCHED, ARGV[A + 1])
`;

/**
 * ARGV: due by ("" for every schedule). Returns (name, stored value)
 * pairs: every schedule, or those due by then, soonest first.
 */
export const SCHEDULES: string = `
if ARGV[A + 1] == '' then return call('HGETALL', SCHED) end
local out = {}
for _, name in ipairs(call('ZRANGEBYSCORE', DUE, '-inf', ARGV[A + 1])) do
  local v = call('HGET', SCHED, name)
  if v then
    out[#out + 1] = name
    out[#out + 1] = v
  end
end
return out
`;
