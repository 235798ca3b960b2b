import { SUPERSEDED } from "../../../protocol/transitions.js";
import { globalScript, jobScript } from "./prelude.js";

/** Lua scripts of lease recovery: the lease-index sweep and the per-job takeover. */

/**
 * Reads the lease index: members due by store now. KEYS: leases, reconcile lock. ARGV: count,
 * reconcile interval ms (0: never), lock owner. Returns {now, 1|0 (reconcile now), members}.
 */
export const SWEEP = globalScript(
  "sweep",
  `
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', s(now), 'LIMIT', 0, tonumber(ARGV[1]))
local reconcile = 0
if tonumber(ARGV[2]) > 0 and redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[2]) then
  reconcile = 1
end
return { s(now), reconcile, members }
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
local report = {}
for _, id in ipairs(candidates) do
  report[#report + 1] = id
  report[#report + 1] = index_score(id, now)
end
return { actions, report }
`,
);
