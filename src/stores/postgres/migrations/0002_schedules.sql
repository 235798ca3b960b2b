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

-- The due query reads, per task, the rows with `due_at <= until` in `due_at` order (and the
-- first `due_at` after it), so it touches only the rows it returns whatever the table's size.
-- Partial: finished series, code-defined jobs and rows without a due instant are not indexed.
CREATE INDEX IF NOT EXISTS {{prefix}}jobs_due
  ON {{schema}}.{{prefix}}jobs (task, due_at) WHERE due_at IS NOT NULL;
