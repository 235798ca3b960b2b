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

/** The per-job names of the job helpers, bound to one job's KEYS and ARGV. */
const JOB_BINDINGS = `
local base, job_id = ARGV[1], ARGV[2]
local K_JOB, K_RUNS, K_ACTIVE, K_QUEUED, K_DONE, K_OCC = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]`;

/** Shared helpers of the job scripts, on the per-job names (declared before them). */
const JOB_HELPERS = `
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

/**
 * The due code of an instant: 17 characters whose byte order is the instant's order, so that a
 * sorted set with every score 0 orders its members by due instant (ZRANGEBYLEX). `'1'` and 16
 * digits for an instant ≥ 0; `'0'` and 16 digits of `9e15 + n` below 0 (exact in a Lua double;
 * instants below −9e15, before any valid Date, are treated as −9e15). `due_of` reads it back.
 */
export const DUE_CODE = `
local function due_code(n)
  if n >= 0 then return '1' .. string.format('%016d', n) end
  if n < -9e15 then n = -9e15 end
  return '0' .. string.format('%016d', 9e15 + n)
end
local function due_of(code)
  local n = tonumber(string.sub(code, 2, 17))
  if string.sub(code, 1, 1) == '1' then return n end
  return n - 9e15
end
`;

/**
 * What the scripts on a runtime schedule add to the job helpers. KEYS 7 to 9: the job list,
 * the schedule list and the task's due index (`RedisKeys.schedule`). A due-index member is
 * `<due code>:<spread, 10 digits>:<jobId>` at score 0: ordered by due instant, then by spread
 * (`spreadOf`), so the rows due at one instant can be read from any spread value on
 * (`scripts/schedules.ts#DUE`). `set_due` is the only writer of `next_at`, `triggered_at` and
 * `due_at`, and keeps the index in step; it returns whether the row became due earlier.
 */
const SCHEDULE_BINDINGS = `local K_JOBS, K_LIST, K_DUE = KEYS[7], KEYS[8], KEYS[9]`;

/** The schedule helpers, on the names of {@link SCHEDULE_BINDINGS} (declared before them). */
const SCHEDULE_HELPERS = `
local function due_member(due, spread)
  return due_code(due) .. ':' .. string.format('%010d', spread) .. ':' .. job_id
end
local function read_schedule()
  local f = redis.call('HMGET', K_JOB, 'task', 'next_at', 'triggered_at', 'due_at', 'spread')
  if not f[1] then return nil end
  return { next_at = int(K_JOB, 'next_at', f[2], true),
    triggered_at = int(K_JOB, 'triggered_at', f[3], true),
    due_at = int(K_JOB, 'due_at', f[4], true), spread = int(K_JOB, 'spread', f[5]) }
end
local function earliest(a, b)
  if not a then return b end
  if not b then return a end
  return math.min(a, b)
end
local function advanced(stored, requested)
  if not requested or not stored then return requested end
  return math.max(stored, requested)
end
local function instant_arg(value)
  if value == '' then return nil end
  return tonumber(value)
end
local function set_field(field, value)
  if value then redis.call('HSET', K_JOB, field, s(value)) else redis.call('HDEL', K_JOB, field) end
end
local function set_due(sched, next_at, triggered_at)
  local due = earliest(next_at, triggered_at)
  set_field('next_at', next_at)
  set_field('triggered_at', triggered_at)
  set_field('due_at', due)
  if due ~= sched.due_at then
    if sched.due_at then redis.call('ZREM', K_DUE, due_member(sched.due_at, sched.spread)) end
    if due then redis.call('ZADD', K_DUE, 0, due_member(due, sched.spread)) end
  end
  return due ~= nil and (sched.due_at == nil or due < sched.due_at)
end
`;

/**
 * The manual run of `Store.claimManual`, shared by `CLAIM_MANUAL` and `CLAIM_TRIGGERED`:
 * scheduled at now, moved 1 ms past the newest manual run of the job at or after now. Returns
 * {runId, scheduledAt, lease}.
 */
export const MANUAL_RUN = `
local function manual_run(replica, lease_ms, id)
  local now = now_ms()
  local at = now
  local later = redis.call('ZRANGEBYSCORE', K_RUNS, s(now), '+inf', 'WITHSCORES')
  for i = 1, #later, 2 do
    local m = tonumber(later[i + 1])
    if m >= at and redis.call('HGET', run_key(later[i]), 'trigger_kind') == 'manual' then at = m + 1 end
  end
  local lease = now + lease_ms
  insert_run(id, at, 'manual', { 'state', 'claimed', 'attempt', '1', 'token', '1',
    'replica_id', replica, 'claimed_at', s(now), 'lease_expires_at', s(lease) })
  redis.call('ZADD', K_ACTIVE, s(lease), id)
  return { id, s(at), s(lease) }
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
  return luaScript(name, JOB_BINDINGS + JOB_HELPERS + body);
}

/**
 * A script on one runtime schedule (KEYS: `RedisKeys.schedule`), with the job and schedule
 * helpers in scope. Its keys span the job's hash tag and the store's, so it needs one node.
 */
export function scheduleScript(name: string, body: string): LuaScript {
  const schedule = DUE_CODE + SCHEDULE_BINDINGS + SCHEDULE_HELPERS;
  return luaScript(name, JOB_BINDINGS + JOB_HELPERS + schedule + body);
}

/**
 * A script on many runtime schedules, with the job and schedule helpers in scope: KEYS 1 and 2
 * are the job list and the schedule list; the body sets `job_id`, `K_JOB` and `K_DUE` to each
 * schedule's before it calls a helper (they are upvalues of the helpers). The other per-job
 * names (`base`, the run keys) stay nil: the helpers on runs are not for these scripts. Needs
 * one node, as {@link scheduleScript}.
 */
export function schedulesScript(name: string, body: string): LuaScript {
  const bindings = `
local base, job_id, K_JOB, K_RUNS, K_ACTIVE, K_QUEUED, K_DONE, K_OCC, K_DUE
local K_JOBS, K_LIST = KEYS[1], KEYS[2]`;
  return luaScript(name, bindings + JOB_HELPERS + DUE_CODE + SCHEDULE_HELPERS + body);
}

/** A script on the store-wide keys, with `s` and `now` in scope. */
export function globalScript(name: string, body: string): LuaScript {
  return luaScript(name, GLOBAL_PRELUDE + body);
}
