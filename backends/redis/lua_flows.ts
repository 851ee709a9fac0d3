/**
 * Flows in the Redis scripts (SPEC §12): the helpers that finishing
 * scripts run for a job of a flow ("flow": keep what it leaves its
 * dependents, release them or cancel them transitively; "stop": cancel a
 * live job, which cancel, remove and cancelFlow share), retry's re-arming,
 * and the flow scripts (enqueueFlow, getFlow, cancelFlow, parentResults).
 * lua_prelude.ts registers the helpers, lua.ts the scripts.
 *
 * A flow job's hash has what a job has, plus:
 *
 * | field | holds |
 * | --- | --- |
 * | f | `<flow id>\n<ref>\n<onParentFailure>\n<parents JSON, ref -> id>` (never changes) |
 * | fc | its dependents' ids, JSON array (only when it has some) |
 * | fw | parents not yet finished for it (while waiting) |
 * | fd | its own delay, runAt - createdAt as enqueued (only when not 0) |
 * | fb | the parent whose failure cancelled it (until retried) |
 *
 * and a waiting job keeps its ready score as q. Per flow, under the
 * queue's namespace `B` (so in its Cluster slot):
 *
 * | key | type | holds |
 * | --- | --- | --- |
 * | `B f:<flow>` | zset | its stored jobs' ids by enqueue sequence |
 * | `B fx:<flow>` | hash | `<id>`: `<status>\n<result or error>` of a finished job with dependents |
 *
 * drop (lua_prelude.ts) takes a job out of `B f:<flow>` and deletes
 * `B fx:<flow>` with the last one: a dependent that failed may be retried
 * after every other job of its flow finished, and still reads its
 * parents' results. (Before, `u` in `B fx:<flow>` counted the unfinished
 * jobs and the hash went at 0; a `u` left from then is never read.) Only
 * a flow job has `f`: a plain job pays one absent field in reads
 * it already makes, never a step of these helpers. Cascades and re-arming
 * walk a work list, not the Lua stack: a chain may be 10,000 long.
 *
 * @module
 */

/**
 * Helper "flow" (needs retain). `fdone(id, s, payload, f, cascade)` runs
 * once a flow job reached status s (complete, failed, cancelled) with its
 * update noted and before its keep rule: keeps payload (its result or
 * error) for its dependents when it has some, then
 * (cascade true) releases its waiting dependents it was the last parent
 * of, or, when it did not complete, cancels its "cancel" dependents
 * transitively. `fwake()`, after done(), sends one wake for what it made
 * pending. `fopen(f)` counts the stored, unfinished parents of a job.
 */
