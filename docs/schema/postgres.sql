-- Schema snapshot: PostgreSQL, all migrations applied (0001_init), default prefix belfry_,
-- schema public. Produced by `pg_dump --schema-only --no-owner --no-privileges` after
-- PostgresStore.init(); regenerate it whenever a migration is added so DDL changes show in review.

CREATE TABLE public.belfry_jobs (
    job_id text NOT NULL,
    hash text NOT NULL,
    definition text NOT NULL,
    anchor bigint NOT NULL,
    overlap text NOT NULL,
    on_abandoned text NOT NULL,
    max_attempts bigint NOT NULL,
    max_runs bigint,
    watermark bigint,
    paused boolean DEFAULT false NOT NULL,
    run_count bigint DEFAULT 0 NOT NULL,
    version bigint DEFAULT 1 NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);

CREATE TABLE public.belfry_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    applied_at bigint NOT NULL
);

CREATE TABLE public.belfry_replicas (
    replica_id text NOT NULL,
    host text NOT NULL,
    pid bigint NOT NULL,
    started_at bigint NOT NULL,
    clock_offset_ms bigint NOT NULL,
    last_seen_at bigint NOT NULL
);

CREATE TABLE public.belfry_runs (
    run_id text NOT NULL,
    job_id text NOT NULL,
    scheduled_at bigint NOT NULL,
    trigger_kind text NOT NULL,
    state text NOT NULL,
    attempt bigint NOT NULL,
    token bigint NOT NULL,
    replica_id text,
    claimed_at bigint,
    started_at bigint,
    finished_at bigint,
    lease_expires_at bigint,
    error text
);

CREATE TABLE public.belfry_warnings (
    id bigint NOT NULL,
    at bigint NOT NULL,
    replica_id text NOT NULL,
    kind text NOT NULL,
    message text NOT NULL
);

ALTER TABLE public.belfry_warnings ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.belfry_warnings_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY public.belfry_jobs
    ADD CONSTRAINT belfry_jobs_pkey PRIMARY KEY (job_id);

ALTER TABLE ONLY public.belfry_migrations
    ADD CONSTRAINT belfry_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.belfry_replicas
    ADD CONSTRAINT belfry_replicas_pkey PRIMARY KEY (replica_id);

ALTER TABLE ONLY public.belfry_runs
    ADD CONSTRAINT belfry_runs_occurrence UNIQUE (job_id, scheduled_at, trigger_kind);

ALTER TABLE ONLY public.belfry_runs
    ADD CONSTRAINT belfry_runs_pkey PRIMARY KEY (run_id);

ALTER TABLE ONLY public.belfry_warnings
    ADD CONSTRAINT belfry_warnings_pkey PRIMARY KEY (id);

CREATE INDEX belfry_runs_state_lease ON public.belfry_runs USING btree (state, lease_expires_at);

