/**
 * The Lua helpers the Redis scripts start with: the queue's key names from
 * its namespace (KEYS[1]), `now` (ARGV[1]), counters, update messages, bulk
 * writes, and the housekeeping of a claim (expired TTLs, expired leases, due
 * delayed jobs); a lease that runs out on the last attempt fails the job
 * with its keep rule applied ("retain", from lua_retention.ts) and, for a
 * job of a flow, its dependents released or cancelled ("flow", "stop",
 * "rearm", from lua_flows.ts); storing new jobs ("enqueue", from
 * lua_enqueue.ts); lanes of jobs with a group ("ready", "lanes", from
 * lua_lanes.ts) and limits ("limits", "lclaim", from lua_limits.ts). A
 * script's
 * text is `local PUB, NUMSUB = ...` (set by scriptSources in lua.ts), then
 * the helpers it needs, then the transition: only those it needs, since
 * every call runs its whole preamble.
 *
 * Updates are built only when someone listens to the queue's update channel:
 * otherwise they would be most of a script's cost, spent for nobody.
 *
 * @module
 */

import { ENQUEUE_JOBS } from "./lua_enqueue.ts";
import { INDEX, RETAIN } from "./lua_retention.ts";
import { FLOW, REARM, STOP } from "./lua_flows.ts";
import { LANES, READY } from "./lua_lanes.ts";
import { LCLAIM, LIMITS } from "./lua_limits.ts";

/** A helper's name. */
export type Helper =
  | "base"
  | "count"
  | "note"
  | "bulk"
  | "done"
  | "ready"
  | "lanes"
  | "limits"
  | "lclaim"
  | "qof"
  | "schedule"
  | "release"
  | "holds"
  | "expired"
  | "index"
  | "drop"
  | "retain"
  | "flow"
  | "stop"
  | "rearm"
  | "enqueue"
  | "purge"
  | "recover"
  | "promote";

