/**
 * The Lua helpers that spare the Redis Streams scripts a Redis call per
 * job (lua_prelude.ts registers them): the job states a call reads and
 * writes, kept in the call and written together, and other writes
 * gathered per key and sent together. done() sends both (through the
 * hooks it runs).
 *
 * @module
 */

/**
 * Helper "state" (key ST). `rd(id)` is a job's state fields (nil when there
 * is no job), `prefetch(ids)` reads many states in one call, `wr(id, f)`
 * writes fields, `unset(id)` deletes a state at once (a pending write of it
 * is dropped). Reads see the call's own writes.
 */
export const STATE: string = `local PAT = '^'..string.rep('(%S*) ', 17)..'(.*)$'
-- id -> state text (false: no job) of the jobs this call read or wrote
local stc, dirty = {}, {}
local function rd(id)
  local x = stc[id]
  if x == nil then
    x = call('HGET', ST, id)
    stc[id] = x
  end
  if not x then return nil end
  return {string.match(x, PAT)}
end
local function prefetch(ids)
  local miss = {}
  for _, id in ipairs(ids) do if stc[id] == nil then miss[#miss + 1] = id end end
  for i = 1, #miss, 1000 do
    local part = {unpack(miss, i, math.min(i + 999, #miss))}
    local v = call('HMGET', ST, unpack(part))
    for j, id in ipairs(part) do stc[id] = v[j] end
  end
end
local function wr(id, f)
  stc[id] = table.concat(f, ' ')
  dirty[id] = true
end
local function unset(id)
  stc[id] = false
  dirty[id] = nil
  call('HDEL', ST, id)
end
hooks[#hooks + 1] = function()
  local l = {}
  for id in pairs(dirty) do
    l[#l + 1] = id
    l[#l + 1] = stc[id]
    if #l >= 2000 then
      call('HSET', ST, unpack(l))
      l = {}
    end
  end
  if #l > 0 then call('HSET', ST, unpack(l)) end
  dirty = {}
end
local function expired(f) return f[15] ~= '' and tonumber(f[15]) <= NOW end
local function inc(v) return tostring(tonumber(v) + 1) end
`;

/**
 * Helper "bulk". `add(cmd, key, pre, a, b)` gathers arguments `a` (and `b`)
 * of a variadic command on `key` (`pre`, if not nil, goes before them:
 * XACK's group); `flush(key)` sends what is gathered for a key now, before
 * a script reads it back. Only for keys the call does not read back before
 * done() unless it flushes them first.
 */
export const BULK: string = `local bulk = {}
local function send(e)
  local l = e[4]
  if #l == 0 then return end
  if e[3] then call(e[1], e[2], e[3], unpack(l)) else call(e[1], e[2], unpack(l)) end
  e[4] = {}
end
local function flush(key)
  for _, e in pairs(bulk) do if e[2] == key then send(e) end end
end
local function add(cmd, key, pre, a, b)
  local k = cmd..'\\0'..key
  local e = bulk[k]
  if not e then
    e = {cmd, key, pre, {}}
    bulk[k] = e
  end
  local l = e[4]
  l[#l + 1] = a
  if b ~= nil then l[#l + 1] = b end
  if #l >= 2000 then send(e) end
end
hooks[#hooks + 1] = function()
  for _, e in pairs(bulk) do send(e) end
end
`;
