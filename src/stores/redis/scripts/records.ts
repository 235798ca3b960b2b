import { globalScript, jobScript } from "./prelude.js";

/** Lua scripts of the read and audit side: history, prune, replicas, warnings. */

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

/**
 * Deletes the job's terminal runs with scheduledAt < ARGV[3]; returns how many, and 1 when the
 * job has no row and no run left (a removed schedule the job list can forget), else 0.
 */
export const PRUNE = jobScript(
  "prune",
  `
local count = 0
while true do
  local ids = redis.call('ZRANGEBYSCORE', K_DONE, '-inf', '(' .. ARGV[3], 'LIMIT', 0, 500)
  if #ids == 0 then break end
  for _, id in ipairs(ids) do
    drop(id)
    count = count + 1
  end
end
local gone = redis.call('EXISTS', K_JOB) == 0 and redis.call('EXISTS', K_RUNS) == 0
return { count, gone and 1 or 0 }
`,
);

/** KEYS: replicas hash. ARGV: replicaId, JSON row without last_seen_at. */
export const TOUCH_REPLICA = globalScript(
  "touchReplica",
  `
local row = cjson.decode(ARGV[2])
row.last_seen_at = s(now)
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(row))
return 1
`,
);

/** KEYS: warnings list. ARGV: replicaId, kind, message, how many warnings to keep. */
export const ADD_WARNING = globalScript(
  "addWarning",
  `
redis.call('LPUSH', KEYS[1], cjson.encode({ at = s(now), replica_id = ARGV[1], kind = ARGV[2], message = ARGV[3] }))
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[4]) - 1)
return 1
`,
);
