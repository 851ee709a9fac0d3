/**
 * The Redis Streams backend's scripts that move jobs without finishing
 * them: release (jobs given back unstarted), reschedule, pause and resume
 * (lua.ts registers them). The pause state is the set `paused` under the
 * queue's namespace, read by the claim script: a member per paused type,
 * "" (never a type) for the whole queue.
 *
 * @module
 */

/**
 * ARGV: runAt ("" to keep), then (id, token) per lease. Puts each job still
 * processing under its token back to pending as it was before its claim
 * (attempt - 1, lease gone, key and error kept): its entry stays in the
 * consumer group's pending list and is delivered again first (the
 * redelivery set), unless a snooze makes it due later (then it waits in
 * the delayed set, its entry acknowledged). Returns the ids released.
 */
export const RELEASE: string = `
local snooze = ARGV[A + 1] ~= '' and ARGV[A + 1] or nil
local out = {}
for i = A + 2, #ARGV - 1, 2 do
  local id = ARGV[i]
  local f = rd(id)
  if f and f[2] == 'processing' and f[11] == ARGV[i + 1] then
    local t = f[1]
    if expired(f) then
      drop(id, f)
    else
      call('ZREM', ACTIVE, id)
      f[2], f[3], f[4], f[8], f[11], f[12] = 'pending', tostring(tonumber(f[3]) - 1), inc(f[4]), NOWS, '', ''
      if snooze then f[6] = snooze end
      if snooze and tonumber(snooze) > NOW then
        ack(t, f[13])
        call('ZADD', D[t], snooze, id)
        f[13], f[14] = '', 'd'
      else
        call('ZADD', REDO, 0, rmem(t, f[13], id))
        f[14] = 'r'
      end
      wr(id, f)
      count('processing', t, -1)
      count('pending', t, 1)
      note(id, f)
      out[#out + 1] = id
    end
  end
end
done()
if #out > 0 then call(PUB, WCH, 'w'..(snooze or NOWS)) end
return out
`;

/**
 * ARGV: id, runAt ("" to keep), priority ("" to keep). Changes a live
 * pending job. Claims ignore priority here (FIFO by due time), so a new
 * priority is only stored. A job made due later leaves the line for the
 * delayed set (an undelivered entry of it stays, and is skipped when
 * met); one made due now from the delayed set gets its entry. Returns 1 if
 * the job changed (a wake when it became due earlier), -1: retry.
 */
export const RESCHEDULE: string = `
local id = ARGV[A + 1]
local f = rd(id)
if not f then return 0 end
local t = f[1]
if not S[t] then return -1 end
if f[2] ~= 'pending' then return 0 end
if expired(f) then
  drop(id, f)
  done()
  return 0
end
local ra0, p0 = tonumber(f[6]), tonumber(f[7])
local ra, p = ra0, p0
if ARGV[A + 2] ~= '' then ra = tonumber(ARGV[A + 2]) end
if ARGV[A + 3] ~= '' then p = tonumber(ARGV[A + 3]) end
if ra == ra0 and p == p0 then return 0 end
if ARGV[A + 3] ~= '' then f[7] = ARGV[A + 3] end
if ra ~= ra0 then
  f[6] = ARGV[A + 2]
  if ra > NOW then
    if f[14] == 'r' then
      call('ZREM', REDO, rmem(t, f[13], id))
      ack(t, f[13])
    end
    call('ZADD', D[t], f[6], id)
    f[13], f[14] = '', 'd'
  elseif f[14] == 'd' then
    call('ZREM', D[t], id)
    f[13], f[14] = xadd(t, id, dataOf(id)), 's'
  end
end
f[4], f[8] = inc(f[4]), NOWS
wr(id, f)
note(id, f)
done()
if ra < ra0 then call(PUB, WCH, 'w'..ARGV[A + 2]) end
return 1
`;

/**
 * ARGV: type ("" for the whole queue), "1" to pause or "0" to resume.
 * Returns 1 if the state changed; a resume that did publishes a wake, a
 * pause that did `p<type>` (workers give back what they claimed of it).
 */
export const SET_PAUSED: string = `
local n
if ARGV[A + 2] == '1' then n = call('SADD', PAUSED, ARGV[A + 1])
else n = call('SREM', PAUSED, ARGV[A + 1]) end
if n == 1 and ARGV[A + 2] == '0' then call(PUB, WCH, 'w'..NOWS) end
if n == 1 and ARGV[A + 2] == '1' then call(PUB, WCH, 'p'..ARGV[A + 1]) end
return n
`;

/** Returns the paused set's members. */
export const PAUSED_STATE: string = `
return call('SMEMBERS', PAUSED)
`;
