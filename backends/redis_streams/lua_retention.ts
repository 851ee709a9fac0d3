/**
 * Deleting jobs in the Redis Streams scripts: the "drop" helper (a job and
 * every index entry of it), the "retain" helper that every script finishing
 * a job runs (its keep rule, then a bounded sweep of jobs past their
 * removal time), and the clean script. lua_prelude.ts registers the
 * helpers, lua.ts the script. Nothing here scans every job, and nothing
 * publishes: a removed job's last update went out with the transition that
 * finished it.
 *
 * A job's keep rules are state field 17, `<age>,<count>,<age>,<count>`
 * (once complete, then once failed or cancelled; `-` for none; records.ts),
 * empty for none at all.
 *
 * @module
 */

/**
 * Helper "drop". `drop(id, f)` deletes a job whose state is `f`. Its
 * delayed-set member goes only if the script declared its type (a claim of
 * that type skips a stale one); an entry it held in the consumer group is
 * acknowledged (now or later: ack); an entry still to be delivered stays,
 * and the claim that meets it acknowledges it.
 */
export const DROP: string = `local function drop(id, f)
  local t, s, w = f[1], f[2], f[14]
  if s == 'pending' then
    if w == 'd' then
      if D[t] then call('ZREM', D[t], id) end
    elseif w == 'r' then
      call('ZREM', REDO, rmem(t, f[13], id))
      ack(t, f[13])
    end
  elseif s == 'processing' then
    call('ZREM', ACTIVE, id)
    ack(t, f[13])
  elseif DONE[s] then
    call('ZREM', DONE[s], id)
    call('ZREM', RM, id)
  end
  relkey(id)
  unset(id)
  unkey(id)
  call('HDEL', JOB, id)
  call('HDEL', ERR, id)
  call('HDEL', RES, id)
  call('ZREM', IDS, id)
  call('ZREM', EXPIRY, id)
  count(s, t, -1)
end
`;

/**
 * Helper "retain" (needs drop, done). `retain(id, f)` applies the rule of
 * the status a job just finished with (state `f`, already written and
 * noted): deletes it (age 0), or indexes it by completedAt and trims its
 * status to the rule's count. `tidy()`, called after `done()`, deletes up
 * to 100 jobs past their removal time per job the call finished.
 */
export const RETAIN: string = `local retained = 0
local function trim(key, c)
  flush(key)
  flush(RM)
  local n = call('ZCARD', key) - c
  if n <= 0 then return end
  for _, o in ipairs(call('ZRANGE', key, 0, n - 1)) do
    local g = rd(o)
    if g then drop(o, g) else call('ZREM', key, o) call('ZREM', RM, o) end
  end
end
local function retain(id, f)
  retained = retained + 1
  local s = f[2]
  local a, c = '-', '-'
  if f[17] ~= '' then
    local ca, cc, fa, fc = string.match(f[17], '^([^,]*),([^,]*),([^,]*),([^,]*)$')
    if s == 'complete' then a, c = ca, cc else a, c = fa, fc end
  end
  if a == '0' then
    drop(id, f)
    return
  end
  add('ZADD', DONE[s], nil, f[10], id)
  if a ~= '-' then
    add('ZADD', RM, nil, string.format('%.0f', tonumber(f[10]) + tonumber(a)), id)
  end
  if c ~= '-' then trim(DONE[s], tonumber(c)) end
end
local function tidy()
  if retained == 0 then return end
  local ids = call('ZRANGEBYSCORE', RM, '-inf', NOWS, 'LIMIT', 0, 100 * retained)
  retained = 0
  if #ids == 0 then return end
  for _, id in ipairs(ids) do
    local g = rd(id)
    if g and DONE[g[2]] then drop(id, g) else call('ZREM', RM, id) end
  end
  done()
end
`;

/**
 * ARGV (after the common ones): status, cutoff, limit, scan budget, cursor
 * id ("" from the start), cursor score; the type to clean, if any, is the
 * one declared type. Deletes up to `limit` live jobs of the status, oldest
 * first: pending ones created at or before the cutoff (a scan of `ids`, by
 * id: creation order), finished ones that finished at or before it
 * (`done:<status>`, by completedAt). Expired jobs met are deleted but not
 * counted. Returns {deleted, 1 if entries are left to scan, cursor id,
 * cursor score}.
 */
export const CLEAN: string = `
local status, cutoff = ARGV[A + 1], tonumber(ARGV[A + 2])
local limit, budget, after, afterScore = tonumber(ARGV[A + 3]), tonumber(ARGV[A + 4]), ARGV[A + 5], ARGV[A + 6]
local t = TYPES[1]
local removed = 0
local function take(id, f)
  drop(id, f)
  if not expired(f) then removed = removed + 1 end
end
if status == 'pending' then
  local lo = '-'
  if after ~= '' then lo = '('..after end
  local ids = call('ZRANGEBYLEX', IDS, lo, '+', 'LIMIT', 0, budget)
  for _, id in ipairs(ids) do
    local f = rd(id)
    if f and f[2] == 'pending' and (not t or f[1] == t) and
      tonumber(string.match(call('HGET', JOB, id), '^([^\\n]*)')) <= cutoff then
      take(id, f)
      if removed >= limit then
        done()
        return {removed, 1, id, ''}
      end
    end
  end
  done()
  return {removed, #ids == budget and 1 or 0, ids[#ids] or '', ''}
end
local key = DONE[status]
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
  local f = rd(id)
  if not f or f[2] ~= status then
    call('ZREM', key, id)
  elseif not t or f[1] == t then
    take(id, f)
    if removed >= limit then break end
  else
    after, afterScore = id, z[i + 1]
  end
end
done()
return {removed, more, after, afterScore}
`;
