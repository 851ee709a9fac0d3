/**
 * Retention in the Redis scripts: the "retain" helper that every script
 * finishing a job runs (the job's keep rule, then a bounded sweep of jobs
 * whose removal time has passed), and the clean script. lua_prelude.ts
 * registers the helper, lua.ts the script.
 *
 * A job's rules are its `kp` field, `<age> <count>` once complete then
 * `<age> <count>` once failed or cancelled, `-` for none (records.ts,
 * keepField); a job without the field (stored before retention, or with no
 * rule at all) is kept. Finished jobs are indexed in `B done:<status>` by
 * completedAt, and those with an age rule in `B removals` by removal time,
 * so that nothing here scans every job. It must never publish: a removed
 * job's last update went out with the transition that finished it.
 *
 * @module
 */

/**
 * Helper "retain" (needs bulk, drop, done). `retain(id, s, t, kp, at, f)`
 * applies the rule of status `s` to a job just finished at `at` (its update
 * already noted; f its flow field, nil outside a flow): deletes it (age 0), or indexes it and trims its status to
 * the rule's count. Index writes go through `add` (bulk), so a trim flushes
 * them first. `tidy()`, called after `done()`, deletes up to 100 jobs past
 * their removal time per job the call has finished (a batch of completes
 * keeps up with what falls due), then writes what that changed.
 */
export const RETAIN: string = `local retained = 0
local function trim(key, s, c)
  flush(key)
  flush(RM)
  local n = call('ZCARD', key) - c
  if n <= 0 then return end
  for _, o in ipairs(call('ZRANGE', key, 0, n - 1)) do
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
  local key = DONE..s
  if not kp then
    add('ZADD', key, at, id)
    return
  end
  local a, c
  if s == 'complete' then a, c = string.match(kp, '^(%S+) (%S+)')
  else a, c = string.match(kp, '(%S+) (%S+)$') end
  if a == '0' then
    drop(id, s, t, nil, f)
    return
  end
  add('ZADD', key, at, id)
  if a ~= '-' then add('ZADD', RM, string.format('%.0f', tonumber(at) + tonumber(a)), id) end
  if c ~= '-' then trim(key, s, tonumber(c)) end
end
local function tidy()
  if retained == 0 then return end
  local ids = call('ZRANGEBYSCORE', RM, '-inf', NOWS, 'LIMIT', 0, 100 * retained)
  retained = 0
  if #ids == 0 then return end
  for _, id in ipairs(ids) do
    local x = call('HMGET', J(id), 's', 't', 'f')
    if x[1] == 'complete' or x[1] == 'failed' or x[1] == 'cancelled' then
      drop(id, x[1], x[2], nil, x[3])
    else
      call('ZREM', RM, id)
    end
  end
  done()
end
`;

/**
 * ARGV: now, status, cutoff, type ("" any), limit, scan budget, cursor id
 * ("" from the start), cursor score. Deletes up to `limit` live jobs of the
 * status, oldest first: pending ones created at or before the cutoff (a
 * scan of `B ids`, by id: creation order; never a job of a flow, which
 * its flow owns), finished ones that finished at
 * or before it (`B done:<status>`, by completedAt). Expired jobs met are
 * deleted too but not counted. Scans at most `budget` entries. Returns
 * {deleted, 1 if entries are left to scan, cursor id, cursor score}: the
 * cursor is the last entry scanned (pending) or kept (finished, where
 * deleted entries leave the index); pass it back to go on.
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
local key = DONE..status
local start = 0
if after ~= '' then
  local r = call('ZRANK', key, after)
  -- the cursor's job went meanwhile: go on from its score
  if r then start = r + 1 else start = call('ZCOUNT', key, '-inf', '('..afterScore) end
end
local z = call('ZRANGE', key, start, start + budget - 1, 'WITHSCORES')
local more = #z == 2 * budget and 1 or 0
for i = 1, #z, 2 do
  local id = z[i]
  if tonumber(z[i + 1]) > cutoff then
    more = 0
    break
  end
  local x = call('HMGET', J(id), 's', 't', 'ea', 'k', 'f')
  if x[1] ~= status then
    call('ZREM', key, id)
  elseif t == '' or x[2] == t then
    take(id, x)
    if removed >= limit then break end
  else
    after, afterScore = id, z[i + 1]
  end
end
done()
return {removed, more, after, afterScore}
`;
