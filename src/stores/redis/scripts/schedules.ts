import {
  DUE_CODE,
  globalScript,
  jobScript,
  MANUAL_RUN,
  scheduleScript,
  schedulesScript,
} from "./prelude.js";

/**
 * Lua scripts of runtime schedules (`ScheduleRecords`). Each write is one script on the
 * schedule's nine keys (`RedisKeys.schedule`), or a step of one on many schedules
 * ({@link PUT_SCHEDULES}): the job hash with the schedule fields, and the job list, schedule
 * list and due index, kept in step with it in the same step.
 *
 * The due index of a task is a sorted set with every score 0 whose members are
 * `<due code>:<spread, 10 digits>:<jobId>` (`SCHEDULE_HELPERS` in `prelude.ts`), so its byte
 * order is due instant, then spread. Rows due at one instant are a contiguous range, and the
 * order `spreadRank` asks for (spread + replica offset mod 2^31, ascending) is that range read
 * from the replica's start spread to the end, then from the start of the range up to it: two
 * ZRANGEBYLEX calls with a LIMIT, whatever the number of rows.
 */

/**
 * Creates or replaces schedules (`putSchedules`), one after another, each as a write of its
 * own: a job row that is no schedule is replaced by the new schedule, as the reference store
 * does; one defined in code is refused and left untouched (`codeJob`). What writes share is
 * sent once: their definition and task, as a group.
 *
 * KEYS: the job list, the schedule list, the due index of each group's task, then each write's
 * job hash. ARGV: 'create'|'upsert', 'rows'|'outcomes', the number of groups, then per group
 * task, hash, definition, anchor, overlap, onAbandoned, maxAttempts, maxRuns|'', then per write
 * its group (from 1), jobId, key, '1'|'0' (has data), data, nextAt|'', spread. Returns {1|0
 * (a row became due earlier than before), then per write its outcome and its row (HGETALL; 0
 * for 'outcomes' and for `codeJob`)}.
 */
export const PUT_SCHEDULES = schedulesScript(
  "putSchedules",
  `
local mode, rows, groups = ARGV[1], ARGV[2] == 'rows', tonumber(ARGV[3])
local now = s(now_ms())
-- One write on job_id, K_JOB and K_DUE; g: the index in ARGV of its group's task.
local function put(g, key, data, next_at, spread)
  local stored = redis.call('HMGET', K_JOB, 'hash', 'task', 'data')
  local sched, outcome
  if stored[2] then
    -- HMGET answers false (not nil) for a missing field.
    if stored[1] == ARGV[g + 1] and (stored[3] or nil) == data then return 'unchanged', false end
    if mode == 'create' then return 'conflict', false end
    sched = read_schedule()
    if stored[1] ~= ARGV[g + 1] then redis.call('HINCRBY', K_JOB, 'version', 1) end
    redis.call('HSET', K_JOB, 'updated_at', now)
    outcome = 'updated'
  elseif stored[1] then
    return 'codeJob', false
  else
    redis.call('DEL', K_JOB)
    redis.call('HSET', K_JOB, 'job_id', job_id, 'paused', '0', 'run_count', '0', 'version', '1',
      'created_at', now, 'updated_at', now, 'task', ARGV[g], 'schedule_key', key, 'spread', spread)
    redis.call('SADD', K_JOBS, job_id)
    redis.call('ZADD', K_LIST, 0, job_id)
    sched = { spread = tonumber(spread) }
    outcome = 'created'
  end
  redis.call('HSET', K_JOB, 'hash', ARGV[g + 1], 'definition', ARGV[g + 2], 'anchor', ARGV[g + 3],
    'overlap', ARGV[g + 4], 'on_abandoned', ARGV[g + 5], 'max_attempts', ARGV[g + 6])
  if ARGV[g + 7] == '' then redis.call('HDEL', K_JOB, 'max_runs')
  else redis.call('HSET', K_JOB, 'max_runs', ARGV[g + 7]) end
  if data then redis.call('HSET', K_JOB, 'data', data) else redis.call('HDEL', K_JOB, 'data') end
  return outcome, set_due(sched, instant_arg(next_at), sched.triggered_at)
end
local reply = { 0 }
local first = 4 + groups * 8
for i = first, #ARGV, 7 do
  local group = tonumber(ARGV[i])
  job_id, K_JOB, K_DUE = ARGV[i + 1], KEYS[3 + groups + (i - first) / 7], KEYS[2 + group]
  local data = nil
  if ARGV[i + 3] == '1' then data = ARGV[i + 4] end
  local outcome, earlier = put(4 + (group - 1) * 8, ARGV[i + 2], data, ARGV[i + 5], ARGV[i + 6])
  if earlier then reply[1] = 1 end
  reply[#reply + 1] = outcome
  if rows and outcome ~= 'codeJob' then reply[#reply + 1] = redis.call('HGETALL', K_JOB)
  else reply[#reply + 1] = 0 end
end
return reply
`,
);

/**
 * Deletes one schedule's job row and its entries in the schedule list and due index (run rows
 * stay). Its id stays in the job list while it has runs, because history, prune and the
 * reconcile pass find runs through that list; prune forgets it with its last run
 * ({@link FORGET_SCHEDULE}). ARGV: base, jobId. Returns 1, or 0 when the row is no schedule. A
 * row whose `due_at` or `spread` cannot be read is deleted all the same.
 */
export const REMOVE_SCHEDULE = scheduleScript(
  "removeSchedule",
  `
local f = redis.call('HMGET', K_JOB, 'task', 'due_at', 'spread')
if not f[1] then return 0 end
local function readable(v) return v and string.match(v, '^%-?%d+$') and tonumber(v) end
local due, spread = readable(f[2]), readable(f[3])
if due and spread then redis.call('ZREM', K_DUE, due_member(due, spread)) end
redis.call('DEL', K_JOB)
if redis.call('EXISTS', K_RUNS) == 0 then redis.call('SREM', K_JOBS, job_id) end
redis.call('ZREM', K_LIST, job_id)
return 1
`,
);

