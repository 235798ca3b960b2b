import { createHash } from "node:crypto";

/**
 * What every Lua script of the Redis store is built from. Job scripts touch only one job's keys,
 * which share one hash tag (`{<prefix>:<jobId>}`), so each runs atomically on a single Redis
 * Cluster slot. Run keys (`<base>:run:<runId>`) are built inside the script from `ARGV[1]` (the
 * job's key base): they carry the same hash tag. Time is always Redis `TIME`, never the caller's
 * clock.
 *
 * KEYS of every job script, in order: job hash, runs (zset runId → scheduledAt), active (zset
 * runId → lease expiry), queued (zset runId → scheduledAt), done (zset of terminal runIds →
 * scheduledAt), occ (hash `<scheduledAt>:<trigger>` → runId: the unique occurrence key).
 * ARGV[1] is the key base and ARGV[2] the job id. Store-wide scripts touch only keys tagged
 * `{<prefix>}`. `index_score(id, now)` is the score the store-wide lease index should hold for
 * a run: its lease expiry while active, its blocker's while queued, '-1' when terminal or gone.
 * `insert_missed` returns whether it wrote the row (false when the occurrence already has one).
 */

/** A Lua script and its SHA1, run with EVALSHA (falling back to EVAL on NOSCRIPT). */
export interface LuaScript {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

/** Builds a {@link LuaScript}. */
function luaScript(name: string, lua: string): LuaScript {
  return { name, lua, sha: createHash("sha1").update(lua).digest("hex") };
}

/** Shared helpers of the job scripts. */
const JOB_PRELUDE = `
local base, job_id = ARGV[1], ARGV[2]
local K_JOB, K_RUNS, K_ACTIVE, K_QUEUED, K_DONE, K_OCC = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local OVERLAPS = { allow = true, skip = true, queueOne = true }
local ABANDONS = { retry = true, abandon = true }
local function s(n) return string.format('%d', n) end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function corrupt(key, field, value)
  error({ err = 'BELFRY_CORRUPT|' .. key .. '|' .. field .. '|' .. (value or '(missing)') .. '|' })
end
local function int(key, field, value, nullable)
  if not value and nullable then return nil end
  if not value or not string.match(value, '^%-?%d+$') then corrupt(key, field, value) end
  return tonumber(value)
end
local function read_job()
  local j = redis.call('HMGET', K_JOB, 'hash', 'paused', 'watermark', 'max_runs', 'run_count',
    'overlap', 'on_abandoned', 'max_attempts')
  if not j[1] then return nil end
  if j[2] ~= '0' and j[2] ~= '1' then corrupt(K_JOB, 'paused', j[2]) end
  if not j[6] or not OVERLAPS[j[6]] then corrupt(K_JOB, 'overlap', j[6]) end
  if not j[7] or not ABANDONS[j[7]] then corrupt(K_JOB, 'on_abandoned', j[7]) end
  return { hash = j[1], paused = j[2] == '1', watermark = int(K_JOB, 'watermark', j[3], true),
    max_runs = int(K_JOB, 'max_runs', j[4], true), run_count = int(K_JOB, 'run_count', j[5]),
    overlap = j[6], on_abandoned = j[7], max_attempts = int(K_JOB, 'max_attempts', j[8]) }
end
local function run_key(id) return base .. ':run:' .. id end
local function insert_run(id, at, trigger, fields)
  redis.call('HSET', run_key(id), 'run_id', id, 'job_id', job_id, 'scheduled_at', s(at),
    'trigger_kind', trigger, unpack(fields))
  redis.call('ZADD', K_RUNS, s(at), id)
  redis.call('HSET', K_OCC, s(at) .. ':' .. trigger, id)
end
local function mark_done(id, at)
  redis.call('ZREM', K_ACTIVE, id)
  redis.call('ZREM', K_QUEUED, id)
  redis.call('ZADD', K_DONE, at, id)
end
local function drop(id)
  local k = run_key(id)
  local f = redis.call('HMGET', k, 'scheduled_at', 'trigger_kind')
  if f[1] and f[2] and redis.call('HGET', K_OCC, f[1] .. ':' .. f[2]) == id then
    redis.call('HDEL', K_OCC, f[1] .. ':' .. f[2])
  end
  redis.call('DEL', k)
  redis.call('ZREM', K_RUNS, id)
  redis.call('ZREM', K_DONE, id)
end
local function trim(now, limit, retention)
  local extra = redis.call('ZCARD', K_DONE) - limit
  if limit > 0 and extra > 0 then
    for _, id in ipairs(redis.call('ZRANGE', K_DONE, 0, extra - 1)) do drop(id) end
  end
  if retention > 0 then
    local old = redis.call('ZRANGEBYSCORE', K_DONE, '-inf', '(' .. s(now - retention), 'LIMIT', 0, 100)
    for _, id in ipairs(old) do drop(id) end
  end
end
local function insert_missed(id, at, now)
  if redis.call('HEXISTS', K_OCC, s(at) .. ':schedule') == 1 then return false end
  insert_run(id, at, 'schedule', { 'state', 'missed', 'attempt', '1', 'token', '0', 'finished_at', s(now) })
  mark_done(id, s(at))
  return true
end
local function owned(k, token, now, ...)
  local f = redis.call('HMGET', k, 'token', 'state', 'lease_expires_at', ...)
  if f[1] ~= token or (f[2] ~= 'claimed' and f[2] ~= 'running') then return nil end
  if (tonumber(f[3]) or 0) <= now then return nil end
  return f
end
local function index_score(id, now)
  local state = redis.call('HGET', run_key(id), 'state')
  if state == 'claimed' or state == 'running' then
    return redis.call('ZSCORE', K_ACTIVE, id) or s(now)
  elseif state == 'queued' then
    local live = redis.call('ZRANGEBYSCORE', K_ACTIVE, '(' .. s(now), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    return live[2] or s(now)
  end
  return '-1'
end
local function take_over(id, replica, lease_ms, now, next_attempt)
  local k = run_key(id)
  local f = redis.call('HMGET', k, 'token', 'attempt', 'scheduled_at', 'trigger_kind')
  local token = int(k, 'token', f[1]) + 1
  local attempt = int(k, 'attempt', f[2])
  if next_attempt then attempt = attempt + 1 end
  local lease = now + lease_ms
  redis.call('HSET', k, 'state', 'claimed', 'token', s(token), 'attempt', s(attempt),
    'replica_id', replica, 'claimed_at', s(now), 'lease_expires_at', s(lease))
  redis.call('HDEL', k, 'started_at')
  redis.call('ZREM', K_QUEUED, id)
  redis.call('ZADD', K_ACTIVE, s(lease), id)
  return { id, f[3], f[4], s(attempt), s(token), s(lease) }
end
`;

/** Store time as `now` (ms) for the store-wide scripts. */
const GLOBAL_PRELUDE = `
local function s(n) return string.format('%d', n) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/** A script on one job's keys, with the job helpers in scope. */
export function jobScript(name: string, body: string): LuaScript {
  return luaScript(name, JOB_PRELUDE + body);
}

/** A script on the store-wide keys, with `s` and `now` in scope. */
export function globalScript(name: string, body: string): LuaScript {
  return luaScript(name, GLOBAL_PRELUDE + body);
}
