/**
 * The Redis backend's control scripts: pause, resume and reschedule, and
 * a job's cancel, retry and remove (lua.ts registers them with the helpers
 * they use). The pause state is the set `B paused` under the queue's
 * namespace, so it shares the queue's hash tag (one Cluster slot) and the
 * claim script reads it atomically: a member per paused type, "" (never a
 * type) for the whole queue.
 *
 * @module
 */

/**
 * ARGV: now, type ("" for the whole queue), "1" to pause or "0" to resume.
 * Returns 1 if the state changed; a resume that did publishes a wake, a
 * pause that did `p<type>` (workers give back what they claimed of it).
 */
export const SET_PAUSED: string = `
local n
if ARGV[3] == '1' then n = call('SADD', PAUSED, ARGV[2])
else n = call('SREM', PAUSED, ARGV[2]) end
if n == 1 and ARGV[3] == '0' then call(PUB, WCH, 'w'..NOWS) end
if n == 1 and ARGV[3] == '1' then call(PUB, WCH, 'p'..ARGV[2]) end
return n
`;

/** ARGV: now. Returns the paused set's members. */
export const PAUSED_STATE: string = `
return call('SMEMBERS', PAUSED)
`;

/**
 * ARGV: now, id, runAt ("" to keep), priority ("" to keep). Moves a live
 * pending job: its ready score keeps its enqueue sequence (the low 45 bits)
 * under the new priority, so its place among equals stays. Returns 1 if the
 * job changed; a job made due earlier gets a wake.
 */
export const RESCHEDULE: string = `
local id = ARGV[2]
local x = call('HMGET', J(id), 's', 't', 'q', 'lt', 'ra', 'x', 'p', 'v', 'a', 'pg', 'm', 'e', 'ea', 'k', 'g')
if x[1] ~= 'pending' then return 0 end
if expired(x[13]) then
  drop(id, x[1], x[2], x[14])
  done()
  return 0
end
-- priority and runAt are lines 3 and 4 of x until a transition sets p, ra
local p0s, ra0s = string.match(x[6], '^[^\\n]*\\n[^\\n]*\\n([^\\n]*)\\n([^\\n]*)')
ra0s = x[5] or ra0s
local p0, ra0 = tonumber(x[7] or p0s), tonumber(ra0s)
local p, ra = p0, ra0
if ARGV[3] ~= '' then ra = tonumber(ARGV[3]) end
if ARGV[4] ~= '' then p = tonumber(ARGV[4]) end
if p == p0 and ra == ra0 then return 0 end
local q = x[3]
if not q and x[4] then q = qof(nil, x[4]) end
if not q then q = call('ZSCORE', R(x[2]), id) end
local seq = tonumber(q) - (100 - p0) * 35184372088832
local qs = string.format('%.0f', (100 - p) * 35184372088832 + seq)
local ras = ARGV[3] ~= '' and ARGV[3] or ra0s
unready(id, x[2], x[15])
call('ZREM', DELAYED, id)
local v = tonumber(x[8] or 1) + 1
call('HSET', J(id), 'ra', ras, 'p', p, 'q', qs, 'ua', NOWS, 'v', v)
schedule(id, x[2], qs, ras, x[15])
note(id, x[2], 'pending', x[10], x[11], x[9], v, nil, x[12], NOWS)
done()
if ra < ra0 then call(PUB, WCH, 'w'..ARGV[3]) end
return 1
`;

/**
 * ARGV: now, id, error (JSON text). Cancels a waiting, pending or
 * processing job (fstop, lua_flows.ts). Returns 1 if the job changed.
 */
export const CANCEL: string = `
local id = ARGV[2]
local x = call('HMGET', J(id), 's', 't', 'k', 'ea')
if not x[1] then return 0 end
if expired(x[4]) then
  drop(id, x[1], x[2], x[3])
  done()
  return 0
end
if not fstop(id, ARGV[3], true) then return 0 end
done()
tidy()
fwake()
return 1
`;

/** ARGV: now, id. Returns 1 if the job changed. */
export const RETRY: string = `
local id = ARGV[2]
local x = call('HMGET', J(id), 's', 't', 'k', 'v', 'q', 'ea', 'lt', 'f', 'fc', 'g', 'kp')
if not x[1] then return 0 end
if expired(x[6]) then
  drop(id, x[1], x[2], x[3])
  done()
  return 0
end
if x[1] ~= 'failed' and x[1] ~= 'cancelled' then return 0 end
-- not a job of a flow that follows "cancel" with a parent failed or
-- cancelled: it would run without it
if x[8] and select(3, flink(x[8])) == 'cancel' and ffailed(x[8], '') then return 0 end
local v = tonumber(x[4] or 1) + 1
-- a job of a flow waits again while a parent of it is unfinished
local w = x[8] and fopen(x[8]) or 0
local s = w > 0 and 'waiting' or 'pending'
local q = qof(x[5], x[7])
call('HSET', J(id), 's', s, 'a', 0, 'pg', '0', 'm', '', 'ua', NOWS, 'v', v)
if w == 0 then call('HSET', J(id), 'ra', NOWS) end
call('HDEL', J(id), 'e', 'r', 'co')
unindex(id, x[1], x[11])
if x[3] then
  local holder = call('HGET', KEYIDX, x[3])
  if not holder or not holds(holder) then call('HSET', KEYIDX, x[3], id) end
end
if w == 0 then ready(id, x[2], q, x[10]) end
count(x[1], x[2], -1)
count(s, x[2], 1)
note(id, x[2], s, '0', '', '0', v, nil, nil, NOWS)
if x[8] then frearm(id, w, q, x[8], x[9]) end
done()
if w == 0 then call(PUB, WCH, 'w'..NOWS) end
return 1
`;

/** ARGV: now, id. Returns 1 if a live job was deleted. */
export const REMOVE: string = `
local REMOVED = '{"name":"CancelledError","message":"job removed"}'
local id = ARGV[2]
local x = call('HMGET', J(id), 's', 't', 'k', 'ea', 'v', 'f')
if not x[1] then return 0 end
-- an unfinished job of a flow is cancelled first, for its dependents
if x[6] and fstop(id, REMOVED, true) then
  x = call('HMGET', J(id), 's', 't', 'k', 'ea', 'v', 'f')
  if x[1] then drop(id, x[1], x[2], x[3], x[6]) end
  done()
  tidy()
  fwake()
  return 1
end
drop(id, x[1], x[2], x[3], x[6])
done()
if expired(x[4]) then return 0 end
if x[1] == 'processing' then call(PUB, WCH, 'c'..id..' '..(x[5] or '1')) end
return 1
`;
