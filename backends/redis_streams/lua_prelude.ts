/**
 * The Lua helpers the Redis Streams scripts start with, and the catalogue of
 * the keys they may touch. Every key a script touches is declared in its
 * KEYS (Dragonfly refuses undeclared keys): the queue's fixed keys each
 * script needs, in catalogue order, then a stream `s:<type>` and a delayed
 * set `d:<type>` per type the caller names. A helper says which fixed keys
 * it uses, so a script declares exactly what its helpers and body touch.
 *
 * A script's ARGV starts with now, the namespace (for the channel names),
 * the trim length, the consumer name, the number of types and the types;
 * its own arguments follow, from `ARGV[A + 1]`.
 *
 * A job's state is one string in the `st` hash (fields by position, spaces
 * between, the message last since it may hold anything; records.ts):
 *
 * | # | field | # | field | # | field |
 * | --- | --- | --- | --- | --- | --- |
 * | 1 | type | 7 | priority | 13 | stream entry id |
 * | 2 | status | 8 | updatedAt | 14 | where: d delayed, s in the stream, r redelivery, p processing |
 * | 3 | attempt | 9 | startedAt | 15 | expiresAt |
 * | 4 | version | 10 | completedAt | 16 | maxAttempts |
 * | 5 | progress | 11 | lease token | 17 | keep rules |
 * | 6 | runAt | 12 | lease until | 18 | message |
 *
 * @module
 */

import { BULK, STATE } from "./lua_bulk.ts";
import { RECOVER, STREAM } from "./lua_stream.ts";
import { DROP, RETAIN } from "./lua_retention.ts";

/**
 * The fixed keys of a queue, by the Lua variable that names them, with
 * their suffix under the queue's namespace.
 */
export const FIXED_KEYS = {
  ST: "st", // hash id -> state string
  JOB: "job", // hash id -> what never changes: createdAt, ttl, metadata, data
  KID: "kid", // hash id -> idempotency key
  ERR: "err", // hash id -> error (JSON text)
  RES: "res", // hash id -> result (JSON text)
  KEYIDX: "keys", // hash key -> id of the pending or processing holder
  IDS: "ids", // zset of every id (score 0, read by lex)
  COUNTS: "counts", // hash `<status>:<type>` -> number of jobs
  EXPIRY: "expiry", // zset id by expiresAt
  ACTIVE: "active", // zset id by lease until
  REDO: "redo", // zset (lex) `<type>\t<seq>\t<id>`: entries to deliver again
  UNACKED: "unacked", // zset (lex) `<type>\t<entry>`: entries to XACK
  PAUSED: "paused", // set of paused types, "" for the whole queue
  SEQ: "seq", // the entry sequence
  TAIL: "tail", // hash type -> ms part of the stream's last entry id
  LAG: "lag", // hash type -> entries not yet delivered
  DONE_C: "done:complete", // zset id by completedAt
  DONE_F: "done:failed",
  DONE_X: "done:cancelled",
  RM: "removals", // zset id by removal time
  SCHED: "sched", // hash name -> `<version>\n<nextRunAt>\n<definition>`
  DUE: "due", // zset schedule name by nextRunAt
} as const;

/** A fixed key's Lua variable. */
export type FixedKey = keyof typeof FIXED_KEYS;

/** A helper's name. */
export type Helper =
  | "state"
  | "bulk"
  | "count"
  | "note"
  | "done"
  | "stream"
  | "ack"
  | "relkey"
  | "holds"
  | "drop"
  | "retain"
  | "purge"
  | "recover";

/** A helper: what it needs, the fixed keys it touches, its code. */
type Def = [Helper[], FixedKey[], string];

