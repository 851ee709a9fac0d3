/**
 * Limits in the Redis scripts (SPEC §7.3): the stored limits, how many
 * jobs run per queue, type and group, the logs of recent claims that rate
 * limits read, the claim that honours them and the groups' turns
 * (lua_lanes.ts), and the setLimits script. lua_prelude.ts registers the
 * helpers, lua.ts the scripts.
 *
 * | key | type | holds |
 * | --- | --- | --- |
 * | `B lim` | hash | `j`: the limits as JSON; `c`, `r`: the queue's concurrency, rate (`<max> <per>`); `tc<type>`, `tr<type>`; `gc`, `gr` (absent: no limits) |
 * | `B run` | hash | jobs processing under limits: `*`, `t<type>`, `g<group>` |
 * | `B rl:*`, `B rl:t<type>`, `B rl:g<group>` | zset | recent claims (by turn) of the queue, a type, a group, by claim time |
 * | `B rlx` | zset | groups with a claim log, by their last claim (stale logs go) |
 * | `B pt` | zset | groups parked by their rate, by when their window lets a claim through |
 * | `B rx` | zset | jobs counted in `B run` that have a time to live, by expiry (the claim's wake for the soonest) |
 *
 * A job claimed while limits are set gets the field `lc`, its lease token,
 * and counts in `B run` until it leaves "processing": every way out
 * (complete, fail, release, cancel, remove, a lease running out, a TTL)
 * calls unrun in the same script when `lc` is its lease token (a later
 * claim without limits leaves a stale `lc` behind, which counts nothing);
 * setLimits recounts the processing jobs.
 * So no count can drift. A group at its concurrency limit, or whose window
 * is full, is parked (lua_lanes.ts) until a slot frees or the window moves
 * on: a claim never looks at it.
 *
 * @module
 */

import { CLAIM_FIELDS } from "./records.ts";

const CLAIM_LIST = CLAIM_FIELDS.map((f) => `'${f}'`).join(", ");

/**
 * Helper "limits" (needs lanes). `unrun(t, g, id)` frees the slots of job
 * id of type t and group g (nil: none) that left "processing" counted (its
 * `lc` is its lease token): a wake (now) when a concurrency limit it
 * counted in was full, and its group unparked once under its limit and not
 * held by its rate; it leaves `B rx` too. Only what a concurrency limit
 * binds is counted: the queue (`*`) when it has one, a type when it has
 * one, a group when groups have one. `wtrim(key, spec)` trims a claim log to its window (spec `<max>
 * <per>`) and returns {key, count, max, per}; `wuntil(w)` is when it lets
 * the next claim through (0: now); `wadd(w, member)` logs a claim now.
 */
export const LIMITS: string =
  `local LIM, RUN, PT, RLX, RX = B..'lim', B..'run', B..'pt', B..'rlx', B..'rx'
local lwoke, lcache, lfull = false, {}, false
-- frees a slot of f under limit max (nil: none); true if then under it
local function lfree(f, max)
  if not max then return end
  local n = call('HINCRBY', RUN, f, '-1')
  if n <= 0 then call('HDEL', RUN, f) end
  if n + 1 >= max then lfull = true end
  return n < max
end
local function unrun(t, g, id)
  call('ZREM', RX, id)
  -- the limits cannot change during a script: read once per type
  local l = lcache[t]
  if not l then
    l = call('HMGET', LIM, 'c', 'tc'..t, 'gc', 'gr')
    l[1], l[2], l[3] = tonumber(l[1]), tonumber(l[2]), tonumber(l[3])
    lcache[t] = l
  end
  lfull = false
  lfree('*', l[1])
  if l[2] then lfree('t'..t, l[2]) end
  if g and lfree('g'..g, l[3]) and not (l[4] and call('ZSCORE', PT, g)) then
    lpark(g, false)
  end
  local full = lfull
  if full and not lwoke then
    lwoke = true
    call(PUB, WCH, 'w'..NOWS)
  end
end
local function wtrim(key, spec)
  local max, per = string.match(spec, '^(%d+) (%d+)$')
  max, per = tonumber(max), tonumber(per)
  call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.0f', NOW - per))
  return {key, call('ZCARD', key), max, per}
end
local function wuntil(w)
  if w[2] < w[3] then return 0 end
  local z = call('ZRANGE', w[1], w[2] - w[3], w[2] - w[3], 'WITHSCORES')
  return tonumber(z[2]) + w[4]
end
local function wadd(w, member)
  call('ZADD', w[1], NOWS, member)
  w[2] = w[2] + 1
  if w[2] > w[3] then
    call('ZREMRANGEBYRANK', w[1], 0, w[2] - w[3] - 1)
    w[2] = w[3]
  end
end
`;

