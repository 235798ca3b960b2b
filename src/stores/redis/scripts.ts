import { createHash } from "node:crypto";

/**
 * Lua scripts of the Redis store that decide and write about one job (register, pause, claim,
 * runNow, missed). Every script touches only the job's own keys, which share one hash tag
 * (`{<prefix>:<jobId>}`), so it runs atomically on a single Redis Cluster slot. Run keys
 * (`<base>:run:<runId>`) are built inside the script from `ARGV[1]` (the job's key base): they
 * carry the same hash tag. Time is always Redis `TIME`, never the caller's clock.
 *
 * KEYS of every job script, in order: job hash, runs (zset runId → scheduledAt), active (zset
 * runId → lease expiry), queued (zset runId → scheduledAt), done (zset of terminal runIds →
 * scheduledAt), occ (hash `<scheduledAt>:<trigger>` → runId: the unique occurrence key).
 * ARGV[1] is the key base and ARGV[2] the job id.
 */

/** A Lua script and its SHA1, run with EVALSHA (falling back to EVAL on NOSCRIPT). */
export interface LuaScript {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

/** Builds a {@link LuaScript}. */
export function luaScript(name: string, lua: string): LuaScript {
  return { name, lua, sha: createHash("sha1").update(lua).digest("hex") };
}

/** Shared helpers of the job scripts. */
export const JOB_PRELUDE = `
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
  if redis.call('HEXISTS', K_OCC, s(at) .. ':schedule') == 1 then return end
  insert_run(id, at, 'schedule', { 'state', 'missed', 'attempt', '1', 'token', '0', 'finished_at', s(now) })
  mark_done(id, s(at))
end
local function owned(k, token, now, ...)
  local f = redis.call('HMGET', k, 'token', 'state', 'lease_expires_at', ...)
  if f[1] ~= token or (f[2] ~= 'claimed' and f[2] ~= 'running') then return nil end
  if (tonumber(f[3]) or 0) <= now then return nil end
  return f
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

function jobScript(name: string, body: string): LuaScript {
  return luaScript(name, JOB_PRELUDE + body);
}

/** ARGV: base, jobId, hash, definition, anchor, overlap, onAbandoned, maxAttempts, maxRuns|''. */
export const REGISTER = jobScript(
  "register",
  `
local now = s(now_ms())
local current = redis.call('HGET', K_JOB, 'hash')
local fields = { 'hash', ARGV[3], 'definition', ARGV[4], 'anchor', ARGV[5], 'overlap', ARGV[6],
  'on_abandoned', ARGV[7], 'max_attempts', ARGV[8] }
local outcome = 'unchanged'
if not current then
  redis.call('HSET', K_JOB, 'job_id', job_id, 'paused', '0', 'run_count', '0', 'version', '1',
    'created_at', now, 'updated_at', now, unpack(fields))
  outcome = 'created'
elseif current ~= ARGV[3] then
  redis.call('HSET', K_JOB, 'updated_at', now, unpack(fields))
  redis.call('HINCRBY', K_JOB, 'version', 1)
  outcome = 'updated'
end
if outcome ~= 'unchanged' then
  if ARGV[9] == '' then redis.call('HDEL', K_JOB, 'max_runs')
  else redis.call('HSET', K_JOB, 'max_runs', ARGV[9]) end
end
return { outcome, current or '', redis.call('HGETALL', K_JOB) }
`,
);

/** ARGV: base, jobId, '0'|'1'. Returns 1, or 0 for an unknown job. */
export const SET_PAUSED = jobScript(
  "setPaused",
  `
if redis.call('EXISTS', K_JOB) == 0 then return 0 end
redis.call('HSET', K_JOB, 'paused', ARGV[3], 'updated_at', s(now_ms()))
return 1
`,
);

/**
 * The claim: the rules of `protocol/claim.ts#decideClaim`, in the same order, then the writes.
 * ARGV: base, jobId, scheduledAt, hash, replicaId, leaseMs, toleranceMs, runId, historyLimit,
 * retentionMs, then (instant, runId) pairs of missed occurrences, ascending, below scheduledAt.
 */
export const CLAIM = jobScript(
  "claim",
  `
local job = read_job()
if not job then return { 'unknownJob' } end
if job.hash ~= ARGV[4] then return { 'definitionChanged', job.hash } end
if job.paused then return { 'paused' } end
local now = now_ms()
local at = tonumber(ARGV[3])
local due = at - tonumber(ARGV[7])
if due > now then return { 'notDue', s(due - now) } end
local wm = job.watermark
if wm and at == wm then return { 'lost', s(wm) } end
if wm and at < wm then return { 'stale', s(wm) } end
if job.max_runs and job.run_count >= job.max_runs then return { 'exhausted' } end
if redis.call('HEXISTS', K_OCC, s(at) .. ':schedule') == 1 then return { 'lost', s(wm or at) } end
local busy = redis.call('ZCOUNT', K_ACTIVE, '(' .. s(now), '+inf') > 0
local state, counts = 'claimed', true
if busy and job.overlap == 'skip' then
  state, counts = 'skipped', false
elseif busy and job.overlap == 'queueOne' then
  if redis.call('ZCARD', K_QUEUED) > 0 then state, counts = 'skipped', false else state = 'queued' end
end
for i = 11, #ARGV - 1, 2 do
  local m = tonumber(ARGV[i])
  if (not wm or m > wm) and m < at then insert_missed(ARGV[i + 1], m, now) end
end
redis.call('HSET', K_JOB, 'watermark', s(at))
if counts then redis.call('HINCRBY', K_JOB, 'run_count', 1) end
local id, replica = ARGV[8], ARGV[5]
local reply
if state == 'claimed' then
  local lease = now + tonumber(ARGV[6])
  insert_run(id, at, 'schedule', { 'state', 'claimed', 'attempt', '1', 'token', '1',
    'replica_id', replica, 'claimed_at', s(now), 'lease_expires_at', s(lease) })
  redis.call('ZADD', K_ACTIVE, s(lease), id)
  reply = { 'won', id, s(lease) }
elseif state == 'queued' then
  insert_run(id, at, 'schedule', { 'state', 'queued', 'attempt', '1', 'token', '0', 'replica_id', replica })
  redis.call('ZADD', K_QUEUED, s(at), id)
  reply = { 'queued', id }
else
  insert_run(id, at, 'schedule', { 'state', 'skipped', 'attempt', '1', 'token', '0',
    'replica_id', replica, 'finished_at', s(now) })
  mark_done(id, s(at))
  reply = { 'skipped', id }
end
trim(now, tonumber(ARGV[9]), tonumber(ARGV[10]))
return reply
`,
);

/**
 * ARGV: base, jobId, replicaId, leaseMs, runId. Returns {runId, scheduledAt, lease} or {}. The
 * run is scheduled at now, moved 1 ms past the newest manual run of the job at or after now.
 */
export const CLAIM_MANUAL = jobScript(
  "claimManual",
  `
if redis.call('EXISTS', K_JOB) == 0 then return {} end
local now = now_ms()
local at = now
local later = redis.call('ZRANGEBYSCORE', K_RUNS, s(now), '+inf', 'WITHSCORES')
for i = 1, #later, 2 do
  local m = tonumber(later[i + 1])
  if m >= at and redis.call('HGET', run_key(later[i]), 'trigger_kind') == 'manual' then at = m + 1 end
end
local lease = now + tonumber(ARGV[4])
insert_run(ARGV[5], at, 'manual', { 'state', 'claimed', 'attempt', '1', 'token', '1',
  'replica_id', ARGV[3], 'claimed_at', s(now), 'lease_expires_at', s(lease) })
redis.call('ZADD', K_ACTIVE, s(lease), ARGV[5])
return { ARGV[5], s(at), s(lease) }
`,
);

/** ARGV: base, jobId, hash, historyLimit, retentionMs, then (instant, runId) pairs ascending. */
export const RECORD_MISSED = jobScript(
  "recordMissed",
  `
local job = read_job()
if not job or job.hash ~= ARGV[3] then return 0 end
local now = now_ms()
local count, newest = 0, nil
for i = 6, #ARGV - 1, 2 do
  local m = tonumber(ARGV[i])
  if not job.watermark or m > job.watermark then
    insert_missed(ARGV[i + 1], m, now)
    count, newest = count + 1, m
  end
end
if newest then redis.call('HSET', K_JOB, 'watermark', s(newest)) end
trim(now, tonumber(ARGV[4]), tonumber(ARGV[5]))
return count
`,
);
