/**
 * Retention in the Redis scripts: the "index" helper (where a finished job
 * is indexed, and taking it out), the "retain" helper that every script
 * finishing a job runs (the job's keep rule, then a bounded sweep of jobs
 * whose removal time has passed), and the clean script. lua_prelude.ts
 * registers the helpers, lua.ts the script.
 *
 * A job's rules are its `kp` field, `<age> <count>` once complete then
 * `<age> <count>` once failed or cancelled, `-` for none (records.ts,
 * keepField); a job without the field (stored before retention, or with no
 * rule at all) is kept. A finished job is indexed by completedAt in one
 * sorted set, so that nothing here scans every job:
 *
 * | key | holds |
 * | --- | --- |
 * | `B done:<status>:<age>` | jobs whose rule is that age alone (the defaults): by completedAt, which orders them by removal time too, so one write keeps them |
 * | `B ages` | set: `<status>:<age>` of each such index |
 * | `B done:<status>` | every other finished job (kept, a count rule, no kp) |
 * | `B removals` | jobs of `done:<status>` with an age: by removal time (an age with a count, and imported jobs) |
 *
 * The finished jobs of a status are those of `done:<status>` and its age
 * indexes: a count rule and clean() read them all, merged by completedAt.
 * It must never publish: a removed job's last update went out with the
 * transition that finished it.
 *
 * @module
 */

/**
 * Helper "index" (needs bulk). `rule(s, kp)` is the age and count of status
 * s in kp; `dkey(s, kp)` the age index of a job finished with that rule, nil
 * when it goes to `done:<s>`; `dkeys(s)` every index of status s, `done:<s>`
 * first; `unindex(id, s, kp)` takes a finished job out of them (writes of
 * this call to them gathered by `add` go out first).
 */
export const INDEX: string = `local AGES = B..'ages'
-- read once per call and rule: a batch's jobs mostly share one
local rules = {}
local function rule(s, kp)
  local m = rules[s]
  if not m then
    m = {}
    rules[s] = m
  end
  local r = m[kp]
  if not r then
    if s == 'complete' then r = {string.match(kp, '^(%S+) (%S+)')}
    else r = {string.match(kp, '(%S+) (%S+)$')} end
    m[kp] = r
  end
  return r[1], r[2]
end
local function dkey(s, kp)
  if not kp then return nil end
  local a, c = rule(s, kp)
  if a ~= '-' and c == '-' then return DONE..s..':'..a end
  return nil
end
local function dkeys(s)
  local keys = {DONE..s}
  for _, m in ipairs(call('SMEMBERS', AGES)) do
    if string.sub(m, 1, #s + 1) == s..':' then keys[#keys + 1] = DONE..m end
  end
  return keys
end
local function unindex(id, s, kp)
  local key = dkey(s, kp)
  if key then
    flush(key)
    call('ZREM', key, id)
  end
  flush(DONE..s)
  flush(RM)
  call('ZREM', DONE..s, id)
  call('ZREM', RM, id)
end
`;

/**
 * Helper "retain" (needs index, drop, done). `retain(id, s, t, kp, at, f)`
 * applies the rule of status `s` to a job just finished at `at` (its update
 * already noted; f its flow field, nil outside a flow): deletes it (age 0),
 * or indexes it and trims its status to the rule's count. Index writes go
 * through `add` (bulk), so a trim flushes them first. `tidy()`, called
 * after `done()`, deletes up to 100 jobs past their removal time per job
 * the call has finished (a batch of completes keeps up with what falls
 * due), then writes what that changed.
 */
export const RETAIN: string = `local retained = 0
local aged = {}
local function trim(s, c)
  local keys = dkeys(s)
  local n = -c
  for _, key in ipairs(keys) do
    flush(key)
    n = n + call('ZCARD', key)
  end
  if n <= 0 then return end
  local old = {}
  for _, key in ipairs(keys) do
    local z = call('ZRANGE', key, 0, n - 1, 'WITHSCORES')
    for i = 1, #z, 2 do old[#old + 1] = {tonumber(z[i + 1]), z[i], key} end
  end
  table.sort(old, function(a, b) return a[1] < b[1] end)
  for i = 1, n do
    local o, key = old[i][2], old[i][3]
    local y = call('HMGET', J(o), 't', 'f')
    if y[1] then
      drop(o, s, y[1], nil, y[2])
    else
      call('ZREM', key, o)
      call('ZREM', RM, o)
    end
  end
end
local function retain(id, s, t, kp, at, f)
  retained = retained + 1
  if not kp then
    add('ZADD', DONE..s, at, id)
    return
  end
  local a, c = rule(s, kp)
  if a == '0' then
    drop(id, s, t, nil, f)
    return
  end
  if a ~= '-' and c == '-' then
    local key = DONE..s..':'..a
    if not aged[key] then
      aged[key] = true
      call('SADD', AGES, s..':'..a)
    end
    add('ZADD', key, at, id)
    return
  end
  add('ZADD', DONE..s, at, id)
  if a ~= '-' then add('ZADD', RM, string.format('%.0f', tonumber(at) + tonumber(a)), id) end
  if c ~= '-' then trim(s, tonumber(c)) end
end
-- deletes the finished jobs among ids (their index: key), up to the budget
local function sweep(ids, key)
  for _, id in ipairs(ids) do
    local x = call('HMGET', J(id), 's', 't', 'f')
    if x[1] == 'complete' or x[1] == 'failed' or x[1] == 'cancelled' then
      drop(id, x[1], x[2], nil, x[3])
    else
      call('ZREM', key, id)
    end
  end
end
local function tidy()
  if retained == 0 then return end
  local budget = 100 * retained
  retained = 0
  local ids = call('ZRANGEBYSCORE', RM, '-inf', NOWS, 'LIMIT', 0, budget)
  sweep(ids, RM)
  budget = budget - #ids
  for _, m in ipairs(call('SMEMBERS', AGES)) do
    if budget <= 0 then break end
    local key = DONE..m
    local cut = NOW - tonumber(string.match(m, ':(.*)$'))
    -- its oldest entry: most calls find nothing due, or an index emptied
    local head = call('ZRANGE', key, 0, 0, 'WITHSCORES')
    if #head == 0 then
      call('SREM', AGES, m)
    elseif tonumber(head[2]) <= cut then
      ids = call('ZRANGEBYSCORE', key, '-inf', string.format('%.0f', cut), 'LIMIT', 0, budget)
      sweep(ids, key)
      budget = budget - #ids
    end
  end
  aged = {}
  done()
end
`;

