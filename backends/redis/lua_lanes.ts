/**
 * Lanes in the Redis scripts (SPEC §7.4): where a due pending job waits,
 * by type and group, so that groups of equal priority take turns. The
 * helper "ready" (lua_prelude.ts registers it) puts a job in line and takes
 * it out; "lanes" parks and unparks a group's lanes. It never counts or
 * publishes (lua_limits.ts does).
 *
 * A job without a group waits in `B r:<type>` as ever (the plain claim
 * reads only that). A job with a group waits in its lane, and each lane has
 * a place among its type's lanes:
 *
 * | key | type | holds |
 * | --- | --- | --- |
 * | `B gl:<type>/<group>` | zset | a lane: its due jobs by ready score |
 * | `B ln:<type>` | zset | the type's lanes a claim may take from, by place |
 * | `B gt:<group>` | set | the types the group has a lane of |
 * | `B pk` | hash | parked groups (a group limit holds them back): group -> its lanes' places, `<type> <place> ...` |
 * | `B gd` | string | how many lanes hold jobs (absent: none; the claim's cheap check) |
 * | `B r0` | hash | field `' '`: the turn the jobs without a group, of every type, were last served (fields named by a type: before, one per type; no longer read) |
 * | `B turn` | string | the last turn given |
 *
 * A lane's place is `(100 - priority) * 2^46 + w` for its first job's
 * priority, where `w` is that job's enqueue sequence while the lane was
 * never served, else `2^45 + the turn it was last served`: lower goes
 * first, so priority first, then a lane never served, then the one served
 * longest ago. It fits a double exactly (sequences and turns stay below
 * 2^45). A turn is the group's: serving one of its lanes moves its lanes of
 * every other type to that turn (`lturn`). A lane a claim empties stays in
 * `B ln:<type>` at its new place, counted in no `B gd`, until a claim meets
 * it first in line (`ldrop`): a group whose next job arrives before then
 * (a chain, each job enqueued as the last one ends) keeps its turn instead
 * of coming first as a group never served would. Every step here is a few
 * O(log n) commands; none scans lanes or jobs.
 *
 * @module
 */

/**
 * Helper "ready". `ready(id, t, q, g)` puts a due job (ready score q) in
 * line: `B r:<t>` without a group (g nil), else its lane; `unready(id, t,
 * g)` takes it out. `lsettle(t, g, served, refill)` puts a lane back in its
 * place after its jobs changed (served: a new turn, else the one it had;
 * refill: its first job came to a lane a claim emptied; a new lane takes
 * its group's turn), or takes it out when empty. `lscore(q, served)` is a lane's place,
 * `lserved(place)` the turn in it; `lparked(v)` reads a `B pk` value
 * (type -> place), `lpacked(places)` writes one.
 */
export const READY: string =
  `local GD, PK, R0, TURN = B..'gd', B..'pk', B..'r0', B..'turn'
local P45, P46 = 35184372088832, 70368744177664
local function GL(t, g) return B..'gl:'..t..'/'..g end
local function LN(t) return B..'ln:'..t end
local function GT(g) return B..'gt:'..g end
local function lscore(q, served)
  local pr = math.floor(q / P45)
  if served > 0 then return pr * P46 + P45 + served end
  return pr * P46 + (q - pr * P45)
end
local function lserved(place)
  if not place then return 0 end
  local r = place - math.floor(place / P46) * P46
  if r >= P45 then return r - P45 end
  return 0
end
local function lparked(v)
  local places = {}
  for t, place in string.gmatch(v, '(%S+) (%S+)') do places[t] = place end
  return places
end
local function lpacked(places)
  local l = {}
  for t, place in pairs(places) do l[#l + 1] = t..' '..place end
  return table.concat(l, ' ')
end
local function lsettle(t, g, served, refill)
  local pk = call('HGET', PK, g)
  local places, old = nil, nil
  if pk then
    places = lparked(pk)
    old = places[t]
    if not old then
      -- an emptied lane a park of its group left behind (only it can be):
      -- its place goes with the group's
      old = call('ZSCORE', LN(t), g)
      if old then
        call('ZREM', LN(t), g)
        refill = true
      end
    end
  else
    old = call('ZSCORE', LN(t), g)
  end
  local head = call('ZRANGE', GL(t, g), '0', '0', 'WITHSCORES')
  if #head == 0 then
    if not old then return end
    if pk then
      places[t] = nil
      call('HSET', PK, g, lpacked(places))
    else
      call('ZREM', LN(t), g)
    end
    call('SREM', GT(g), t)
    if call('DECR', GD) <= 0 then call('DEL', GD) end
    return
  end
  -- a turn is the group's: a new lane, or one a claim emptied (whose turn
  -- a claim of one type did not move), takes the latest of its lanes'
  if not served and (not old or refill) then
    served = lserved(old and tonumber(old))
    for _, t2 in ipairs(call('SMEMBERS', GT(g))) do
      local p2 = (places and places[t2]) or call('ZSCORE', LN(t2), g)
      local s2 = lserved(p2 and tonumber(p2))
      if s2 > served then served = s2 end
    end
  end
  if not old then
    call('SADD', GT(g), t)
    call('INCR', GD)
  elseif refill then
    call('INCR', GD)
  end
  local place = num(lscore(tonumber(head[2]), served or lserved(old and tonumber(old))))
  if pk then
    places[t] = place
    call('HSET', PK, g, lpacked(places))
  else
    call('ZADD', LN(t), place, g)
  end
end
local function ready(id, t, q, g)
  if not g then
    call('ZADD', R(t), q, id)
    return
  end
  local added = call('ZADD', GL(t, g), q, id)
  lsettle(t, g, nil, added == 1 and call('ZCARD', GL(t, g)) == 1)
end
local function unready(id, t, g)
  if not g then
    call('ZREM', R(t), id)
  elseif call('ZREM', GL(t, g), id) == 1 then
    lsettle(t, g)
  end
end
`;

