-- duroxide SQLite schema, version 1.
-- JSON columns hold compact JSON text; NULL stands for a JSON null.
-- Times are epoch milliseconds.

CREATE TABLE instances (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    version            TEXT,
    status             TEXT NOT NULL,
    execution_id       INTEGER NOT NULL,
    output             TEXT,
    error              TEXT,
    failure            TEXT,
    custom_status      TEXT,
    parent_instance_id TEXT,
    created_at_ms      INTEGER NOT NULL,
    updated_at_ms      INTEGER NOT NULL,
    lock_token         TEXT,
    lock_owner         TEXT,
    locked_until_ms    INTEGER,
    backoff_until_ms   INTEGER
);
CREATE INDEX instances_by_created ON instances (created_at_ms);
CREATE INDEX instances_by_status ON instances (status);
CREATE INDEX instances_by_name ON instances (name);
CREATE INDEX instances_by_parent ON instances (parent_instance_id);
-- when the next lock or back-off ends (an idle poll sleeps until then)
CREATE INDEX instances_by_locked_until ON instances (locked_until_ms) WHERE locked_until_ms IS NOT NULL;
CREATE INDEX instances_by_backoff_until ON instances (backoff_until_ms) WHERE backoff_until_ms IS NOT NULL;

CREATE TABLE executions (
    instance_id   TEXT NOT NULL,
    execution_id  INTEGER NOT NULL,
    status        TEXT NOT NULL,
    started_at_ms INTEGER NOT NULL,
    ended_at_ms   INTEGER,
    PRIMARY KEY (instance_id, execution_id)
) WITHOUT ROWID;

CREATE TABLE history (
    instance_id  TEXT NOT NULL,
    execution_id INTEGER NOT NULL,
    event_id     INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (instance_id, execution_id, event_id)
) WITHOUT ROWID;

CREATE TABLE orchestrator_queue (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id    TEXT NOT NULL,
    execution_id   INTEGER,
    kind           TEXT NOT NULL,
    body           TEXT NOT NULL,
    visible_at_ms  INTEGER NOT NULL,
    delivery_count INTEGER NOT NULL DEFAULT 0,
    lock_token     TEXT
);
CREATE INDEX orchestrator_queue_by_instance ON orchestrator_queue (instance_id, visible_at_ms);
CREATE INDEX orchestrator_queue_by_visible ON orchestrator_queue (visible_at_ms);

CREATE TABLE worker_queue (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id     TEXT NOT NULL,
    execution_id    INTEGER NOT NULL,
    event_id        INTEGER NOT NULL,
    body            TEXT NOT NULL,
    visible_at_ms   INTEGER NOT NULL,
    lock_token      TEXT,
    lock_owner      TEXT,
    locked_until_ms INTEGER,
    delivery_count  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX worker_queue_by_instance ON worker_queue (instance_id, event_id);
CREATE INDEX worker_queue_by_visible ON worker_queue (visible_at_ms);
CREATE INDEX worker_queue_by_locked_until ON worker_queue (locked_until_ms) WHERE locked_until_ms IS NOT NULL;
