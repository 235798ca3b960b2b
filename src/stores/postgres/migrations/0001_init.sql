-- belfry PostgreSQL schema, version 1. {{schema}} and {{prefix}} are validated identifiers.
-- All instants are epoch milliseconds (BIGINT) read from the server clock.

CREATE TABLE IF NOT EXISTS {{schema}}.{{prefix}}jobs (
  job_id        TEXT PRIMARY KEY,
  hash          TEXT NOT NULL,
  definition    TEXT NOT NULL,
  anchor        BIGINT NOT NULL,
  overlap       TEXT NOT NULL,
  on_abandoned  TEXT NOT NULL,
  max_attempts  BIGINT NOT NULL,
  max_runs      BIGINT,
  watermark     BIGINT,
  paused        BOOLEAN NOT NULL DEFAULT FALSE,
  run_count     BIGINT NOT NULL DEFAULT 0,
  version       BIGINT NOT NULL DEFAULT 1,
  created_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS {{schema}}.{{prefix}}runs (
  run_id            TEXT PRIMARY KEY,
  job_id            TEXT NOT NULL,
  scheduled_at      BIGINT NOT NULL,
  trigger_kind      TEXT NOT NULL,
  state             TEXT NOT NULL,
  attempt           BIGINT NOT NULL,
  token             BIGINT NOT NULL,
  replica_id        TEXT,
  claimed_at        BIGINT,
  started_at        BIGINT,
  finished_at       BIGINT,
  lease_expires_at  BIGINT,
  error             TEXT,
  CONSTRAINT {{prefix}}runs_occurrence UNIQUE (job_id, scheduled_at, trigger_kind)
);

-- Recovery scans expired leases; the claim reads a job's active and queued runs. Lookups and
-- history by (job_id, scheduled_at) use the leading columns of the unique key above, so a
-- separate (job_id, scheduled_at) index would only duplicate it.
CREATE INDEX IF NOT EXISTS {{prefix}}runs_state_lease
  ON {{schema}}.{{prefix}}runs (state, lease_expires_at);

CREATE TABLE IF NOT EXISTS {{schema}}.{{prefix}}replicas (
  replica_id       TEXT PRIMARY KEY,
  host             TEXT NOT NULL,
  pid              BIGINT NOT NULL,
  started_at       BIGINT NOT NULL,
  clock_offset_ms  BIGINT NOT NULL,
  last_seen_at     BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS {{schema}}.{{prefix}}warnings (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          BIGINT NOT NULL,
  replica_id  TEXT NOT NULL,
  kind        TEXT NOT NULL,
  message     TEXT NOT NULL
);