/**
 * ARGV: now, status, cutoff, type ("" any), limit, scan budget, cursor id
 * ("" from the start), cursor score. Deletes up to `limit` live jobs of the
 * status, oldest first: pending ones created at or before the cutoff (a
 * scan of `B ids`, by id: creation order; never a job of a flow, which
 * its flow owns), finished ones that finished at
 * or before it (every index of the status, merged by completedAt). Expired
 * jobs met are deleted too but not counted. Scans at most `budget` entries.
 * Returns {deleted, 1 if entries are left to scan, cursor, cursor score}:
 * the cursor is the last id scanned (pending), or the last entry kept in
 * each index (finished, where deleted entries leave their index); pass it
 * back to go on.
 */
export const CLEAN: string = `
local status, cutoff, t = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local limit, budget, after, afterScore = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7], ARGV[8]
local removed = 0
local function take(id, x)
  drop(id, x[1], x[2], x[4], x[5])
  if not expired(x[3]) then removed = removed + 1 end
end
if status == 'pending' then
  local lo = '-'
  if after ~= '' then lo = '('..after end
  local ids = call('ZRANGEBYLEX', IDS, lo, '+', 'LIMIT', 0, budget)
  for _, id in ipairs(ids) do
    local x = call('HMGET', J(id), 's', 't', 'ea', 'k', 'f')
    -- a pending job of a flow is left to its flow
    if x[1] == 'pending' and not x[5] and (t == '' or x[2] == t) then
      -- createdAt is line 7 of x (packJob in records.ts)
      local ca = string.match(call('HGET', J(id), 'x'), '^'..string.rep('[^\\n]*\\n', 6)..'([^\\n]*)')
      if tonumber(ca) <= cutoff then
        take(id, x)
        if removed >= limit then
          done()
          return {removed, 1, id, ''}
        end
      end
    end
  end
  done()
  return {removed, #ids == budget and 1 or 0, ids[#ids] or '', ''}
end
-- a cursor per index: its last entry kept (suffix of its key, TAB, score, TAB, id, LF)
local at = {}
for sfx, sc, id in string.gmatch(after, '([^\\t\\n]*)\\t([^\\t\\n]*)\\t([^\\n]*)\\n') do
  at[sfx] = {id, sc}
end
local base = #DONE + #status
local all, full = {}, false
for ki, key in ipairs(dkeys(status)) do
  local c = at[string.sub(key, base + 1)]
  local start = 0
  if c then
    local r = call('ZRANK', key, c[1])
    -- the cursor's job went meanwhile: go on from its score
    if r then start = r + 1 else start = call('ZCOUNT', key, '-inf', '('..c[2]) end
  end
  local z = call('ZRANGE', key, start, start + budget - 1, 'WITHSCORES')
  if #z == 2 * budget then full = true end
  for i = 1, #z, 2 do all[#all + 1] = {tonumber(z[i + 1]), ki * 1e7 + i, z[i], key, z[i + 1]} end
end
-- oldest first over every index (an index's own order among equals)
table.sort(all, function(a, b) return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2]) end)
local more = (full or #all > budget) and 1 or 0
for j = 1, math.min(#all, budget) do
  local e = all[j]
  if e[1] > cutoff then
    more = 0
    break
  end
  local id = e[3]
  local x = call('HMGET', J(id), 's', 't', 'ea', 'k', 'f')
  if x[1] ~= status then
    call('ZREM', e[4], id)
  elseif t == '' or x[2] == t then
    take(id, x)
    if removed >= limit then break end
  else
    at[string.sub(e[4], base + 1)] = {id, e[5]}
  end
end
local cursor = {}
for sfx, c in pairs(at) do cursor[#cursor + 1] = sfx..'\\t'..c[2]..'\\t'..c[1]..'\\n' end
done()
return {removed, more, table.concat(cursor), ''}
`;
