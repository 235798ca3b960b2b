import { jobScript } from "./prelude.js";

/** Lua scripts that write a job row: registration and pause. */

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

/** ARGV: base, jobId, '0'|'1'. Returns 2 for a runtime schedule, 1 for another job, 0 for none. */
export const SET_PAUSED = jobScript(
  "setPaused",
  `
if redis.call('EXISTS', K_JOB) == 0 then return 0 end
redis.call('HSET', K_JOB, 'paused', ARGV[3], 'updated_at', s(now_ms()))
if redis.call('HEXISTS', K_JOB, 'task') == 1 then return 2 end
return 1
`,
);
