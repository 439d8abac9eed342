-- duroxide SQLite schema, version 3.
-- runtimes: one row per runtime serving the store (`duroxide workers`), keyed by its worker id.
--   A runtime writes its row at start, refreshes last_seen_at_ms while it runs and deletes the
--   row on a clean shutdown; rows of processes that died stay until they are pruned.

CREATE TABLE runtimes (
    worker_id       TEXT PRIMARY KEY,
    host            TEXT NOT NULL,
    pid             INTEGER NOT NULL,
    app             TEXT,
    started_at_ms   INTEGER NOT NULL,
    last_seen_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX runtimes_by_last_seen ON runtimes (last_seen_at_ms);
