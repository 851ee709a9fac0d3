/**
 * The claim script of the Redis Streams backend (lua.ts registers it). A
 * claim reads due jobs from the streams of the types it declares through
 * the consumer group: first the entries to deliver again (a lease that ran
 * out, a job given back: XCLAIM), then new entries (XREADGROUP), in the
 * order they became due across types. Before that it deletes expired jobs,
 * recovers expired leases (queue-wide), moves its types' due delayed jobs
 * into their streams (XADD) and acknowledges entries left to acknowledge.
 *
 * An entry delivered whose job is no longer due through it (cancelled,
 * removed, expired, rescheduled, or due again through a newer entry) is
 * acknowledged and skipped: those transitions leave an undelivered entry in
 * place, since a stream cannot take one out of line without a scan.
 *
 * @module
 */

/**
 * ARGV (after the common ones): limit, lease until, token prefix. A job's
 * token is `<type>/<prefix><n>` for the n-th job of the reply, so the calls
 * that carry it know the stream to acknowledge in. Returns per job {id,
 * state, job, key, error} after the claim.
 *
 * A claim of every type ("1" after the prefix) declares the types the
 * caller knows of. If a type with pending or processing jobs is not among
 * them, it changes nothing and returns {"types", every such type}, for the
 * caller to try again with them.
 */
export const CLAIM: string = `
local need = tonumber(ARGV[A + 1])
local untilS = ARGV[A + 2]
local TOK = ARGV[A + 3]
if ARGV[A + 4] == '1' then
  local want, missing = {'types'}, false
  for _, f in ipairs(call('HKEYS', COUNTS)) do
    local s, t = string.match(f, '^(%a+):(.*)$')
    if s == 'pending' or s == 'processing' then
      want[#want + 1] = t
      if not S[t] then missing = true end
    end
  end
  if missing then return want end
end
purge(100)
recover(100)
local open = {}
local paused = {}
if call('SCARD', PAUSED) > 0 then
  for _, t in ipairs(call('SMEMBERS', PAUSED)) do paused[t] = true end
end
if not paused[''] then
  for _, t in ipairs(TYPES) do
    if not paused[t] then open[#open + 1] = t end
  end
end
local function promote(t)
  local ids = call('ZRANGEBYSCORE', D[t], '-inf', NOWS, 'LIMIT', 0, 1000)
  if #ids == 0 then return end
  for _, id in ipairs(ids) do
    local f = rd(id)
    if f and f[2] == 'pending' and f[14] == 'd' then
      f[13], f[14] = xadd(t, id, dataOf(id)), 's'
      wr(id, f)
    end
  end
  call('ZREM', D[t], unpack(ids))
end
local function settle(t)
  local m = call('ZRANGEBYLEX', UNACKED, '['..t..'\\t', '('..t..'\\t\\255', 'LIMIT', 0, 1000)
  if #m == 0 then return end
  local es = {}
  for i, x in ipairs(m) do es[i] = string.sub(x, #t + 2) end
  call('XACK', S[t], G, unpack(es))
  call('ZREM', UNACKED, unpack(m))
end
local readable = {}
for _, t in ipairs(open) do
  promote(t)
  if call('EXISTS', S[t]) == 1 then
    settle(t)
    readable[#readable + 1] = t
  end
end
local taken = {}
local function take(t, id, se, f)
  f[2], f[3], f[4] = 'processing', inc(f[3]), inc(f[4])
  f[8], f[9], f[11], f[12] = NOWS, NOWS, t..'/'..TOK..(#taken + 1), untilS
  f[13], f[14] = se, 'p'
  wr(id, f)
  add('ZADD', ACTIVE, nil, untilS, id)
  count('pending', t, -1)
  count('processing', t, 1)
  note(id, f)
  taken[#taken + 1] = id
  need = need - 1
end
-- Entries to deliver again come first, oldest entry first.
if need > 0 and #readable > 0 then
  local cands = {}
  for _, t in ipairs(readable) do
    local m = call('ZRANGEBYLEX', REDO, '['..t..'\\t', '('..t..'\\t\\255', 'LIMIT', 0, need)
    for _, x in ipairs(m) do cands[#cands + 1] = {string.sub(x, #t + 2, #t + 17), t, x} end
  end
  table.sort(cands, function(a, b) return a[1] < b[1] end)
  local ids = {}
  for i, c in ipairs(cands) do ids[i] = string.sub(c[3], #c[2] + 19) end
  prefetch(ids)
  local again = {}
  for _, c in ipairs(cands) do
    if need == 0 then break end
    local t = c[2]
    local id = string.sub(c[3], #t + 19)
    call('ZREM', REDO, c[3])
    local f = rd(id)
    if f and f[2] == 'pending' and f[14] == 'r' then
      if expired(f) then
        drop(id, f)
      else
        if f[13] ~= '' then
          again[t] = again[t] or {}
          table.insert(again[t], f[13])
        end
        take(t, id, f[13], f)
      end
    end
  end
  for t, l in pairs(again) do call('XCLAIM', S[t], G, CONSUMER, 0, unpack(l)) end
end
local function seqOf(e) return tonumber(string.match(e, '%-(%d+)$')) end
local function lastRead(sk)
  for _, g in ipairs(call('XINFO', 'GROUPS', sk)) do
    local name, last
    for i = 1, #g, 2 do
      if g[i] == 'name' then name = g[i + 1] elseif g[i] == 'last-delivered-id' then last = g[i + 1] end
    end
    if name == G then return last end
  end
  return '0-0'
end
local function read(t, n, got)
  local r = call('XREADGROUP', 'GROUP', G, CONSUMER, 'COUNT', n, 'STREAMS', S[t], '>')
  if not r then return end
  for _, e in ipairs(r[1][2]) do got[#got + 1] = {seqOf(e[1]), t, e[1], e[2][2]} end
  lag(t, -#r[1][2])
end
-- Then new entries: of several types, the next ones of each stream are
-- looked at first, so that only those due first are delivered.
while need > 0 and #readable > 0 do
  local got = {}
  if #readable == 1 then
    read(readable[1], need, got)
  else
    local cands = {}
    for _, t in ipairs(readable) do
      for _, e in ipairs(call('XRANGE', S[t], '('..lastRead(S[t]), '+', 'COUNT', need)) do
        cands[#cands + 1] = {seqOf(e[1]), t}
      end
    end
    table.sort(cands, function(a, b) return a[1] < b[1] end)
    local per = {}
    for j = 1, math.min(need, #cands) do per[cands[j][2]] = (per[cands[j][2]] or 0) + 1 end
    for t, n in pairs(per) do read(t, n, got) end
    table.sort(got, function(a, b) return a[1] < b[1] end)
  end
  if #got == 0 then break end
  local ids = {}
  for i, g in ipairs(got) do ids[i] = g[4] end
  prefetch(ids)
  for _, g in ipairs(got) do
    local t, e, id = g[2], g[3], g[4]
    local f = rd(id)
    if f and f[2] == 'pending' and f[14] == 's' and f[13] == e and not expired(f) then
      take(t, id, e, f)
    else
      if f and f[2] == 'pending' and f[14] == 's' and f[13] == e then drop(id, f) end
      add('XACK', S[t], G, e)
    end
  end
end
done()
tidy()
local out = {}
if #taken > 0 then
  local xs = call('HMGET', JOB, unpack(taken))
  local ks = call('HMGET', KID, unpack(taken))
  local es = call('HMGET', ERR, unpack(taken))
  for i, id in ipairs(taken) do out[i] = {id, stc[id], xs[i], ks[i], es[i]} end
end
return out
`;
