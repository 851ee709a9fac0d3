/**
 * The Redis backend's enqueue: the helper "enqueue" (lua_prelude.ts
 * registers it) and the script that calls it; the schedule fire script
 * (lua_schedule.ts) calls the same helper, so a scheduled job is stored
 * exactly as an enqueued one. It is the hottest write of a batch: one HSET
 * per job, and per call one ZADD per key, one HINCRBY per type and one wake.
 *
 * @module
 */

/**
 * Helper "enqueue" (needs done, holds, ready). `enqueue(n, packed, keyOf)`
 * stores n jobs: `packed` is each its keep rules (the kp field, keepField
 * in records.ts; "" for none), a LF, its group ("" for none), a LF, the job
 * packed (packJob: `id t p ra ea ma createdAt ...` by lines, stored whole
 * as the job's x) and a CR; `keyOf`
 * maps a job's index (from 0) to its key. Returns (index, holder id) pairs
 * for the jobs not created because their key was held. A new job's hash
 * gets only x, t, s, kp (and ea, k, q when needed): its ready score lives
 * in R (see qof), the rest is absent until it changes. ZADDs and counters
 * go out once per key per call, then the updates and one wake. A job with
 * a group also gets g and q, and goes to its lane (lua_lanes.ts) at once.
 */
export const ENQUEUE_JOBS: string = `local function enqueue(n, packed, keyOf)
  local seq = call('INCRBY', SEQ, n) - n
  local out = {}
  local wake, wakeS = nil, nil
  local loud = listening()
  local format = string.format
  -- a job: its kp, group, x, then its id t p ra ea and createdAt
  local JOB = '([^\\n]*)\\n([^\\n]*)\\n('..string.rep('([^\\n]*)\\n', 5)..'[^\\n]*\\n([^\\n]*)\\n[^\\r]*)\\r'
  local JB = B..'j:'
  -- ZADD arguments gathered per key (ids, ready jobs by type) and jobs per
  -- type; numbers as text ('%d': see num)
  local all, na, due, made = {}, 0, {}, {}
  local i = -1
  for kp, g, x, id, t, p, ra, ea, ca in string.gmatch(packed, JOB) do
    i = i + 1
    local k = keyOf[i]
    local holder = nil
    if k then
      holder = call('HGET', KEYIDX, k)
      if holder and not holds(holder) then holder = nil end
    end
    if holder then
      out[#out + 1] = i
      out[#out + 1] = holder
    else
      seq = seq + 1
      -- the ready score; stored as q only for a delayed job (see qof)
      local q = (100 - p) * 35184372088832 + seq
      local rn = tonumber(ra)
      local later = rn > NOW
      if g == '' then g = nil end
      if ea == '' and not k and not later and not g then
        if kp == '' then call('HSET', JB..id, 'x', x, 't', t, 's', 'pending')
        else call('HSET', JB..id, 'x', x, 't', t, 's', 'pending', 'kp', kp) end
      else
        local f = {'x', x, 't', t, 's', 'pending'}
        if kp ~= '' then
          f[#f + 1] = 'kp'; f[#f + 1] = kp
        end
        if later or g then
          f[#f + 1] = 'q'; f[#f + 1] = format('%d', q)
        end
        if g then
          f[#f + 1] = 'g'; f[#f + 1] = g
        end
        if ea ~= '' then
          f[#f + 1] = 'ea'; f[#f + 1] = ea
          add('ZADD', EXPIRY, ea, id)
        end
        if k then
          f[#f + 1] = 'k'; f[#f + 1] = k
          call('HSET', KEYIDX, k, id)
        end
        call('HSET', JB..id, unpack(f))
      end
      na = na + 2
      all[na - 1] = '0'
      all[na] = id
      if later then
        add('ZADD', DELAYED, ra, id)
      elseif g then
        ready(id, t, format('%d', q), g)
      else
        local l = due[t]
        if not l then
          l = {}
          due[t] = l
        end
        l[#l + 1] = format('%d', q)
        l[#l + 1] = id
      end
      made[t] = (made[t] or 0) + 1
      if loud then note(id, t, 'pending', '0', '', '0', '1', nil, nil, ca) end
      if wake == nil or rn < wake then
        wake = rn
        wakeS = ra
      end
    end
  end
  local function zadd(key, l)
    for j = 1, #l, 2000 do call('ZADD', key, unpack(l, j, math.min(j + 1999, #l))) end
  end
  zadd(IDS, all)
  for t, l in pairs(due) do zadd(R(t), l) end
  for t, c in pairs(made) do count('pending', t, c) end
  done()
  if wake then call(PUB, WCH, 'w'..wakeS) end
  return out
end
`;

/**
 * ARGV: now, n, the n jobs packed as the helper takes them, then (index,
 * key) per job with a key (indexes from 0). Returns the helper's reply.
 */
export const ENQUEUE: string = `
local keyOf = {}
for i = 4, #ARGV, 2 do keyOf[tonumber(ARGV[i])] = ARGV[i + 1] end
return enqueue(tonumber(ARGV[2]), ARGV[3], keyOf)
`;
