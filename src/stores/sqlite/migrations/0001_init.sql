-- belfry schema for SQLite. Column names and meanings are shared with every SQL dialect
-- (see src/stores/shared/rows.ts); all instants are epoch milliseconds. STRICT tables refuse values of
-- the wrong type; enum columns are validated when read (CORRUPT_ROW), not by CHECK constraints,
-- so that a bad value written behind belfry's back is reported with the row that holds it.

CREATE TABLE {{prefix}}jobs (
  job_id TEXT PRIMARY KEY NOT NULL,
  hash TEXT NOT NULL,
  definition TEXT NOT NULL,
  anchor INTEGER NOT NULL,
  overlap TEXT NOT NULL,
  on_abandoned TEXT NOT NULL,
  max_attempts INTEGER NOT NULL,
  max_runs INTEGER,
  watermark INTEGER,
  paused INTEGER NOT NULL DEFAULT 0,
  run_count INTEGER NOT NULL DEFAULT 0,
  version INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE {{prefix}}runs (
  run_id TEXT PRIMARY KEY NOT NULL,
  job_id TEXT NOT NULL,
  scheduled_at INTEGER NOT NULL,
  trigger_kind TEXT NOT NULL,
  state TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  token INTEGER NOT NULL,
  replica_id TEXT,
  claimed_at INTEGER,
  started_at INTEGER,
  finished_at INTEGER,
  lease_expires_at INTEGER,
  error TEXT,
  UNIQUE (job_id, scheduled_at, trigger_kind)
) STRICT;

-- The unique key above also serves lookups by (job_id, scheduled_at). runs_state_lease finds
-- expired leases; runs_job_state answers "does this job have an active or queued run" inside
-- every claim without scanning the job's history.
CREATE INDEX {{prefix}}runs_state_lease ON {{prefix}}runs (state, lease_expires_at);
CREATE INDEX {{prefix}}runs_job_state ON {{prefix}}runs (job_id, state, scheduled_at);
CREATE INDEX {{prefix}}runs_scheduled ON {{prefix}}runs (scheduled_at);

CREATE TABLE {{prefix}}replicas (
  replica_id TEXT PRIMARY KEY NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  clock_offset_ms INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL
) STRICT;

CREATE INDEX {{prefix}}replicas_last_seen ON {{prefix}}replicas (last_seen_at);

CREATE TABLE {{prefix}}warnings (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  replica_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  message TEXT NOT NULL
) STRICT;

CREATE INDEX {{prefix}}warnings_at ON {{prefix}}warnings (at);