export const FLOW: string = `local fsoon, fsoonS = nil, nil
local ftouched = {}
local function flink(f)
  return string.match(f, '^([^\\n]*)\\n([^\\n]*)\\n([^\\n]*)\\n(.*)$')
end
local function fsettle(id, fid, s, payload, fc)
  if fc then call('HSET', B..'fx:'..fid, id, s..'\\n'..payload) end
end
-- y: s fw t q v fd g of a dependent whose parent just finished for it
local function funwait(cid, y)
  if y[1] ~= 'waiting' then return end
  local w = tonumber(y[2] or 1) - 1
  if w > 0 then
    call('HSET', J(cid), 'fw', w)
    return
  end
  local ra = NOW + tonumber(y[6] or 0)
  local ras = string.format('%.0f', ra)
  local v = tonumber(y[5] or 1) + 1
  call('HSET', J(cid), 's', 'pending', 'fw', 0, 'ra', ras, 'ua', NOWS, 'v', v)
  if ra > NOW then
    add('ZADD', DELAYED, ras, cid)
    ftouched[DELAYED] = true
  elseif y[7] then
    ready(cid, y[3], y[4], y[7])
  else
    add('ZADD', R(y[3]), y[4], cid)
    ftouched[R(y[3])] = true
  end
  count('waiting', y[3], -1)
  count('pending', y[3], 1)
  note(cid, y[3], 'pending', '0', '', '0', v, nil, nil, NOWS)
  if fsoon == nil or ra < fsoon then fsoon, fsoonS = ra, ras end
end
local function fcascade(pid, ref, fc, verb)
  local work, i = {{pid, ref, fc, verb}}, 0
  while i < #work do
    i = i + 1
    local w = work[i]
    local e = '{"name":"CancelledError","message":'..enc('parent "'..w[2]..'" '..w[4])..'}'
    for _, cid in ipairs(cjson.decode(w[3])) do
      local y = call('HMGET', J(cid), 's', 'fw', 't', 'q', 'v', 'fd', 'g', 'f', 'fc', 'kp')
      if y[1] == 'waiting' then
        local fid, cref, policy = flink(y[8])
        if policy == 'continue' then
          funwait(cid, y)
        else
          local v = tonumber(y[5] or 1) + 1
          call('HSET', J(cid), 's', 'cancelled', 'e', e, 'co', NOWS, 'ua', NOWS, 'v', v, 'fb', w[1])
          count('waiting', y[3], -1)
          count('cancelled', y[3], 1)
          note(cid, y[3], 'cancelled', '0', '', '0', v, nil, e, NOWS)
          fsettle(cid, fid, 'cancelled', e, y[9])
          retain(cid, 'cancelled', y[3], y[10], NOWS, y[8])
          if y[9] then work[#work + 1] = {cid, cref, y[9], 'was cancelled'} end
        end
      end
    end
  end
end
local function fdone(id, s, payload, f, cascade)
  local fid, ref = flink(f)
  local fc = call('HGET', J(id), 'fc')
  fsettle(id, fid, s, payload, fc)
  if not fc or not cascade then return end
  if s == 'complete' then
    for _, cid in ipairs(cjson.decode(fc)) do
      funwait(cid, call('HMGET', J(cid), 's', 'fw', 't', 'q', 'v', 'fd', 'g'))
    end
  else
    fcascade(id, ref, fc, s == 'failed' and 'failed' or 'was cancelled')
  end
  -- what the scripts read back (a claim's ready sets) must be written now
  for key in pairs(ftouched) do flush(key) end
  ftouched = {}
end
local function fwake()
  if fsoon then call(PUB, WCH, 'w'..fsoonS) end
  fsoon = nil
end
local function fopen(f)
  local _, _, _, parents = flink(f)
  local n = 0
  for _, pid in pairs(cjson.decode(parents)) do
    local s = call('HGET', J(pid), 's')
    if s == 'waiting' or s == 'pending' or s == 'processing' then n = n + 1 end
  end
  return n
end
`;

/**
 * Helper "stop" (needs release, flow). `fstop(id, e, cascade)` cancels a
 * waiting, pending or processing job with error e (JSON text), as cancel
 * does: its update, a cancel signal when it was processing, fdone for a
 * flow job (see FLOW), then its keep rule. Returns false, changing
 * nothing, for a job in another status or none.
 */
export const STOP: string = `local function fstop(id, e, cascade)
  local x = call('HMGET', J(id), 's', 't', 'k', 'v', 'a', 'pg', 'm', 'q', 'lt', 'kp', 'f', 'g', 'lc')
  local s = x[1]
  if s ~= 'waiting' and s ~= 'pending' and s ~= 'processing' then return false end
  local h = {'s', 'cancelled', 'e', e, 'co', NOWS, 'ua', NOWS}
  if s == 'pending' then
    -- a job never claimed nor delayed keeps its ready score only in R (qof)
    if not x[8] and not x[9] then
      local q = call('ZSCORE', R(x[2]), id)
      if q then h[#h + 1] = 'q'; h[#h + 1] = q end
    end
    unready(id, x[2], x[12])
    call('ZREM', DELAYED, id)
  end
  local v = tonumber(x[4] or 1) + 1
  if s == 'processing' then
    call('ZREM', ACTIVE, id)
    if x[13] and x[13] == x[9] then unrun(x[2], x[12], id) end
    call(PUB, WCH, 'c'..id..' '..v)
  end
  h[#h + 1] = 'v'; h[#h + 1] = v
  call('HSET', J(id), unpack(h))
  release(id, x[3])
  count(s, x[2], -1)
  count('cancelled', x[2], 1)
  note(id, x[2], 'cancelled', x[6], x[7], x[5], v, nil, e, NOWS)
  if x[11] then fdone(id, 'cancelled', e, x[11], cascade) end
  retain(id, 'cancelled', x[2], x[10], NOWS, x[11])
  return true
end
`;

