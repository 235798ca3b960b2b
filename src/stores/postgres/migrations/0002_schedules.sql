-- belfry PostgreSQL schema, version 2: runtime schedules (`ScheduleRecords`) as job rows.
-- A schedule's row carries its task, key and data, its next instant (`next_at`), a pending
-- trigger (`triggered_at`) and `due_at`, kept equal to the earlier of the two by every write.
-- `spread` (fixed at creation) orders rows due at one instant differently per replica.
-- Code-defined jobs leave every one of these NULL and never appear in schedule reads.

ALTER TABLE {{schema}}.{{prefix}}jobs
  ADD COLUMN IF NOT EXISTS task          TEXT,
  ADD COLUMN IF NOT EXISTS schedule_key  TEXT,
  ADD COLUMN IF NOT EXISTS data          TEXT,
  ADD COLUMN IF NOT EXISTS next_at       BIGINT,
  ADD COLUMN IF NOT EXISTS triggered_at  BIGINT,
  ADD COLUMN IF NOT EXISTS due_at        BIGINT,
  ADD COLUMN IF NOT EXISTS spread        BIGINT;

-- A schedule's spread is what orders its instant's rows per replica (`spreadRank`): one
-- outside [0, 2^31) would put the row out of that order, one missing would hide it.
ALTER TABLE {{schema}}.{{prefix}}jobs DROP CONSTRAINT IF EXISTS {{prefix}}jobs_spread;
ALTER TABLE {{schema}}.{{prefix}}jobs ADD CONSTRAINT {{prefix}}jobs_spread
  CHECK (task IS NULL OR spread BETWEEN 0 AND 2147483647);

-- The due query reads, per task, the rows with `due_at <= until` in `due_at` order, the rows
-- of one instant in spread order (`job_id` breaks ties), and the first `due_at` after `until`:
-- index ranges only, so it touches about the rows it returns whatever the table's size or the
-- size of one burst. Partial: finished series and code-defined jobs are not indexed.
CREATE INDEX IF NOT EXISTS {{prefix}}jobs_due
  ON {{schema}}.{{prefix}}jobs (task, due_at, spread, job_id) WHERE due_at IS NOT NULL;
