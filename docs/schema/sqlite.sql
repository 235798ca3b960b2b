-- Generated from src/stores/sqlite/migrations by test/stores/sqlite.test.ts (vitest -u).
CREATE TABLE belfry_jobs (
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
, task TEXT, schedule_key TEXT, data TEXT, next_at INTEGER, triggered_at INTEGER, due_at INTEGER, spread INTEGER) STRICT;

CREATE TABLE belfry_migrations (version INTEGER PRIMARY KEY, name VARCHAR(200) NOT NULL, applied_at BIGINT NOT NULL);

CREATE TABLE belfry_replicas (
  replica_id TEXT PRIMARY KEY NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  clock_offset_ms INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL
) STRICT;

CREATE TABLE belfry_runs (
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

CREATE TABLE belfry_warnings (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  replica_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  message TEXT NOT NULL
) STRICT;

CREATE INDEX belfry_jobs_due ON belfry_jobs (task, due_at, spread) WHERE due_at IS NOT NULL;

CREATE INDEX belfry_jobs_task ON belfry_jobs (task, job_id);

CREATE INDEX belfry_replicas_last_seen ON belfry_replicas (last_seen_at);

CREATE INDEX belfry_runs_job_state ON belfry_runs (job_id, state, scheduled_at);

CREATE INDEX belfry_runs_scheduled ON belfry_runs (scheduled_at);

CREATE INDEX belfry_runs_state_lease ON belfry_runs (state, lease_expires_at);

CREATE INDEX belfry_warnings_at ON belfry_warnings (at);