/**
 * Helper "lclaim" (needs limits, and what the claim needs). `lclaim(types,
 * need, untilS, TOK, out)` is the claim when limits are set or a job with
 * a group waits (CLAIM in lua.ts decides with one EXISTS): job by job, the
 * best lane of each open type (a type at its limit is closed), the best of
 * those (between lanes of one group, by ready score), then its group's
 * first job of the open types (a group stays FIFO across types: that job
 * may wait in the group's lane of another type, behind another group's
 * lane there), claimed as CLAIM does and counted; a group that fills is
 * parked. A claim cut short by a rate publishes a wake for when the
 * soonest window (the queue's, a type's, a parked group's) lets one
 * through; one cut short while a concurrency limit is full (a group parked
 * under a group concurrency limit included), also for the soonest time to
 * live of a counted running job (`B rx`, by expiry: a job with one joins
 * it as it is claimed under limits or counted by setLimits, and leaves it
 * as it stops, `unrun`; one left behind goes when a claim meets it), which
 * frees its slots then.
 */
export const LCLAIM: string =
  `local function lclaim(types, need, untilS, TOK, out)
  local lim, raw = {}, call('HGETALL', LIM)
  for i = 1, #raw, 2 do lim[raw[i]] = raw[i + 1] end
  local on = #raw > 0
  local turn = tonumber(call('GET', TURN) or 0)
  local turn0, r0, r0d, rh, asked, soon = turn, nil, nil, {}, need, nil
  local function full(w)
    if not w then return false end
    local at = wuntil(w)
    if at > 0 and (not soon or at < soon) then soon = at end
    return at > 0
  end
  local qc, qw, gc, gr = nil, nil, nil, nil
  local open, tw, tc = {}, {}, {}
  if on then
    qc, gc, gr = tonumber(lim.c), tonumber(lim.gc), lim.gr
    if lim.r then qw = wtrim(B..'rl:*', lim.r) end
    for _, g in ipairs(call('ZRANGEBYSCORE', PT, '-inf', NOWS, 'LIMIT', 0, 1000)) do
      call('ZREM', PT, g)
      if not gc or tonumber(call('HGET', RUN, 'g'..g) or 0) < gc then lpark(g, false) end
    end
    if gr then
      local per = tonumber(string.match(gr, ' (%d+)$'))
      local old = call('ZRANGEBYSCORE', RLX, '-inf', string.format('%.0f', NOW - per), 'LIMIT', 0, 20)
      for _, g in ipairs(old) do call('DEL', B..'rl:g'..g) end
      if #old > 0 then call('ZREM', RLX, unpack(old)) end
    end
  end
  for _, t in ipairs(types) do
    local ok = true
    if on then
      tc[t] = tonumber(lim['tc'..t])
      if tc[t] and tonumber(call('HGET', RUN, 't'..t) or 0) >= tc[t] then ok = false end
      if lim['tr'..t] then
        tw[t] = wtrim(B..'rl:t'..t, lim['tr'..t])
        if full(tw[t]) then ok = false end
      end
    end
    if ok then open[#open + 1] = t end
  end
  local qn = qc and tonumber(call('HGET', RUN, '*') or 0) or 0
  -- per type, lanes read ahead from ln:<t> (ZRANGE of as many as the claim
  -- may take): {z, next index, the last place read (nil: all were)}. They
  -- stay the first lanes of ln:<t> while no lane goes back before the last
  -- read (a lane served goes after every lane of its level: its turn is
  -- the newest) and no lane read leaves but by a take; else read again.
  local ahead = {}
  local function lane(t)
    local a = ahead[t]
    if not a or (a[2] > #a[1] and a[3]) then
      local z = call('ZRANGE', LN(t), '0', num(need - 1), 'WITHSCORES')
      a = {z, 1, #z >= 2 * need and tonumber(z[#z]) or nil}
      ahead[t] = a
    end
    return a[1][a[2]], a[1][a[2] + 1]
  end
  -- past lane(t)'s lane, which left ln:<t> or went back to place (nil: it
  -- left); read again if that is before the last place read
  local function passed(t, place)
    local a = ahead[t]
    -- (nil: read again already)
    if not a then return end
    a[2] = a[2] + 2
    if place and (not a[3] or tonumber(place) <= a[3]) then ahead[t] = nil end
  end
  -- whether no type but t can have a lane (so no group has one of another
  -- type): every lane holds pending jobs, counted (in cnt until done())
  local kinds = nil
  local function solo(t)
    if not kinds then
      kinds = {}
      local c = call('HGETALL', COUNTS)
      for i = 1, #c, 2 do
        if string.sub(c[i], 1, 8) == 'pending:' and tonumber(c[i + 1]) > 0 then kinds[string.sub(c[i], 9)] = true end
      end
      for f, d in pairs(cnt) do
        if d > 0 and string.sub(f, 1, 8) == 'pending:' then kinds[string.sub(f, 9)] = true end
      end
    end
    for k in pairs(kinds) do if k ~= t then return false end end
    return true
  end
  while need > 0 and #open > 0 do
    if (qc and qn >= qc) or full(qw) then break end
    -- per open type its best lane {t, g, place, q, next q, id}, then the best of those
    local best = nil
    for _, t in ipairs(open) do
      local c = nil
      local lg, lp = lane(t)
      while lg do
        local h = call('ZRANGE', GL(t, lg), '0', '1', 'WITHSCORES')
        if #h > 0 then
          c = {t, lg, tonumber(lp), h[2], h[4], h[1]}
          break
        end
        -- a lane a claim emptied, met first in line: it goes
        ldrop(t, lg)
        passed(t, nil)
        lg, lp = lane(t)
      end
      -- the head of r:<t> (false: empty) changes in this loop only as it is taken
      if rh[t] == nil then rh[t] = call('ZRANGE', R(t), 0, 0, 'WITHSCORES')[2] or false end
      if rh[t] then
        -- one turn for the jobs without a group, of every type
        if not r0 then r0 = tonumber(call('HGET', R0, ' ') or 0) end
        local place = lscore(tonumber(rh[t]), r0)
        if not c or place < c[3] then c = {t, '', place, rh[t]} end
      end
      if c and (not best or (c[2] == best[2] and tonumber(c[4]) < tonumber(best[4])) or
        (c[2] ~= best[2] and c[3] < best[3])) then best = c end
    end
    if not best then break end
    local t, g = best[1], best[2]
    turn = turn + 1
    local id, park, via = nil, false, nil
    if g == '' then
      g = nil
      id = call('ZPOPMIN', R(t))[1]
      rh[t], r0, r0d = nil, turn, turn
    else
      -- A group's jobs stay FIFO across types: its first job of the open
      -- types may wait in its lane of another type, behind another group's
      -- lane there. Then that lane serves (via: the best lane, which keeps
      -- its job and takes the turn too, as the group's place in line).
      if #open > 1 and not solo(t) then
        for _, t2 in ipairs(call('SMEMBERS', GT(g))) do
          local ok = false
          for _, o in ipairs(open) do if o == t2 then ok = true end end
          if ok and t2 ~= best[1] then
            local h = call('ZRANGE', GL(t2, g), '0', '1', 'WITHSCORES')
            if #h > 0 and tonumber(h[2]) < tonumber(best[4]) then
              via = via or best
              best = {t2, g, nil, h[2], h[4], h[1]}
            end
          end
        end
        t = best[1]
      end
      -- (ZREM: a ZPOPMIN would format the score again)
      id = best[6]
      call('ZREM', GL(t, g), id)
    end
    local x = call('HMGET', J(id), ${CLAIM_LIST})
    x[11] = best[4]
    if x[1] == 'pending' and expired(x[5]) then
      drop(id, x[1], x[2], x[6])
    elseif x[1] == 'pending' then
      local a = num(tonumber(x[9] or 0) + 1)
      local v = num(tonumber(x[10] or 1) + 1)
      local tok = TOK..num(#out + 1)
      if on then
        call('HSET', J(id), 's', 'processing', 'a', a, 'sa', NOWS, 'lt', tok, 'lu', untilS,
          'ua', NOWS, 'v', v, 'q', x[11], 'lc', tok)
        if x[5] then call('ZADD', RX, x[5], id) end
      else
        call('HSET', J(id), 's', 'processing', 'a', a, 'sa', NOWS, 'lt', tok, 'lu', untilS,
          'ua', NOWS, 'v', v, 'q', x[11])
      end
      add('ZADD', ACTIVE, untilS, id)
      count('pending', t, -1)
      count('processing', t, 1)
      note(id, t, 'processing', x[7], x[8], a, v, nil, x[12], NOWS)
      out[#out + 1] = x
      need = need - 1
      if on then
        if qc then qn = call('HINCRBY', RUN, '*', '1') end
        if qw then wadd(qw, turn) end
        local shut = false
        if tw[t] then
          wadd(tw[t], turn)
          shut = full(tw[t])
        end
        if tc[t] and call('HINCRBY', RUN, 't'..t, '1') >= tc[t] then shut = true end
        if shut then
          for i, o in ipairs(open) do if o == t then table.remove(open, i) break end end
        end
        if g and gr then
          local w = wtrim(B..'rl:g'..g, gr)
          wadd(w, turn)
          call('ZADD', RLX, NOWS, g)
          local at = wuntil(w)
          if at > 0 then
            call('ZADD', PT, string.format('%.0f', at), g)
            park = true
          end
        end
        if g and gc and call('HINCRBY', RUN, 'g'..g, '1') >= gc then park = true end
      end
    end
    -- a turn is the group's: its lanes of other types go after the others
    if g and not solo(t) then
      for _, t2 in ipairs(lturn(g, turn, t)) do ahead[t2] = nil end
    end
    if via then
      -- the best lane, its first job unchanged, goes after the others
      local vt = via[1]
      local place = num(lscore(tonumber(via[4]), turn))
      call('ZADD', LN(vt), place, g)
      passed(vt, place)
      ahead[t] = nil
      ltook(t, g, best[5], turn, park, false)
      if park then ahead = {} end
    elseif g then
      local one = not park or solo(t)
      passed(t, ltook(t, g, best[5], turn, park, one))
      -- other types' lanes parked
      if not one then ahead = {} end
    end
  end
  if #out > 0 then add('ZADD', ACTIVE, '+inf', PIN) end
  if turn > turn0 then call('SET', TURN, turn) end
  if r0d then call('HSET', R0, ' ', r0d) end
  if on and #out < asked then
    local z = call('ZRANGE', PT, 0, 0, 'WITHSCORES')
    if #z > 0 and (not soon or tonumber(z[2]) < soon) then soon = tonumber(z[2]) end
    -- a full concurrency limit frees when a running job's time to live
    -- runs out, which nothing announces: a wake for the soonest expiry
    local capped = (qc and qn >= qc) or (gc and call('HLEN', PK) > 0)
    for _, t in ipairs(types) do
      if tc[t] and tonumber(call('HGET', RUN, 't'..t) or 0) >= tc[t] then capped = true end
    end
    if capped then
      -- the soonest of a counted running job (RX: those that stopped
      -- since leave it as they are met, 16 at most a claim)
      for _ = 1, 16 do
        local e = call('ZRANGE', RX, 0, 0, 'WITHSCORES')
        if #e == 0 then break end
        local y = call('HMGET', J(e[1]), 's', 'lc', 'lt')
        if y[1] == 'processing' and y[2] and y[2] == y[3] then
          local at = tonumber(e[2])
          if not soon or at < soon then soon = at end
          break
        end
        call('ZREM', RX, e[1])
      end
    end
    if soon then call(PUB, WCH, 'w'..string.format('%.0f', soon)) end
  end
end
`;

