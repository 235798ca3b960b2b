-- Runtime schedules (ScheduleRecords): a schedule is a job row with a task, a key, data and its
-- next instant. Code-defined jobs keep task NULL. due_at is the earlier of next_at and
-- triggered_at, written by the store with every change to either, so that the due query reads
-- one indexed column. spread is spreadOf(job_id), fixed at creation (stores/shared/schedules.ts).

ALTER TABLE {{prefix}}jobs ADD COLUMN task TEXT;
ALTER TABLE {{prefix}}jobs ADD COLUMN schedule_key TEXT;
ALTER TABLE {{prefix}}jobs ADD COLUMN data TEXT;
ALTER TABLE {{prefix}}jobs ADD COLUMN next_at INTEGER;
ALTER TABLE {{prefix}}jobs ADD COLUMN triggered_at INTEGER;
ALTER TABLE {{prefix}}jobs ADD COLUMN due_at INTEGER;
ALTER TABLE {{prefix}}jobs ADD COLUMN spread INTEGER;

-- The due query walks one task's rows by (due_at, spread) and seeks the next due instant;
-- only rows that are due at some instant are in it, so code jobs and finished series cost
-- nothing. Listing by job id uses the primary key.
CREATE INDEX {{prefix}}jobs_due ON {{prefix}}jobs (task, due_at, spread) WHERE due_at IS NOT NULL;
