import { JOB_PRELUDE, luaScript, type LuaScript } from "./scripts.js";
import { SUPERSEDED } from "../../protocol/transitions.js";

/**
 * Lua scripts of the Redis store about runs (fenced writes, finish, recovery, history, prune),
 * plus the few scripts on the store-wide keys (lease index, replicas, warnings). Run scripts use
 * the job keys and ARGV layout of `redis-scripts.ts`; the store-wide scripts touch only keys
 * tagged `{<prefix>}`.
 */

function jobScript(name: string, body: string): LuaScript {
  return luaScript(name, JOB_PRELUDE + body);
}

/**
 * `startRun`, `heartbeat` and `releaseRun`: refused (0) unless the token is current and the run
 * is claimed or running with an unexpired lease. ARGV: base, jobId, runId, token,
 * 'start'|'heartbeat'|'release', value (attempt for start, leaseMs for heartbeat).
 */
export const FENCED_WRITE = jobScript(
  "fencedWrite",
  `
local id = ARGV[3]
local k = run_key(id)
local now = now_ms()
if not owned(k, ARGV[4], now) then return 0 end
if ARGV[5] == 'start' then
  redis.call('HSET', k, 'state', 'running', 'attempt', ARGV[6], 'started_at', s(now))
else
  local lease = now
  if ARGV[5] == 'heartbeat' then lease = now + tonumber(ARGV[6]) end
  redis.call('HSET', k, 'lease_expires_at', s(lease))
  redis.call('ZADD', K_ACTIVE, s(lease), id)
end
return 1
`,
);

/**
 * Terminal write, then hands the oldest queued run to the finishing replica. ARGV: base, jobId,
 * runId, token, state, '1'|'0' (has error), error, leaseMs, historyLimit, retentionMs.
 * Returns {0} when fenced (or the lease expired), else {1, next} with next = {} or a claimed run
 * tuple.
 */
export const FINISH = jobScript(
  "finish",
  `
local id = ARGV[3]
local k = run_key(id)
local now = now_ms()
local f = owned(k, ARGV[4], now, 'replica_id', 'scheduled_at')
if not f then return { 0 } end
redis.call('HSET', k, 'state', ARGV[5], 'finished_at', s(now))
redis.call('HDEL', k, 'lease_expires_at')
if ARGV[6] == '1' then redis.call('HSET', k, 'error', ARGV[7]) else redis.call('HDEL', k, 'error') end
mark_done(id, f[5])
local next = {}
local queued = redis.call('ZRANGE', K_QUEUED, 0, 0)
if queued[1] then next = take_over(queued[1], f[4] or '', tonumber(ARGV[8]), now, false) end
trim(now, tonumber(ARGV[9]), tonumber(ARGV[10]))
return { 1, next }
`,
);

/**
 * Recovery of one job: takes over at most `budget` runs (expired leases first, oldest lease
 * first; under overlap skip/queueOne one is retried only while no other lease is live, else it
 * is abandoned as superseded; a corrupt job row has no policy, so its runs are abandoned), then
 * promotes the oldest queued run when no lease is live, then reports, for each candidate run id
 * and each queued run, the score the lease index should hold (lease expiry, or when a queued
 * run's blocker expires), or '-1' when the run is terminal or gone. ARGV: base, jobId, replicaId,
 * leaseMs, budget, historyLimit, retentionMs, '1'|'0' (also report every active run: the
 * reconcile pass), candidate run ids. Returns {actions, report}: actions are
 * {'retried'|'promoted', run tuple...} or {'abandoned', runId, scheduledAt}; report is a flat
 * list of runId, score.
 */