/**
 * Helper "rearm" (needs flow, ready). `frearm(id, w, q, f, fc)` ends retry
 * of a flow job already set to waiting (w > 0 parents unfinished) or
 * pending: then every dependent that its failure cancelled waits again
 * (error, completedAt and removal time gone, counting its unfinished
 * parents), transitively, but one with another parent failed or cancelled,
 * which stays cancelled by that one, named in its error. Last, the
 * "continue" dependents of every job
 * back to work count their unfinished parents again, and those released
 * and not started yet wait again. `ffailed(f, except)` is a parent of a
 * job but `except` that failed or was cancelled: its id, ref and status.
 */
export const REARM: string = `local function ffailed(f, except)
  local _, _, _, parents = flink(f)
  -- in dependsOn order: the JSON text's (refs and ids have no quotes)
  for pid in string.gmatch(parents, '"[^"]*":"([^"]*)"') do
    if pid ~= except then
      local p = call('HMGET', J(pid), 's', 'f')
      if p[1] == 'failed' or p[1] == 'cancelled' then
        local _, ref = flink(p[2])
        return pid, ref, p[1]
      end
    end
  end
  return nil
end
local function frewait(list)
  for _, cid in ipairs(list and cjson.decode(list) or {}) do
    local y = call('HMGET', J(cid), 's', 't', 'v', 'f', 'g', 'fw')
    local policy = y[4] and select(3, flink(y[4]))
    if policy == 'continue' and (y[1] == 'waiting' or y[1] == 'pending') then
      local fw = fopen(y[4])
      if y[1] == 'waiting' then
        if tostring(fw) ~= y[6] then call('HSET', J(cid), 'fw', fw) end
      else
        local v = tonumber(y[3] or 1) + 1
        unready(cid, y[2], y[5])
        call('ZREM', DELAYED, cid)
        call('HSET', J(cid), 's', 'waiting', 'fw', fw, 'ua', NOWS, 'v', v)
        count('pending', y[2], -1)
        count('waiting', y[2], 1)
        note(cid, y[2], 'waiting', '0', '', '0', v, nil, nil, NOWS)
      end
    end
  end
end
local function frearm(id, w, q, f, fc)
  if w > 0 then call('HSET', J(id), 'fw', w, 'q', q) end
  call('HDEL', J(id), 'fb')
  local work, i = {{id, fc}}, 0
  while i < #work do
    i = i + 1
    local pid, list = work[i][1], work[i][2]
    for _, cid in ipairs(list and cjson.decode(list) or {}) do
      local y = call('HMGET', J(cid), 's', 'fb', 't', 'v', 'f', 'fc', 'kp')
      local other, ref, status = nil, nil, nil
      if y[1] == 'cancelled' and y[2] == pid then other, ref, status = ffailed(y[5], pid) end
      if other then
        local v = tonumber(y[4] or 1) + 1
        local e = '{"name":"CancelledError","message":'..
          enc('parent "'..ref..'" '..(status == 'failed' and 'failed' or 'was cancelled'))..'}'
        call('HSET', J(cid), 'fb', other, 'e', e, 'ua', NOWS, 'v', v)
        note(cid, y[3], 'cancelled', '0', '', '0', v, nil, e, NOWS)
      elseif y[1] == 'cancelled' and y[2] == pid then
        local v = tonumber(y[4] or 1) + 1
        call('HSET', J(cid), 's', 'waiting', 'fw', fopen(y[5]), 'a', 0, 'pg', '0', 'm', '',
          'ua', NOWS, 'v', v)
        call('HDEL', J(cid), 'fb', 'e', 'co', 'r')
        unindex(cid, 'cancelled', y[7])
        count('cancelled', y[3], -1)
        count('waiting', y[3], 1)
        note(cid, y[3], 'waiting', '0', '', '0', v, nil, nil, NOWS)
        work[#work + 1] = {cid, y[6]}
      end
    end
  end
  for _, job in ipairs(work) do frewait(job[2]) end
end
`;

/** ARGV entries per job of ENQUEUE_FLOW. */
export const FLOW_FIELDS: number = 12;

/**
 * ARGV: now, flow id, n, then per job FLOW_FIELDS entries: id, type,
 * priority, runAt, createdAt, x (packJob), kp ("" none), f, fc ("" none),
 * number of parents, delay, group ("" none). Stores every job with the next sequences: one
 * with parents waiting (its ready score kept as q), the others pending as
 * enqueue stores them; then the flow's keys, an update per job in the order
 * given, and one wake when any is pending.
 */
