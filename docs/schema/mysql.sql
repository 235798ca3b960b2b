-- Schema snapshot: MySQL 8 / MariaDB 10.11, all migrations applied (0001_init), default
-- prefix belfry_. Produced by `mariadb-dump --no-data --compact` (MariaDB 10.11) after
-- MysqlStore.init(); regenerate it whenever a migration is added so DDL changes show in review.

CREATE TABLE `belfry_jobs` (
  `job_id` varchar(255) NOT NULL,
  `hash` varchar(255) NOT NULL,
  `definition` mediumtext NOT NULL,
  `anchor` bigint(20) NOT NULL,
  `overlap` varchar(32) NOT NULL,
  `on_abandoned` varchar(32) NOT NULL,
  `max_attempts` bigint(20) NOT NULL,
  `max_runs` bigint(20) DEFAULT NULL,
  `watermark` bigint(20) DEFAULT NULL,
  `paused` tinyint(4) NOT NULL DEFAULT 0,
  `run_count` bigint(20) NOT NULL DEFAULT 0,
  `version` bigint(20) NOT NULL DEFAULT 1,
  `created_at` bigint(20) NOT NULL,
  `updated_at` bigint(20) NOT NULL,
  PRIMARY KEY (`job_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE `belfry_runs` (
  `run_id` varchar(64) NOT NULL,
  `job_id` varchar(255) NOT NULL,
  `scheduled_at` bigint(20) NOT NULL,
  `trigger_kind` varchar(16) NOT NULL,
  `state` varchar(16) NOT NULL,
  `attempt` bigint(20) NOT NULL,
  `token` bigint(20) NOT NULL,
  `replica_id` varchar(255) DEFAULT NULL,
  `claimed_at` bigint(20) DEFAULT NULL,
  `started_at` bigint(20) DEFAULT NULL,
  `finished_at` bigint(20) DEFAULT NULL,
  `lease_expires_at` bigint(20) DEFAULT NULL,
  `error` text DEFAULT NULL,
  PRIMARY KEY (`run_id`),
  UNIQUE KEY `runs_occurrence` (`job_id`,`scheduled_at`,`trigger_kind`),
  KEY `runs_state_lease` (`state`,`lease_expires_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE `belfry_replicas` (
  `replica_id` varchar(255) NOT NULL,
  `host` varchar(255) NOT NULL,
  `pid` bigint(20) NOT NULL,
  `started_at` bigint(20) NOT NULL,
  `clock_offset_ms` bigint(20) NOT NULL,
  `last_seen_at` bigint(20) NOT NULL,
  PRIMARY KEY (`replica_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE `belfry_warnings` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `at` bigint(20) NOT NULL,
  `replica_id` varchar(255) NOT NULL,
  `kind` varchar(64) NOT NULL,
  `message` text NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE `belfry_migrations` (
  `version` int(11) NOT NULL,
  `name` varchar(200) NOT NULL,
  `applied_at` bigint(20) NOT NULL,
  PRIMARY KEY (`version`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