const HELPERS: [Helper, Helper[], string][] = [
  [
    "base",
    [],
    `
local B = KEYS[1]
local NOWS = ARGV[1]
local NOW = tonumber(NOWS)
local DELAYED, ACTIVE, EXPIRY, IDS = B..'delayed', B..'active', B..'expiry', B..'ids'
local KEYIDX, COUNTS, SEQ = B..'keys', B..'counts', B..'seq'
local PAUSED = B..'paused'
local DONE, RM = B..'done:', B..'removals'
local UCH, WCH = B..'u', B..'w'
-- The member of B active that is no job (scored +inf: no lease ends then,
-- so recover never reads it). Longer than a listpack holds (64 bytes, and
-- 128, by default), it keeps the set a skiplist: a listpack, which Redis
-- uses for a set of up to 128 members, finds, adds and removes a member by
-- reading every one, and the leases of a busy queue are about that many.
local PIN = 'jobline: not a job; keeps this sorted set a skiplist, which a member over 128 bytes does (zset-max-listpack-value) so that a lease is found, added and removed in O(log n)'
local call = redis.call
local enc = cjson.encode
local function J(id) return B..'j:'..id end
local function R(t) return B..'r:'..t end
-- An integral number as text: '%d' formats an integer, where tostring and
-- a number given to call() take the floating point path of printf (%.14g,
-- %.17g), several times the cost; a call's attempts, versions and token
-- numbers repeat, so each is formatted once per call.
local nums = {}
local function num(n)
  local s = nums[n]
  if not s then
    s = string.format('%d', n)
    nums[n] = s
  end
  return s
end

`,
  ],
  [
    "count",
    [],
    `local cnt = {}
local function count(s, t, d)
  local f = s..':'..t
  cnt[f] = (cnt[f] or 0) + d
end
`,
  ],
  [
    "note",
    [],
    `local ups = {}
local heard = nil
-- Updates are built only when someone subscribes: it is most of a script's
-- cost otherwise spent for nobody.
local function listening()
  if heard == nil then heard = call('PUBSUB', NUMSUB, UCH)[2] > 0 end
  return heard
end
local function note(id, t, s, pg, m, a, v, r, e, at)
  if not listening() then return end
  ups[#ups + 1] = '['..enc(id)..','..enc(t)..',"'..s..'",'..(pg or '0')..','..
    enc(m or '')..','..(a or '0')..','..at..','..v..','..(r and enc(r) or 'null')..','..
    (e and enc(e) or 'null')..']'
end
`,
  ],
  [
    "bulk",
    [],
    `-- Variadic commands gathered per key and sent in chunks; only for keys that
-- the script does not read back before done().
local bulk = {}
-- Sends what is gathered for key now (before a script reads it back).
local function flush(key)
  local e = bulk[key]
  if e and #e[2] > 0 then
    call(e[1], key, unpack(e[2]))
    e[2] = {}
  end
end
local function add(cmd, key, a, b)
  local e = bulk[key]
  if not e then
    e = {cmd, {}}
    bulk[key] = e
  end
  local l = e[2]
  l[#l + 1] = a
  if b then l[#l + 1] = b end
  if #l >= 2000 then
    call(cmd, key, unpack(l))
    e[2] = {}
  end
end
`,
  ],
  [
    "done",
    ["count", "note", "bulk"],
    `local function done()
  for key, e in pairs(bulk) do
    if #e[2] > 0 then call(e[1], key, unpack(e[2])) end
  end
  bulk = {}
  for f, d in pairs(cnt) do
    if d ~= 0 and call('HINCRBY', COUNTS, f, num(d)) == 0 then call('HDEL', COUNTS, f) end
  end
  cnt = {}
  if #ups > 0 then call(PUB, UCH, '['..table.concat(ups, ',')..']') end
  ups = {}
end
`,
  ],
  // q is a job's ready score: (100 - priority) * 2^45 + enqueue sequence.
  ["ready", [], READY],
  ["lanes", ["ready"], LANES],
  ["limits", ["lanes"], LIMITS],
  [
    "qof",
    [],
    `-- A job's ready score: its q field (a delayed, cancelled or claimed job's),
-- else the start of its lease token (older versions of these scripts kept
-- no q at a claim and made the token <score>.<version>). A job never
-- claimed, delayed or cancelled has it only as its score in R(t).
local function qof(q, lt)
  return q or string.match(lt, '^(.+)%.')
end
`,
  ],
  [
    "schedule",
    ["ready"],
    `local function schedule(id, t, q, ra, g)
  if tonumber(ra) > NOW then call('ZADD', DELAYED, ra, id) else ready(id, t, q, g) end
end
`,
  ],
  [
    "release",
    [],
    `local function release(id, k)
  if k and call('HGET', KEYIDX, k) == id then call('HDEL', KEYIDX, k) end
end
`,
  ],
  [
    "holds",
    [],
    `local function holds(id)
  local x = call('HMGET', J(id), 's', 'ea')
  return (x[1] == 'pending' or x[1] == 'processing') and
    not (x[2] and tonumber(x[2]) <= NOW)
end
`,
  ],
  [
    "expired",
    [],
    `local function expired(ea) return ea and tonumber(ea) <= NOW end
`,
  ],
  ["index", ["bulk"], INDEX],
  [
    "drop",
    ["count", "release", "limits", "index"],
    `-- f: the job's f field (a flow job's), else nil
local function drop(id, s, t, k, f)
  local y = {}
  if s == 'pending' or s == 'processing' then y = call('HMGET', J(id), 'g', 'lc', 'lt')
  else y = call('HMGET', J(id), 'kp') end
  call('DEL', J(id))
  call('ZREM', IDS, id)
  call('ZREM', EXPIRY, id)
  if s == 'pending' then
    unready(id, t, y[1])
    call('ZREM', DELAYED, id)
  elseif s == 'processing' then
    call('ZREM', ACTIVE, id)
    if y[2] and y[2] == y[3] then unrun(t, y[1], id) end
  else
    unindex(id, s, y[1])
  end
  count(s, t, -1)
  release(id, k)
  if f then
    local fid = string.match(f, '^[^\\n]*')
    local key = B..'f:'..fid
    call('ZREM', key, id)
    if call('EXISTS', key) == 0 then call('DEL', B..'fx:'..fid) end
  end
end
`,
  ],
  ["retain", ["index", "drop", "done"], RETAIN],
  ["flow", ["retain", "ready"], FLOW],
  ["stop", ["release", "flow", "limits"], STOP],
  ["rearm", ["flow", "ready"], REARM],
  ["enqueue", ["done", "holds", "ready"], ENQUEUE_JOBS],
  [
    "purge",
    ["drop"],
    `local function purge(limit)
  local ids = call('ZRANGEBYSCORE', EXPIRY, '-inf', NOWS, 'LIMIT', 0, limit)
  for _, id in ipairs(ids) do
    local x = call('HMGET', J(id), 's', 't', 'k')
    if x[1] then drop(id, x[1], x[2], x[3]) else call('ZREM', EXPIRY, id) end
  end
  return #ids
end
`,
  ],
  [
    "recover",
    ["ready", "release", "count", "note", "qof", "retain", "flow", "limits"],
    `local LEASE_EXPIRED = '{"name":"LeaseExpiredError","message":"lease expired"}'
local function recover(limit)
  local ids = call('ZRANGEBYSCORE', ACTIVE, '-inf', NOWS, 'LIMIT', 0, limit)
  for _, id in ipairs(ids) do
    call('ZREM', ACTIVE, id)
    local x = call('HMGET', J(id), 's', 'lu', 't', 'q', 'a', 'x', 'k', 'v', 'pg', 'm', 'lt', 'kp', 'f', 'g', 'lc')
    if x[1] == 'processing' and tonumber(x[2]) > NOW then
      call('ZADD', ACTIVE, x[2], id)
    elseif x[1] == 'processing' then
      local v = tonumber(x[8] or 1) + 1
      local s = 'failed'
      -- maxAttempts is the 6th line of x (packJob in records.ts)
      local ma = string.match(x[6], '^[^\\n]*\\n[^\\n]*\\n[^\\n]*\\n[^\\n]*\\n[^\\n]*\\n([^\\n]*)')
      if tonumber(x[5] or 0) < tonumber(ma) then
        s = 'pending'
        call('HSET', J(id), 's', s, 'ra', NOWS, 'e', LEASE_EXPIRED, 'ua', NOWS, 'v', v)
        ready(id, x[3], qof(x[4], x[11]), x[14])
      else
        call('HSET', J(id), 's', s, 'co', NOWS, 'e', LEASE_EXPIRED, 'ua', NOWS, 'v', v)
        release(id, x[7])
      end
      count('processing', x[3], -1)
      count(s, x[3], 1)
      if x[15] and x[15] == x[11] then unrun(x[3], x[14], id) end
      call(PUB, WCH, 'c'..id..' '..v)
      note(id, x[3], s, x[9], x[10], x[5], v, nil, LEASE_EXPIRED, NOWS)
      if s == 'failed' then
        if x[13] then fdone(id, s, LEASE_EXPIRED, x[13], true) end
        retain(id, s, x[3], x[12], NOWS, x[13])
      end
    end
  end
  return #ids
end
`,
  ],
  ["lclaim", ["limits", "done", "expired", "drop"], LCLAIM],
  [
    "promote",
    ["ready", "qof"],
    `local function promote(limit)
  local ids = call('ZRANGEBYSCORE', DELAYED, '-inf', NOWS, 'LIMIT', 0, limit)
  if #ids == 0 then return end
  for _, id in ipairs(ids) do
    local x = call('HMGET', J(id), 's', 't', 'q', 'lt', 'g')
    if x[1] == 'pending' then ready(id, x[2], qof(x[3], x[4]), x[5]) end
  end
  call('ZREM', DELAYED, unpack(ids))
end
`,
  ],
];

/**
 * The Lua source of the given helpers and of the helpers they use in turn,
 * in dependency order ("base" always comes first).
 */
export function prelude(needs: readonly Helper[]): string {
  const want = new Set<Helper>(["base"]);
  const visit = (name: Helper): void => {
    if (want.has(name)) return;
    want.add(name);
    for (const [n, deps] of HELPERS) if (n === name) deps.forEach(visit);
  };
  needs.forEach(visit);
  return HELPERS.filter(([n]) => want.has(n)).map(([, , code]) => code)
    .join("");
}

/** Every helper's source, in dependency order (for the Functions library). */
export function fullPrelude(): string {
  return HELPERS.map(([, , code]) => code).join("");
}
