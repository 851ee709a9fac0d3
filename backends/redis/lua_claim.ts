/**
 * The Redis backend's claim script (lua.ts registers it with the helpers it
 * uses): the housekeeping a claim starts with (expired TTLs, expired
 * leases, due delayed jobs), the paused types, then the due jobs of the
 * types asked for in priority and enqueue order, or the claim of
 * lua_limits.ts when limits are set or a job with a group waits. It is the
 * hottest script with the completion: per job one HMGET, one HSET and one
 * ZADD gathered per call.
 *
 * @module
 */

import { CLAIM_FIELDS } from "./records.ts";

const CLAIM_LIST = CLAIM_FIELDS.map((f) => `'${f}'`).join(", ");

/**
 * ARGV: now, limit, lease until, token prefix, number of types (0: every
 * type), types... Returns, per claimed job, the values of CLAIM_FIELDS
 * (records.ts) as they were before the claim (false for a missing field):
 * the caller applies the claim's changes (status "processing", attempt + 1,
 * version + 1, token = `<prefix><n>` for the n-th job of the reply,
 * startedAt = updatedAt = now, lease until) itself, which spares the script
 * building them. The prefix is random, made by the caller for this claim:
 * a token tells nothing of its job's id or order. The job's ready score is
 * kept as q, so that it goes back to its place in line if it returns to
 * pending.
 */
export const CLAIM: string = `
local need = tonumber(ARGV[2])
local untilS = ARGV[3]
local TOK = ARGV[4]
local nt = tonumber(ARGV[5])
purge(100)
recover(100)
promote(1000)
local paused = nil
if call('EXISTS', PAUSED) == 1 then
  paused = {}
  for _, t in ipairs(call('SMEMBERS', PAUSED)) do paused[t] = true end
end
local types = {}
if nt == 0 then
  -- Every type with due jobs has pending jobs, so a count field (or a change
  -- of one made above and not yet written).
  local known = {}
  local function consider(f)
    if string.sub(f, 1, 8) == 'pending:' then
      local t = string.sub(f, 9)
      if not known[t] then
        known[t] = true
        types[#types + 1] = t
      end
    end
  end
  for _, f in ipairs(call('HKEYS', COUNTS)) do consider(f) end
  for f, d in pairs(cnt) do if d > 0 then consider(f) end end
else
  for i = 1, nt do types[i] = ARGV[5 + i] end
end
if paused then
  local open = {}
  if not paused[''] then
    for _, t in ipairs(types) do if not paused[t] then open[#open + 1] = t end end
  end
  types = open
end
local out = {}
local JB = B..'j:'
-- limits set or a job with a group waiting: the claim of lua_limits.ts
if #types > 0 and call('EXISTS', LIM, GD) > 0 then
  lclaim(types, need, untilS, TOK, out)
  need = 0
end
while need > 0 and #types > 0 do
  local ids, qs = {}, {}
  if #types == 1 then
    local z = call('ZPOPMIN', R(types[1]), need)
    for i = 1, #z, 2 do
      ids[#ids + 1] = z[i]
      qs[#qs + 1] = z[i + 1]
    end
  else
    local all = {}
    for _, t in ipairs(types) do
      local z = call('ZRANGE', R(t), 0, need - 1, 'WITHSCORES')
      for i = 1, #z, 2 do all[#all + 1] = {tonumber(z[i + 1]), z[i], t, z[i + 1]} end
    end
    table.sort(all, function(a, b) return a[1] < b[1] end)
    for i = 1, math.min(need, #all) do
      ids[i] = all[i][2]
      qs[i] = all[i][4]
      call('ZREM', R(all[i][3]), all[i][2])
    end
  end
  if #ids == 0 then break end
  -- per job: one HMGET and one HSET; counts by type and the lease index
  -- once per batch
  local moved, act = {}, {}
  local loud = listening()
  for j, id in ipairs(ids) do
    local key = JB..id
    -- s t x ra ea k pg m a v q e p kp f g (CLAIM_FIELDS); q is the ready score
    local x = call('HMGET', key, ${CLAIM_LIST})
    x[11] = qs[j]
    if x[1] == 'pending' then
      if expired(x[5]) then
        drop(id, x[1], x[2], x[6])
      else
        local a = num(tonumber(x[9] or 0) + 1)
        local v = num(tonumber(x[10] or 1) + 1)
        local n = #out + 1
        call('HSET', key, 's', 'processing', 'a', a, 'sa', NOWS, 'lt', TOK..num(n),
          'lu', untilS, 'ua', NOWS, 'v', v, 'q', x[11])
        act[#act + 1] = untilS
        act[#act + 1] = id
        moved[x[2]] = (moved[x[2]] or 0) + 1
        if loud then note(id, x[2], 'processing', x[7], x[8], a, v, nil, x[12], NOWS) end
        out[n] = x
        need = need - 1
      end
    end
  end
  if #act > 0 then
    act[#act + 1] = '+inf'
    act[#act + 1] = PIN
  end
  for i = 1, #act, 2000 do call('ZADD', ACTIVE, unpack(act, i, math.min(i + 1999, #act))) end
  for t, c in pairs(moved) do
    count('pending', t, -c)
    count('processing', t, c)
  end
end
done()
tidy()
fwake()
return out
`;