const HELPERS: Record<Helper, Def> = {
  state: [[], ["ST"], STATE],
  bulk: [[], [], BULK],
  count: [
    [],
    ["COUNTS"],
    `local cnt = {}
local function count(s, t, d)
  local f = s..':'..t
  cnt[f] = (cnt[f] or 0) + d
end
`,
  ],
  note: [
    [],
    ["ERR"],
    `local ups = {}
local heard = nil
-- Updates are built only when someone subscribes: it is most of a script's
-- cost otherwise spent for nobody.
local function listening()
  if heard == nil then heard = call('PUBSUB', NUMSUB, UCH)[2] > 0 end
  return heard
end
-- e: the error's JSON text, false for none, nil to read it
local function note(id, f, r, e, at)
  if not listening() then return end
  if e == nil then e = call('HGET', ERR, id) end
  ups[#ups + 1] = '['..enc(id)..','..enc(f[1])..',"'..f[2]..'",'..f[5]..','..
    enc(f[18])..','..f[3]..','..(at or NOWS)..','..f[4]..','..
    (r and enc(r) or 'null')..','..(e and enc(e) or 'null')..']'
end
`,
  ],
  done: [
    ["count", "note"],
    ["COUNTS"],
    `local function done()
  for _, h in ipairs(hooks) do h() end
  for f, d in pairs(cnt) do
    if d ~= 0 and call('HINCRBY', COUNTS, f, d) == 0 then call('HDEL', COUNTS, f) end
  end
  cnt = {}
  if #ups > 0 then call(PUB, UCH, '['..table.concat(ups, ',')..']') end
  ups = {}
end
`,
  ],
  stream: [["state", "bulk"], ["SEQ", "TAIL", "LAG", "JOB"], STREAM],
  ack: [
    ["bulk"],
    ["UNACKED"],
    `-- Acknowledges an entry now if its stream is declared, else later (settle).
local function ack(t, se)
  if se == '' then return end
  if S[t] then add('XACK', S[t], G, se) else call('ZADD', UNACKED, 0, t..'\\t'..se) end
end
-- A job's member of the redelivery set: its type, entry sequence, id.
local function rmem(t, se, id)
  local n = tonumber(string.match(se, '%-(%d+)$') or '0')
  return t..'\\t'..string.format('%016.0f', n)..'\\t'..id
end
`,
  ],
  relkey: [
    ["bulk"],
    ["KID", "KEYIDX"],
    `-- id -> key (false: none) of the jobs this call read or wrote
local kidc = {}
local function keyOf(id)
  local k = kidc[id]
  if k == nil then
    k = call('HGET', KID, id)
    kidc[id] = k
  end
  return k
end
local function prefetchKeys(ids)
  local miss = {}
  for _, id in ipairs(ids) do if kidc[id] == nil then miss[#miss + 1] = id end end
  for i = 1, #miss, 1000 do
    local part = {unpack(miss, i, math.min(i + 999, #miss))}
    local v = call('HMGET', KID, unpack(part))
    for j, id in ipairs(part) do kidc[id] = v[j] end
  end
end
local function setkey(id, k)
  kidc[id] = k
  add('HSET', KID, nil, id, k)
end
local function unkey(id)
  kidc[id] = false
  call('HDEL', KID, id)
end
local function relkey(id)
  local k = keyOf(id)
  if k and call('HGET', KEYIDX, k) == id then call('HDEL', KEYIDX, k) end
end
`,
  ],
  holds: [
    ["state"],
    [],
    `local function holds(id)
  local f = rd(id)
  return f ~= nil and (f[2] == 'pending' or f[2] == 'processing') and not expired(f)
end
`,
  ],
  drop: [["state", "count", "ack", "relkey"], [
    "JOB",
    "ERR",
    "RES",
    "IDS",
    "EXPIRY",
    "ACTIVE",
    "REDO",
    "DONE_C",
    "DONE_F",
    "DONE_X",
    "RM",
  ], DROP],
  retain: [["drop", "done"], ["DONE_C", "DONE_F", "DONE_X", "RM"], RETAIN],
  purge: [
    ["drop"],
    ["EXPIRY"],
    `local function purge(limit)
  local ids = call('ZRANGEBYSCORE', EXPIRY, '-inf', NOWS, 'LIMIT', 0, limit)
  for _, id in ipairs(ids) do
    local f = rd(id)
    if f then drop(id, f) else call('ZREM', EXPIRY, id) end
  end
  return #ids
end
`,
  ],
  recover: [
    ["state", "count", "note", "ack", "relkey", "retain"],
    ["ACTIVE", "REDO", "ERR"],
    RECOVER,
  ],
};