/**
 * ARGV: now, the limits as JSON ("" for none), then the `B lim` fields
 * (field, value pairs). Replaces the limits: claim logs and parking start
 * afresh, the processing jobs are counted again (`lc` set on each, and
 * those with a time to live put in `B rx`, or dropped when no limit is
 * left), the groups at their limit are parked, and workers are woken (a
 * limit may have loosened). Returns 1.
 */
export const SET_LIMITS: string = `
local old = call('HKEYS', LIM)
for _, f in ipairs(old) do
  if string.sub(f, 1, 2) == 'tr' then call('DEL', B..'rl:t'..string.sub(f, 3)) end
end
for _, g in ipairs(call('ZRANGE', RLX, 0, -1)) do call('DEL', B..'rl:g'..g) end
for _, g in ipairs(call('HKEYS', PK)) do lpark(g, false) end
call('DEL', LIM, RUN, RLX, PT, RX, B..'rl:*')
local on = ARGV[2] ~= ''
if on then call('HSET', LIM, 'j', ARGV[2], unpack(ARGV, 3)) end
local c, gc = {}, nil
if on then
  c = call('HMGET', LIM, 'c', 'gc')
  gc = tonumber(c[2])
end
for _, id in ipairs(call('ZRANGE', ACTIVE, 0, -1)) do
  local x = call('HMGET', J(id), 's', 't', 'g', 'lt', 'ea')
  if x[1] == 'processing' and on then
    call('HSET', J(id), 'lc', x[4])
    if x[5] then call('ZADD', RX, x[5], id) end
    if c[1] then call('HINCRBY', RUN, '*', 1) end
    if call('HEXISTS', LIM, 'tc'..x[2]) == 1 then call('HINCRBY', RUN, 't'..x[2], 1) end
    if x[3] and gc then call('HINCRBY', RUN, 'g'..x[3], 1) end
  elseif x[1] == 'processing' then
    call('HDEL', J(id), 'lc')
  end
end
if gc then
  local run = call('HGETALL', RUN)
  for i = 1, #run, 2 do
    if string.sub(run[i], 1, 1) == 'g' and tonumber(run[i + 1]) >= gc then
      lpark(string.sub(run[i], 2), true)
    end
  end
end
call(PUB, WCH, 'w'..NOWS)
return 1
`;

/** ARGV: now. Returns the limits as JSON, or false when none. */
export const GET_LIMITS: string = `
return call('HGET', LIM, 'j')
`;
