/**
 * The scripts that store new jobs in the Redis Streams backend: enqueue,
 * a schedule's fire (compare-and-set on its version, then an enqueue), and
 * import (jobs written as they are, for `migrate()`). lua.ts registers
 * them with the helpers and keys they use. A due job's entry goes into its
 * type's stream at once (XADD); a delayed one waits in `d:<type>` by runAt
 * until a claim of its type moves it into the stream.
 *
 * @module
 */

/**
 * `admit(id, f, x, k)` writes a job whose state is `f` (fields 13 and 14
 * filled here), what never changes `x` and key `k` (or nil), and indexes
 * it: a pending one takes its key and goes into its stream or delayed set;
 * a finished one goes into its status's index.
 */
const ADMIT = `
local function admit(id, f, x, k)
  local t = f[1]
  add('HSET', JOB, nil, id, x)
  add('ZADD', IDS, nil, 0, id)
  if f[15] ~= '' then add('ZADD', EXPIRY, nil, f[15], id) end
  if k then setkey(id, k) end
  f[13], f[14] = '', ''
  if f[2] == 'pending' then
    if k then call('HSET', KEYIDX, k, id) end
    if tonumber(f[6]) > NOW then
      add('ZADD', D[t], nil, f[6], id)
      f[14] = 'd'
    else
      f[13], f[14] = xadd(t, id, string.match(x, '^[^\\n]*\\n[^\\n]*\\n[^\\n]*\\n(.*)$')), 's'
    end
  end
  wr(id, f)
  count(f[2], t, 1)
end
`;

/**
 * `enqueue(packed, first)`: the jobs packed one after the other, each
 * `id t priority runAt expiresAt maxAttempts keep createdAt x` separated by
 * \\1 and ended by \\2 (JSON text never holds a raw control character;
 * records.ts), then from ARGV[first] (index, key) per job with a key
 * (indexes from 0). Returns (index, holder id) pairs for the jobs not made
 * because their key was held, and the earliest runAt made (or nil).
 */
const ENQUEUE_FN = ADMIT + `
local JOBPAT = '([^\\1]*)\\1([^\\1]*)\\1([^\\1]*)\\1([^\\1]*)\\1([^\\1]*)\\1([^\\1]*)\\1([^\\1]*)\\1([^\\1]*)\\1([^\\2]*)\\2'
local function enqueue(packed, first)
  local keyOf = {}
  for i = first, #ARGV, 2 do keyOf[tonumber(ARGV[i])] = ARGV[i + 1] end
  local out, wake = {}, nil
  local i = -1
  for id, t, p, ra, ea, ma, kp, ca, x in string.gmatch(packed, JOBPAT) do
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
      local f = {t, 'pending', '0', '1', '0', ra, p, ca, '', '', '', '', '', '', ea, ma, kp, ''}
      admit(id, f, x, k)
      note(id, f, nil, false, ca)
      if wake == nil or tonumber(ra) < tonumber(wake) then wake = ra end
    end
  end
  return out, wake
end
`;

/** ARGV: the packed jobs, then (index, key) pairs; see enqueue above. */
export const ENQUEUE: string = ENQUEUE_FN + `
local out, wake = enqueue(ARGV[A + 1], A + 2)
done()
if wake then call(PUB, WCH, 'w'..wake) end
return out
`;

/**
 * ARGV: name, version, next occurrence, the job packed as for enqueue,
 * then its (0, key) pair if it has a key. Fires the schedule if it still
 * has that version. Returns false when it is gone or has another version,
 * else {1} for a job made or {0, holder id} when its key was held.
 */
export const FIRE: string = ENQUEUE_FN + `
local name, version, nx = ARGV[A + 1], ARGV[A + 2], ARGV[A + 3]
local old = call('HGET', SCHED, name)
if not old then return false end
local v, def = string.match(old, '^(%d+)\\n[^\\n]*\\n(.*)$')
if v ~= version then return false end
call('HSET', SCHED, name, inc(v)..'\\n'..nx..'\\n'..def)
call('ZADD', DUE, nx, name)
local out, wake = enqueue(ARGV[A + 4], A + 5)
done()
if wake then call(PUB, WCH, 'w'..wake) end
if #out > 0 then return {0, out[2]} end
return {1}
`;

/**
 * ARGV: per job six values: id, state (records.ts), x, key ("" none),
 * error ("" none), result ("" none). Writes each job as it is unless its id
 * is stored ("exists") or, pending, its key is held by a live job
 * ("key-held"); a finished one is indexed by completedAt, and by removal
 * time when its rule has an age. Returns one outcome per job.
 */
export const IMPORT: string = ADMIT + `
local out = {}
local wake = nil
for i = A + 1, #ARGV, 6 do
  local id = ARGV[i]
  local f = {string.match(ARGV[i + 1], PAT)}
  local k = ARGV[i + 3] ~= '' and ARGV[i + 3] or nil
  if rd(id) then
    out[#out + 1] = 'exists'
  elseif f[2] == 'pending' and k and call('HGET', KEYIDX, k) and holds(call('HGET', KEYIDX, k)) then
    out[#out + 1] = 'key-held'
  else
    admit(id, f, ARGV[i + 2], k)
    if ARGV[i + 4] ~= '' then call('HSET', ERR, id, ARGV[i + 4]) end
    if ARGV[i + 5] ~= '' then call('HSET', RES, id, ARGV[i + 5]) end
    if f[2] == 'pending' then
      if wake == nil or tonumber(f[6]) < tonumber(wake) then wake = f[6] end
    elseif DONE[f[2]] then
      call('ZADD', DONE[f[2]], f[10], id)
      local ca, _, fa = string.match(f[17], '^([^,]*),([^,]*),([^,]*),([^,]*)$')
      local a = f[2] == 'complete' and ca or fa
      if a and a ~= '-' then
        call('ZADD', RM, string.format('%.0f', tonumber(f[10]) + tonumber(a)), id)
      end
    end
    out[#out + 1] = 'created'
  end
end
retained = 1
done()
tidy()
if wake then call(PUB, WCH, 'w'..wake) end
return out
`;
