-- An index on (task, job_id) over every job row: listJobs reads the code-defined jobs only
-- (task NULL: one index range, however many runtime schedules share the table), and
-- countSchedules counts a task's schedules, finished series included, from the index alone.
-- The due index (migration 2) is partial and cannot do either.

CREATE INDEX {{prefix}}jobs_task ON {{prefix}}jobs (task, job_id);
