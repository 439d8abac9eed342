-- duroxide PostgreSQL schema, version 1: the tables of the SQLite schema (its version 2) in
-- PostgreSQL types. Runs with search_path set to the store's schema. JSON columns hold compact JSON text (NULL is
-- a JSON null), kept as text so a payload comes back byte for byte. Times are epoch
-- milliseconds of the store clock (see clock_ms).

CREATE TABLE instances (
    id                 text PRIMARY KEY,
    seq                bigint GENERATED ALWAYS AS IDENTITY,  -- insertion order, for listings
    name               text NOT NULL,
    version            text,
    status             text NOT NULL,
    execution_id       integer NOT NULL,
    output             text,
    error              text,
    failure            text,
    custom_status      text,
    parent_instance_id text,
    created_at_ms      bigint NOT NULL,
    updated_at_ms      bigint NOT NULL,
    incarnation        text NOT NULL,
    held               text,
    lock_token         text,
    lock_owner         text,
    locked_until_ms    bigint,
    backoff_until_ms   bigint
);
CREATE INDEX instances_by_created ON instances (created_at_ms DESC, seq DESC);
CREATE INDEX instances_by_status ON instances (status);
CREATE INDEX instances_by_name ON instances (name);
CREATE INDEX instances_by_parent ON instances (parent_instance_id);
CREATE INDEX instances_by_locked_until ON instances (locked_until_ms) WHERE locked_until_ms IS NOT NULL;
CREATE INDEX instances_by_backoff_until ON instances (backoff_until_ms) WHERE backoff_until_ms IS NOT NULL;

CREATE TABLE executions (
    instance_id   text NOT NULL,
    execution_id  integer NOT NULL,
    status        text NOT NULL,
    started_at_ms bigint NOT NULL,
    ended_at_ms   bigint,
    PRIMARY KEY (instance_id, execution_id)
);

CREATE TABLE history (
    instance_id  text NOT NULL,
    execution_id integer NOT NULL,
    event_id     integer NOT NULL,
    kind         text NOT NULL,
    timestamp_ms bigint NOT NULL,
    body         text NOT NULL,
    PRIMARY KEY (instance_id, execution_id, event_id)
);

CREATE TABLE orchestrator_queue (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instance_id    text NOT NULL,
    execution_id   integer,
    kind           text NOT NULL,
    body           text NOT NULL,
    visible_at_ms  bigint NOT NULL,
    delivery_count integer NOT NULL DEFAULT 0,
    lock_token     text
);
CREATE INDEX orchestrator_queue_by_instance ON orchestrator_queue (instance_id, visible_at_ms);
CREATE INDEX orchestrator_queue_by_visible ON orchestrator_queue (visible_at_ms, id);

CREATE TABLE worker_queue (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instance_id     text NOT NULL,
    execution_id    integer NOT NULL,
    event_id        integer NOT NULL,
    body            text NOT NULL,
    visible_at_ms   bigint NOT NULL,
    lock_token      text,
    lock_owner      text,
    locked_until_ms bigint,
    delivery_count  integer NOT NULL DEFAULT 0
);
CREATE INDEX worker_queue_by_instance ON worker_queue (instance_id, event_id);
CREATE INDEX worker_queue_by_visible ON worker_queue (visible_at_ms, id);
CREATE INDEX worker_queue_by_locked_until ON worker_queue (locked_until_ms) WHERE locked_until_ms IS NOT NULL;