export const RECOVER = jobScript(
  "recover",
  `
local now = now_ms()
local replica, lease_ms, budget = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local readable, job = pcall(read_job)
if not readable then job = nil end
local actions = {}
if budget > 0 then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', K_ACTIVE, '-inf', s(now), 'LIMIT', 0, budget)) do
    local k = run_key(id)
    local f = redis.call('HMGET', k, 'attempt', 'replica_id', 'token', 'scheduled_at', 'state')
    if f[5] ~= 'claimed' and f[5] ~= 'running' then
      redis.call('ZREM', K_ACTIVE, id)
    else
      local attempt = int(k, 'attempt', f[1])
      local reason = 'lease expired on replica ' .. (f[2] or '?') .. ' (attempt ' .. s(attempt) .. ')'
      local retry = job and job.on_abandoned == 'retry' and attempt < job.max_attempts
      if retry and job.overlap ~= 'allow' and redis.call('ZCOUNT', K_ACTIVE, '(' .. s(now), '+inf') > 0 then
        retry, reason = false, reason .. ${JSON.stringify(SUPERSEDED)}
      end
      if retry then
        local run = take_over(id, replica, lease_ms, now, true)
        redis.call('HSET', k, 'error', reason)
        actions[#actions + 1] = { 'retried', unpack(run) }
      else
        redis.call('HSET', k, 'state', 'abandoned', 'token', s(int(k, 'token', f[3]) + 1),
          'finished_at', s(now), 'error', reason)
        redis.call('HDEL', k, 'lease_expires_at')
        mark_done(id, f[4])
        actions[#actions + 1] = { 'abandoned', id, f[4] }
      end
      budget = budget - 1
    end
  end
end
if budget > 0 and redis.call('ZCOUNT', K_ACTIVE, '(' .. s(now), '+inf') == 0 then
  local queued = redis.call('ZRANGE', K_QUEUED, 0, 0)
  if queued[1] then
    actions[#actions + 1] = { 'promoted', unpack(take_over(queued[1], replica, lease_ms, now, false)) }
  end
end
trim(now, tonumber(ARGV[6]), tonumber(ARGV[7]))
local candidates = {}
for i = 9, #ARGV do candidates[#candidates + 1] = ARGV[i] end
if ARGV[8] == '1' then
  for _, id in ipairs(redis.call('ZRANGE', K_ACTIVE, 0, -1)) do candidates[#candidates + 1] = id end
end
-- Queued runs (at most one under queueOne) are always re-scored to when their blocker expires.
for _, id in ipairs(redis.call('ZRANGE', K_QUEUED, 0, -1)) do candidates[#candidates + 1] = id end
local live = redis.call('ZRANGEBYSCORE', K_ACTIVE, '(' .. s(now), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
local report = {}
for _, id in ipairs(candidates) do
  local state = redis.call('HGET', run_key(id), 'state')
  local score = '-1'
  if state == 'claimed' or state == 'running' then
    score = redis.call('ZSCORE', K_ACTIVE, id) or s(now)
  elseif state == 'queued' then
    score = live[2] or s(now)
  end
  report[#report + 1] = id
  report[#report + 1] = score
end
return { actions, report }
`,
);

/**
 * Read-only history of one job, newest first. ARGV: base, jobId, min, max (ZRANGEBYSCORE bounds),
 * limit, then the wanted states (none: all). Returns flat HGETALL rows; rows tied on scheduledAt
 * with the last one are included past the limit so the caller can order ties by run id.
 */
export const HISTORY = jobScript(
  "history",
  `
local want = nil
if #ARGV >= 6 then
  want = {}
  for i = 6, #ARGV do want[ARGV[i]] = true end
end
local limit = tonumber(ARGV[5])
local out, offset, last = {}, 0, nil
while true do
  local page = redis.call('ZREVRANGEBYSCORE', K_RUNS, ARGV[4], ARGV[3], 'WITHSCORES', 'LIMIT', offset, 200)
  if #page == 0 then return out end
  offset = offset + #page / 2
  for i = 1, #page, 2 do
    if #out >= limit and page[i + 1] ~= last then return out end
    local row = redis.call('HGETALL', run_key(page[i]))
    local state = redis.call('HGET', run_key(page[i]), 'state')
    if #row > 0 and (not want or want[state]) then
      out[#out + 1] = row
      last = page[i + 1]
    end
  end
end
`,
);

/** Deletes the job's terminal runs with scheduledAt < ARGV[3]; returns how many. */
export const PRUNE = jobScript(
  "prune",
  `
local count = 0
while true do
  local ids = redis.call('ZRANGEBYSCORE', K_DONE, '-inf', '(' .. ARGV[3], 'LIMIT', 0, 500)
  if #ids == 0 then return count end
  for _, id in ipairs(ids) do
    drop(id)
    count = count + 1
  end
end
`,
);

const GLOBAL_PRELUDE = `
local function s(n) return string.format('%d', n) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * Reads the lease index: members due by store now. KEYS: leases, reconcile lock. ARGV: count,
 * reconcile interval ms (0: never), lock owner. Returns {now, 1|0 (reconcile now), members}.
 */
export const SWEEP = luaScript(
  "sweep",
  `${GLOBAL_PRELUDE}
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', s(now), 'LIMIT', 0, tonumber(ARGV[1]))
local reconcile = 0
if tonumber(ARGV[2]) > 0 and redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[2]) then
  reconcile = 1
end
return { s(now), reconcile, members }
`,
);

/** KEYS: replicas hash. ARGV: replicaId, JSON row without last_seen_at. */
export const TOUCH_REPLICA = luaScript(
  "touchReplica",
  `${GLOBAL_PRELUDE}
local row = cjson.decode(ARGV[2])
row.last_seen_at = s(now)
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(row))
return 1
`,
);

/** KEYS: warnings list. ARGV: replicaId, kind, message, how many warnings to keep. */
export const ADD_WARNING = luaScript(
  "addWarning",
  `${GLOBAL_PRELUDE}
redis.call('LPUSH', KEYS[1], cjson.encode({ at = s(now), replica_id = ARGV[1], kind = ARGV[2], message = ARGV[3] }))
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[4]) - 1)
return 1
`,
);
