import { jobScript } from "./prelude.js";

/** Lua scripts that write a run its owner holds: fenced writes and the terminal write. */

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
 * Returns {0, lease-index score of the run} when fenced (or the lease expired), else {1, next}
 * with next = {} or a claimed run tuple.
 */
export const FINISH = jobScript(
  "finish",
  `
local id = ARGV[3]
local k = run_key(id)
local now = now_ms()
local f = owned(k, ARGV[4], now, 'replica_id', 'scheduled_at')
if not f then return { 0, index_score(id, now) } end
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