/** Every helper that `needs` uses, in dependency order. */
function closure(needs: readonly Helper[]): Helper[] {
  const out: Helper[] = [];
  const visit = (name: Helper): void => {
    if (out.includes(name)) return;
    HELPERS[name][0].forEach(visit);
    out.push(name);
  };
  needs.forEach(visit);
  return out;
}

/**
 * The fixed keys a script declares: those of its helpers and its own, in
 * catalogue order.
 */
export function keysOf(
  needs: readonly Helper[],
  own: readonly FixedKey[],
): FixedKey[] {
  const want = new Set<FixedKey>(own);
  for (const h of closure(needs)) HELPERS[h][1].forEach((k) => want.add(k));
  return (Object.keys(FIXED_KEYS) as FixedKey[]).filter((k) => want.has(k));
}

/**
 * Checks, before each call, that the keys it names are declared: off by
 * default (what Dragonfly does), on with the backend's `checkKeys` option.
 */
const STRICT = `local raw = call
local declared = {}
for _, k in ipairs(KEYS) do declared[k] = true end
local function need(k)
  if not declared[k] then error('undeclared key '..tostring(k)) end
end
call = function(cmd, ...)
  local a = {...}
  if cmd == 'XREADGROUP' then
    for i = 1, #a do
      if a[i] == 'STREAMS' then
        for j = i + 1, i + (#a - i) / 2 do need(a[j]) end
      end
    end
  elseif cmd == 'XINFO' or cmd == 'XGROUP' then need(a[2])
  elseif cmd ~= PUB and cmd ~= 'PUBSUB' then need(a[1]) end
  return raw(cmd, ...)
end
`;

/**
 * A script's source: its header (publish commands, the common arguments,
 * the fixed keys it declares), its helpers, its body.
 */
export function scriptSource(
  body: string,
  needs: readonly Helper[],
  keys: readonly FixedKey[],
  options: { publish: "PUBLISH" | "SPUBLISH"; checkKeys: boolean },
): string {
  const f = keys.length;
  const head = `local PUB, NUMSUB = '${options.publish}', '${
    options.publish === "PUBLISH" ? "NUMSUB" : "SHARDNUMSUB"
  }'
local NOWS = ARGV[1]
local NOW = tonumber(NOWS)
local B = ARGV[2]
local TRIM = tonumber(ARGV[3])
local CONSUMER = ARGV[4]
local NT = tonumber(ARGV[5])
local A = 5 + NT
local S, D, TYPES = {}, {}, {}
for i = 1, NT do
  local t = ARGV[5 + i]
  TYPES[i] = t
  S[t] = KEYS[${f} + 2 * i - 1]
  D[t] = KEYS[${f} + 2 * i]
end
local G = 'jobline'
local UCH, WCH = B..'u', B..'w'
local call = redis.call
local enc = cjson.encode
-- Lua 5.1 (Redis) has unpack, Lua 5.4 (Dragonfly) table.unpack.
local unpack = unpack or table.unpack
local hooks = {}
${keys.map((k, i) => `local ${k} = KEYS[${i + 1}]`).join("\n")}
${
    keys.includes("DONE_C")
      ? "local DONE = {complete = DONE_C, failed = DONE_F, cancelled = DONE_X}\n"
      : ""
  }`;
  return head + (options.checkKeys ? STRICT : "") +
    closure(needs).map((h) => HELPERS[h][2]).join("") + body;
}
