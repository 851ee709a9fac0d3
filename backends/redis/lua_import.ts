/**
 * The Redis backend's import script (moving a queue between backends, SPEC
 * §10; lua.ts registers it with the helpers it uses): jobs written as they
 * are, each with the next enqueue sequence, in the indexes a job of its
 * status is in (lua.ts lists them). It publishes no update (no job
 * changed), only one wake for the pending jobs stored.
 *
 * @module
 */

/** ARGV entries per job (see IMPORT). */
export const IMPORT_FIELDS: number = 19;

/**
 * ARGV: now, n, then per job IMPORT_FIELDS entries: id, t, s, x, kp, ea, k,
 * pg, m, r, e, a, ua, sa, co, v (the hash fields of records.ts, "" for an
 * absent one), priority, runAt, group ("" none). Never a processing job (the caller refuses
 * them). Returns one outcome per job: "created", "exists" (a job of that
 * id is stored) or "key-held" (a pending job whose key a live job holds).
 * A stored job gets a ready score from the next sequence (kept as q, so a
 * finished job goes back in line when retried); a pending one goes to its
 * type's ready set or to the delayed set by runAt and holds its key; a
 * finished one enters `B done:<status>` by completedAt and, with an age
 * rule, `B removals` (the sweep at the end deletes those already due).
 */
export const IMPORT: string = `
local n = tonumber(ARGV[2])
local seq = call('INCRBY', SEQ, n) - n
local out = {}
local wake, wakeS = nil, nil
local finished = 0
local OPTIONAL = {'kp', 'ea', 'k', 'pg', 'm', 'r', 'e', 'sa', 'co', 'g'}
for i = 0, n - 1 do
  local o = 2 + i * ${IMPORT_FIELDS}
  local id, t, s, x, kp, ea, k, pg, m, r, e, a, ua, sa, co, v, p, ra, g =
    unpack(ARGV, o + 1, o + ${IMPORT_FIELDS})
  local refused = nil
  if call('EXISTS', J(id)) == 1 then
    refused = 'exists'
  elseif s == 'pending' and k ~= '' then
    local h = call('HGET', KEYIDX, k)
    if h and holds(h) then refused = 'key-held' end
  end
  if refused then
    out[i + 1] = refused
  else
    seq = seq + 1
    local q = string.format('%.0f', (100 - tonumber(p)) * 35184372088832 + seq)
    local f = {'x', x, 't', t, 's', s, 'q', q, 'a', a, 'ua', ua, 'v', v}
    local given = {kp, ea, k, pg, m, r, e, sa, co, g}
    for j, name in ipairs(OPTIONAL) do
      if given[j] ~= '' then
        f[#f + 1] = name; f[#f + 1] = given[j]
      end
    end
    call('HSET', J(id), unpack(f))
    call('ZADD', IDS, 0, id)
    if ea ~= '' then call('ZADD', EXPIRY, ea, id) end
    if s == 'pending' then
      if k ~= '' then call('HSET', KEYIDX, k, id) end
      schedule(id, t, q, ra, g ~= '' and g or nil)
      if wake == nil or tonumber(ra) < wake then
        wake = tonumber(ra)
        wakeS = ra
      end
    else
      -- by when it finished (updatedAt, should completedAt be missing)
      local at = co ~= '' and co or ua
      call('ZADD', DONE..s, at, id)
      local age
      if kp == '' then age = '-'
      elseif s == 'complete' then age = string.match(kp, '^(%S+)')
      else age = string.match(kp, '(%S+) %S+$') end
      if age ~= '-' then
        call('ZADD', RM, string.format('%.0f', tonumber(at) + tonumber(age)), id)
      end
      finished = finished + 1
    end
    count(s, t, 1)
    out[i + 1] = 'created'
  end
end
done()
-- the sweep of due removals that a finishing step ends with
retained = finished
tidy()
if wake then call(PUB, WCH, 'w'..wakeS) end
return out
`;
