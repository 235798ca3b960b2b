-- belfry PostgreSQL schema, version 3: an index on (task, job_id) over every job row.
-- listJobs reads the code-defined jobs only (task NULL: one index range, however many runtime
-- schedules share the table) and countSchedules counts a task's schedules, finished series
-- included, from the index alone. The due index (migration 2) is partial and cannot do either.
-- Building it locks writes to the jobs table for as long as it takes (seconds per million
-- rows); a team with many schedules can build it first with CREATE INDEX CONCURRENTLY under
-- this name, which this statement then keeps.

CREATE INDEX IF NOT EXISTS {{prefix}}jobs_task ON {{schema}}.{{prefix}}jobs (task, job_id);
