/**
 * The stream helpers of the Redis Streams scripts (lua_prelude.ts registers
 * them): adding a due job's entry to its type's stream, and the lease
 * recovery every claim starts with.
 *
 * An entry's id is `<ms>-<seq>`: ms is the queue's clock when the job
 * became due (never less than the stream's last entry's, kept in `tail`),
 * seq the queue's entry sequence, so entries of different types compare by
 * seq: the order they became due. An entry holds the job's id (`j`) and
 * data (`d`). A call that adds entries trims their stream (XTRIM MAXLEN ~)
 * to the trim length plus the entries not yet delivered (counted in `lag`),
 * so a trim never drops an entry that is still to be delivered.
 *
 * @module
 */

/**
 * Helper "stream" (needs state; keys SEQ, TAIL, LAG, JOB). `xadd(t, id,
 * data)` adds a job's entry to its type's stream (declared by the caller),
 * creating the stream and its consumer group on first use, and returns the
 * entry id. `dataOf(id)` reads a job's data. `lag(t, d)` counts `d` more
 * entries of type `t` not yet delivered (less, for a negative `d`); done()
 * writes the counts and trims the streams this call added to.
 */
export const STREAM: string = `local made, lagd, tailc, seqn = {}, {}, {}, nil
local function lag(t, d) lagd[t] = (lagd[t] or 0) + d end
local function xadd(t, id, data)
  local sk = S[t]
  if not made[t] then
    if call('EXISTS', sk) == 0 then call('XGROUP', 'CREATE', sk, G, '0', 'MKSTREAM') end
    made[t] = true
  end
  local ms = tailc[t]
  if ms == nil then ms = tonumber(call('HGET', TAIL, t) or '0') end
  if NOW > ms then ms = NOW end
  tailc[t] = ms
  lag(t, 1)
  seqn = (seqn or tonumber(call('GET', SEQ) or '0')) + 1
  local e = string.format('%.0f-%.0f', ms, seqn)
  call('XADD', sk, e, 'j', id, 'd', data)
  return e
end
local function dataOf(id)
  return string.match(call('HGET', JOB, id), '^[^\\n]*\\n[^\\n]*\\n[^\\n]*\\n(.*)$')
end
hooks[#hooks + 1] = function()
  for t, d in pairs(lagd) do
    local n = call('HINCRBY', LAG, t, d)
    if n < 0 then
      call('HSET', LAG, t, 0)
      n = 0
    end
    if made[t] then call('XTRIM', S[t], 'MAXLEN', '~', TRIM + n) end
  end
  for t, ms in pairs(tailc) do call('HSET', TAIL, t, string.format('%.0f', ms)) end
  if seqn then call('SET', SEQ, string.format('%.0f', seqn)) end
  lagd, tailc = {}, {}
end
`;

/**
 * Helper "recover" (keys ACTIVE, REDO, ERR). `recover(limit)` returns up to
 * `limit` processing jobs whose lease ran out to pending, where their entry
 * waits in the consumer group's pending list to be delivered again (the
 * redelivery set), or to failed when no attempts are left (the entry is
 * acknowledged). Queue-wide: it touches no key of a type, so any claim
 * recovers every type's leases.
 */
export const RECOVER: string =
  `local LEASE_EXPIRED = '{"name":"LeaseExpiredError","message":"lease expired"}'
local function recover(limit)
  local ids = call('ZRANGEBYSCORE', ACTIVE, '-inf', NOWS, 'LIMIT', 0, limit)
  for _, id in ipairs(ids) do
    call('ZREM', ACTIVE, id)
    local f = rd(id)
    if f and f[2] == 'processing' and tonumber(f[12]) > NOW then
      call('ZADD', ACTIVE, f[12], id)
    elseif f and f[2] == 'processing' then
      local t = f[1]
      f[4] = inc(f[4])
      f[8], f[11], f[12] = NOWS, '', ''
      call('HSET', ERR, id, LEASE_EXPIRED)
      if tonumber(f[3]) < tonumber(f[16]) then
        f[2], f[6], f[14] = 'pending', NOWS, 'r'
        call('ZADD', REDO, 0, rmem(t, f[13], id))
      else
        f[2], f[10], f[14] = 'failed', NOWS, ''
        ack(t, f[13])
        f[13] = ''
        relkey(id)
      end
      wr(id, f)
      count('processing', t, -1)
      count(f[2], t, 1)
      call(PUB, WCH, 'c'..id..' '..f[4])
      note(id, f, nil, LEASE_EXPIRED)
      if f[2] == 'failed' then retain(id, f) end
    end
  end
  return #ids
end
`;
