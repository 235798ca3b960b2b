import { jobScript, MANUAL_RUN, scheduleScript } from "./prelude.js";

/** Lua scripts that create runs: the claim, manual runs and missed occurrences. */

/**
 * The claim: the rules of `protocol/claim.ts#decideClaim`, in the same order, then the writes.
 * Replies {'won', runId, lease, recorded}, {'queued', runId, lease-index score, recorded},
 * {'skipped', runId, recorded}, {'paused', runId, recorded} (a `skipped` row with error
 * 'paused'), {'missed', runId, recorded} or a refusal; `recorded` lists the
 * instants written as `missed` rows, ascending (for 'missed' the occurrence itself is last).
 * ARGV: base, jobId, scheduledAt, hash, replicaId, leaseMs, toleranceMs, runId, historyLimit,
 * retentionMs, lateAfter ('' for none), nextAt ('u' for none given, '' for null), then (instant,
 * runId) pairs of missed occurrences, ascending, below scheduledAt.
 *
 * With a `nextAt` the KEYS are a schedule's nine (`RedisKeys.schedule`) and every result that
 * writes rows also moves a runtime schedule's `next_at` forward (`advanced`) and its due
 * index with it; a job row that is no schedule is left alone. The schedule fields are read
 * before anything is written, so a corrupt one fails the claim with nothing written.
 */
export const CLAIM = scheduleScript(
  "claim",
  `
local job = read_job()
if not job then return { 'unknownJob' } end
if job.hash ~= ARGV[4] then return { 'definitionChanged', job.hash } end
local sched = nil
if ARGV[12] ~= 'u' then sched = read_schedule() end
local now = now_ms()
local at = tonumber(ARGV[3])
local due = at - tonumber(ARGV[7])
if due > now then return { 'notDue', s(due - now) } end
local wm = job.watermark
if wm and at == wm then return { 'lost', s(wm) } end
if wm and at < wm then return { 'stale', s(wm) } end
if job.max_runs and job.run_count >= job.max_runs then return { 'exhausted' } end
if redis.call('HEXISTS', K_OCC, s(at) .. ':schedule') == 1 then return { 'lost', s(wm or at) } end
local late = ARGV[11] ~= '' and now > tonumber(ARGV[11])
local busy = redis.call('ZCOUNT', K_ACTIVE, '(' .. s(now), '+inf') > 0
local state, counts = 'claimed', true
if job.paused then
  state, counts = 'paused', false
elseif late then
  state, counts = 'missed', false
elseif busy and job.overlap == 'skip' then
  state, counts = 'skipped', false
elseif busy and job.overlap == 'queueOne' then
  if redis.call('ZCARD', K_QUEUED) > 0 then state, counts = 'skipped', false else state = 'queued' end
end
local recorded = {}
for i = 13, #ARGV - 1, 2 do
  local m = tonumber(ARGV[i])
  if (not wm or m > wm) and m < at and insert_missed(ARGV[i + 1], m, now) then
    recorded[#recorded + 1] = s(m)
  end
end
redis.call('HSET', K_JOB, 'watermark', s(at))
if counts then redis.call('HINCRBY', K_JOB, 'run_count', 1) end
if sched then set_due(sched, advanced(sched.next_at, instant_arg(ARGV[12])), sched.triggered_at) end
local id, replica = ARGV[8], ARGV[5]
local reply
if state == 'claimed' then
  local lease = now + tonumber(ARGV[6])
  insert_run(id, at, 'schedule', { 'state', 'claimed', 'attempt', '1', 'token', '1',
    'replica_id', replica, 'claimed_at', s(now), 'lease_expires_at', s(lease) })
  redis.call('ZADD', K_ACTIVE, s(lease), id)
  reply = { 'won', id, s(lease), recorded }
elseif state == 'queued' then
  insert_run(id, at, 'schedule', { 'state', 'queued', 'attempt', '1', 'token', '0', 'replica_id', replica })
  redis.call('ZADD', K_QUEUED, s(at), id)
  reply = { 'queued', id, index_score(id, now), recorded }
elseif state == 'missed' then
  insert_missed(id, at, now)
  recorded[#recorded + 1] = s(at)
  reply = { 'missed', id, recorded }
else
  local fields = { 'state', 'skipped', 'attempt', '1', 'token', '0', 'replica_id', replica,
    'finished_at', s(now) }
  if state == 'paused' then
    fields[#fields + 1], fields[#fields + 2] = 'error', 'paused'
  end
  insert_run(id, at, 'schedule', fields)
  mark_done(id, s(at))
  reply = { state, id, recorded }
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
  `${MANUAL_RUN}
if redis.call('EXISTS', K_JOB) == 0 then return {} end
return manual_run(ARGV[3], tonumber(ARGV[4]), ARGV[5])
`,
);

/**
 * ARGV: base, jobId, hash, historyLimit, retentionMs, then (instant, runId) pairs ascending.
 * Returns the instants recorded, ascending.
 */
export const RECORD_MISSED = jobScript(
  "recordMissed",
  `
local job = read_job()
if not job or job.hash ~= ARGV[3] then return {} end
local now = now_ms()
local recorded, newest = {}, nil
for i = 6, #ARGV - 1, 2 do
  local m = tonumber(ARGV[i])
  if (not job.watermark or m > job.watermark) and m <= now then
    if insert_missed(ARGV[i + 1], m, now) then recorded[#recorded + 1] = s(m) end
    newest = m
  end
end
if newest then redis.call('HSET', K_JOB, 'watermark', s(newest)) end
trim(now, tonumber(ARGV[4]), tonumber(ARGV[5]))
return recorded
`,
);
