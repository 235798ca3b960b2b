-- belfry MySQL 8 / MariaDB 10.11 schema, version 1. {{prefix}} is a validated identifier.
-- All instants are epoch milliseconds (BIGINT) read from the server clock. Strings compare
-- byte-wise (utf8mb4_bin): job ids are case-sensitive, as in every other store.

CREATE TABLE IF NOT EXISTS {{prefix}}jobs (
  job_id        VARCHAR(255) NOT NULL,
  hash          VARCHAR(255) NOT NULL,
  definition    MEDIUMTEXT NOT NULL,
  anchor        BIGINT NOT NULL,
  overlap       VARCHAR(32) NOT NULL,
  on_abandoned  VARCHAR(32) NOT NULL,
  max_attempts  BIGINT NOT NULL,
  max_runs      BIGINT NULL,
  watermark     BIGINT NULL,
  paused        TINYINT NOT NULL DEFAULT 0,
  run_count     BIGINT NOT NULL DEFAULT 0,
  version       BIGINT NOT NULL DEFAULT 1,
  created_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL,
  PRIMARY KEY (job_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS {{prefix}}runs (
  run_id            VARCHAR(64) NOT NULL,
  job_id            VARCHAR(255) NOT NULL,
  scheduled_at      BIGINT NOT NULL,
  trigger_kind      VARCHAR(16) NOT NULL,
  state             VARCHAR(16) NOT NULL,
  attempt           BIGINT NOT NULL,
  token             BIGINT NOT NULL,
  replica_id        VARCHAR(255) NULL,
  claimed_at        BIGINT NULL,
  started_at        BIGINT NULL,
  finished_at       BIGINT NULL,
  lease_expires_at  BIGINT NULL,
  error             TEXT NULL,
  PRIMARY KEY (run_id),
  -- The unique key's leading columns also serve (job_id, scheduled_at) lookups and history.
  UNIQUE KEY runs_occurrence (job_id, scheduled_at, trigger_kind),
  KEY runs_state_lease (state, lease_expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS {{prefix}}replicas (
  replica_id       VARCHAR(255) NOT NULL,
  host             VARCHAR(255) NOT NULL,
  pid              BIGINT NOT NULL,
  started_at       BIGINT NOT NULL,
  clock_offset_ms  BIGINT NOT NULL,
  last_seen_at     BIGINT NOT NULL,
  PRIMARY KEY (replica_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS {{prefix}}warnings (
  id          BIGINT NOT NULL AUTO_INCREMENT,
  at          BIGINT NOT NULL,
  replica_id  VARCHAR(255) NOT NULL,
  kind        VARCHAR(64) NOT NULL,
  message     TEXT NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