/**
 * Helper "lanes" (needs ready). `lpark(g, true, t, place, open, solo)`
 * parks every lane of group g (open: known not parked yet): out of
 * `B ln:<type>`, its place kept in `B pk` (the lane of type t, already out,
 * at that place; t nil: none; solo: the group can have no lane of another
 * type, so `B gt:<group>` need not be read), so that a claim never reads
 * it and a lane the group gets meanwhile goes there too.
 * `lpark(g, false)` puts them back. `ltook(t, g, nq, turn, park, solo)`,
 * after a claim took the first job of lane (t, g), which was open: the
 * lane's new place for its next job's ready score nq (nil: it emptied, and
 * stays at the turn's place, empty) at that turn, parked with its group
 * when park; returns that place when the lane stays in `B ln:<t>` with
 * jobs. `lturn(g, turn, t)` moves the group's lanes of types other than t
 * to that turn, keeping their priority, and returns the types of those it
 * moved in `B ln:<type>`. `ldrop(t, g)` forgets an empty
 * lane a claim met.
 */
export const LANES: string = `local function lpark(g, on, skip, at, open, solo)
  if not on then
    local pk = call('HGET', PK, g)
    if not pk then return end
    call('HDEL', PK, g)
    for t, place in pairs(lparked(pk)) do call('ZADD', LN(t), place, g) end
    return
  end
  if not open and call('HEXISTS', PK, g) == 1 then return end
  local places = {}
  if skip and at then places[skip] = at end
  local others = {}
  if not solo then others = call('SMEMBERS', GT(g)) end
  for _, t in ipairs(others) do
    local place = t ~= skip and call('ZSCORE', LN(t), g)
    if place then
      call('ZREM', LN(t), g)
      places[t] = place
    end
  end
  call('HSET', PK, g, lpacked(places))
end
local function lmoved(place, turn)
  return num(math.floor(tonumber(place) / P46) * P46 + P45 + turn)
end
local function ltook(t, g, nq, turn, park, solo)
  local place = nil
  if nq then place = num(lscore(tonumber(nq), turn)) end
  if not nq then
    if call('DECR', GD) <= 0 then call('DEL', GD) end
    local old = call('ZSCORE', LN(t), g)
    if old then place = lmoved(old, turn) end
    if park then
      call('ZREM', LN(t), g)
    elseif place then
      call('ZADD', LN(t), place, g)
    end
  elseif park then
    call('ZREM', LN(t), g)
  else
    call('ZADD', LN(t), place, g)
    return place
  end
  -- the lane was open, so its group was not parked
  if park then lpark(g, true, t, place, true, solo) end
end
local function lturn(g, turn, t)
  local moved = {}
  local pk = call('HGET', PK, g)
  if pk then
    local places = lparked(pk)
    for t2, place in pairs(places) do
      if t2 ~= t then places[t2] = lmoved(place, turn) end
    end
    call('HSET', PK, g, lpacked(places))
    return moved
  end
  for _, t2 in ipairs(call('SMEMBERS', GT(g))) do
    local place = t2 ~= t and call('ZSCORE', LN(t2), g)
    if place then
      call('ZADD', LN(t2), lmoved(place, turn), g)
      moved[#moved + 1] = t2
    end
  end
  return moved
end
local function ldrop(t, g)
  call('ZREM', LN(t), g)
  call('SREM', GT(g), t)
end
`;