/**
 * Drops a removed schedule's id from the job list once it has no run left (after a prune).
 * ARGV: base, jobId. Returns 1 when it did, else 0 (the row is back, or runs remain).
 */
export const FORGET_SCHEDULE = scheduleScript(
  "forgetSchedule",
  `
if redis.call('EXISTS', K_JOB) == 1 or redis.call('EXISTS', K_RUNS) == 1 then return 0 end
return redis.call('SREM', K_JOBS, job_id)
`,
);

/**
 * Moves `next_at` forward (`advanceSchedules`) while the stored hash is the given one. ARGV:
 * base, jobId, hash, nextAt|''. Returns 1 when the row was a schedule of that hash, else 0.
 */
export const ADVANCE_SCHEDULE = scheduleScript(
  "advanceSchedule",
  `
if redis.call('HGET', K_JOB, 'hash') ~= ARGV[3] then return 0 end
local sched = read_schedule()
if not sched then return 0 end
local next_at = advanced(sched.next_at, instant_arg(ARGV[4]))
if next_at ~= sched.next_at then set_due(sched, next_at, sched.triggered_at) end
return 1
`,
);

/**
 * Owes a schedule one run now (`triggerSchedule`): `triggered_at` = store now unless one is
 * pending. ARGV: base, jobId. Returns {1|0 (a schedule), 1|0 (due earlier than before)}.
 */
export const TRIGGER_SCHEDULE = scheduleScript(
  "triggerSchedule",
  `
local sched = read_schedule()
if not sched then return { 0, 0 } end
if sched.triggered_at then return { 1, 0 } end
local earlier = set_due(sched, sched.next_at, now_ms())
return { 1, earlier and 1 or 0 }
`,
);

/**
 * Takes a pending trigger (`claimTriggered`): clears `triggered_at`, puts `due_at` back to
 * `next_at` and creates the manual run as `CLAIM_MANUAL` does, in one step. ARGV: base, jobId,
 * replicaId, leaseMs, runId. Returns {runId, scheduledAt, lease}, or {} when none is pending.
 */
export const CLAIM_TRIGGERED = scheduleScript(
  "claimTriggered",
  `${MANUAL_RUN}
local sched = read_schedule()
if not sched or not sched.triggered_at then return {} end
set_due(sched, sched.next_at, nil)
return manual_run(ARGV[3], tonumber(ARGV[4]), ARGV[5])
`,
);

/**
 * The due rows of each task (`dueSchedules`), read from the due indexes. KEYS: the tasks' due
 * indexes. ARGV: until, limit, start spread (the spread whose `spreadRank` for the replica is
 * 0). Returns, per key, {members, next}: at most `limit` members due by `until` in the
 * replica's order (due instant, then spread from the start spread round), and the first member
 * due after `until` ('' for none). Each due instant visited costs three ZRANGEBYLEX calls and
 * adds at least one member, so the work is O(limit · log n) per task.
 */
export const DUE_SCHEDULES = globalScript(
  "dueSchedules",
  `${DUE_CODE}
local until_at, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local start = string.format('%010d', tonumber(ARGV[3]))
local reply = {}
for k, key in ipairs(KEYS) do
  local rows, from = {}, '-'
  while #rows < limit do
    local first = redis.call('ZRANGEBYLEX', key, from, '+', 'LIMIT', 0, 1)[1]
    if not first then break end
    local code = string.sub(first, 1, 17)
    if due_of(code) > until_at then break end
    local ranges = { { '[' .. code .. ':' .. start, '(' .. code .. ';' },
      { '[' .. code .. ':', '(' .. code .. ':' .. start } }
    for _, range in ipairs(ranges) do
      local room = limit - #rows
      if room > 0 then
        local got = redis.call('ZRANGEBYLEX', key, range[1], range[2], 'LIMIT', 0, room)
        for _, member in ipairs(got) do rows[#rows + 1] = member end
      end
    end
    from = '[' .. code .. ';'
  end
  local after = redis.call('ZRANGEBYLEX', key, '[' .. due_code(until_at) .. ';', '+', 'LIMIT', 0, 1)
  reply[k] = { rows, after[1] or '' }
end
return reply
`,
);

/**
 * Claims past occurrences of a schedule as `backfill` runs (`claimBackfill`), on the job's own
 * keys only: for each instant not after now whose `<at>:backfill` occurrence key is free, a
 * `claimed` run leased until now + leaseMs. ARGV: base, jobId, replicaId, leaseMs, then
 * (instant, runId) pairs. Returns {0} for no schedule, else {1, lease, then runId and instant
 * of each run created, in ARGV order}.
 */
export const CLAIM_BACKFILL = jobScript(
  "claimBackfill",
  `
if not redis.call('HGET', K_JOB, 'task') then return { 0 } end
local now = now_ms()
local lease = now + tonumber(ARGV[4])
local reply = { 1, s(lease) }
for i = 5, #ARGV - 1, 2 do
  local at, id = tonumber(ARGV[i]), ARGV[i + 1]
  if at <= now and redis.call('HEXISTS', K_OCC, s(at) .. ':backfill') == 0 then
    insert_run(id, at, 'backfill', { 'state', 'claimed', 'attempt', '1', 'token', '1',
      'replica_id', ARGV[3], 'claimed_at', s(now), 'lease_expires_at', s(lease) })
    redis.call('ZADD', K_ACTIVE, s(lease), id)
    reply[#reply + 1] = id
    reply[#reply + 1] = s(at)
  end
end
return reply
`,
);