export const ENQUEUE_FLOW: string = `
local fid, n = ARGV[2], tonumber(ARGV[3])
local seq = call('INCRBY', SEQ, n) - n
local FK = B..'f:'..fid
local wake, wakeS = nil, nil
for i = 0, n - 1 do
  local id, t, p, ra, ca, x, kp, f, fc, np, fd, g =
    unpack(ARGV, 4 + i * ${FLOW_FIELDS}, 3 + (i + 1) * ${FLOW_FIELDS})
  seq = seq + 1
  local q = string.format('%.0f', (100 - tonumber(p)) * 35184372088832 + seq)
  local h = {'x', x, 't', t, 'f', f}
  if kp ~= '' then h[#h + 1] = 'kp'; h[#h + 1] = kp end
  if g == '' then g = nil end
  -- a job with a group keeps its ready score as q, wherever it waits
  if g then h[#h + 1] = 'g'; h[#h + 1] = g; h[#h + 1] = 'q'; h[#h + 1] = q end
  if fc ~= '' then h[#h + 1] = 'fc'; h[#h + 1] = fc end
  local s = 'pending'
  if np ~= '0' then
    s = 'waiting'
    h[#h + 1] = 'fw'; h[#h + 1] = np
    if not g then h[#h + 1] = 'q'; h[#h + 1] = q end
    if fd ~= '0' then h[#h + 1] = 'fd'; h[#h + 1] = fd end
  elseif tonumber(ra) > NOW then
    if not g then h[#h + 1] = 'q'; h[#h + 1] = q end
    add('ZADD', DELAYED, ra, id)
  elseif not g then
    add('ZADD', R(t), q, id)
  end
  if s == 'pending' and (wake == nil or tonumber(ra) < wake) then
    wake, wakeS = tonumber(ra), ra
  end
  h[#h + 1] = 's'; h[#h + 1] = s
  call('HSET', J(id), unpack(h))
  if g and s == 'pending' and tonumber(ra) <= NOW then ready(id, t, q, g) end
  add('ZADD', IDS, 0, id)
  add('ZADD', FK, seq, id)
  count(s, t, 1)
  note(id, t, s, '0', '', '0', '1', nil, nil, ca)
end
done()
if wake then call(PUB, WCH, 'w'..wakeS) end
return 1
`;

/**
 * ARGV: now, flow id. Returns, per stored job of the flow in enqueue
 * order, its id, status and f.
 */
export const GET_FLOW: string = `
local out = {}
for _, id in ipairs(call('ZRANGE', B..'f:'..ARGV[2], 0, -1)) do
  local x = call('HMGET', J(id), 's', 'f')
  if x[1] and x[2] then
    out[#out + 1] = id
    out[#out + 1] = x[1]
    out[#out + 1] = x[2]
  end
end
return out
`;

/**
 * ARGV: now, flow id, error (JSON text). Cancels every waiting, pending or
 * processing job of the flow as cancel does, without cascading (each of
 * them is cancelled with the same error). Returns 1 if any changed.
 */
export const CANCEL_FLOW: string = `
local changed = 0
for _, id in ipairs(call('ZRANGE', B..'f:'..ARGV[2], 0, -1)) do
  if fstop(id, ARGV[3], false) then changed = 1 end
end
done()
tidy()
return changed
`;

/**
 * ARGV: now, job id. Returns, per parent of the job that finished, its ref,
 * status and result or error (JSON text): read from the parent when it is
 * stored and finished, else from what its flow kept; a parent unfinished or
 * gone with nothing kept is left out.
 */
export const PARENT_RESULTS: string = `
local f = call('HGET', J(ARGV[2]), 'f')
if not f then return {} end
local fid, _, _, parents = string.match(f, '^([^\\n]*)\\n([^\\n]*)\\n([^\\n]*)\\n(.*)$')
local out = {}
for ref, pid in pairs(cjson.decode(parents)) do
  local x = call('HMGET', J(pid), 's', 'r', 'e')
  local s, payload = x[1], nil
  if s == 'complete' then payload = x[2]
  elseif s == 'failed' or s == 'cancelled' then payload = x[3]
  elseif not s then
    local kept = call('HGET', B..'fx:'..fid, pid)
    if kept then s, payload = string.match(kept, '^([^\\n]*)\\n(.*)$') end
  end
  if payload then
    out[#out + 1] = ref
    out[#out + 1] = s
    out[#out + 1] = payload
  end
end
return out
`;
