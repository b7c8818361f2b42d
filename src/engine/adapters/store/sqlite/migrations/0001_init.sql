-- Initial schema: runs, their events and steering messages.
-- Datetimes are ISO-8601 UTC text with microseconds (fixed width, so they sort as text).

CREATE TABLE runs (
    id               TEXT PRIMARY KEY,
    repo             TEXT NOT NULL,
    task             TEXT NOT NULL,
    agent            TEXT NOT NULL,
    state            TEXT NOT NULL,
    priority         INTEGER NOT NULL DEFAULT 0,
    scenario         TEXT,
    skills           TEXT NOT NULL DEFAULT '[]',
    branch           TEXT NOT NULL DEFAULT '',
    base             TEXT NOT NULL DEFAULT '',
    base_sha         TEXT,
    worktree         TEXT,
    turns_completed  INTEGER NOT NULL DEFAULT 0,
    error            TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    started_at       TEXT,
    finished_at      TEXT,
    owner            TEXT,
    lease_expires_at TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0
);

-- claim_next: pick queued runs by priority/age; count active runs per repo.
CREATE INDEX runs_queue ON runs (state, priority DESC, created_at);
CREATE INDEX runs_repo_state ON runs (repo, state);
CREATE INDEX runs_owner ON runs (owner);
CREATE INDEX runs_created ON runs (created_at);

CREATE TABLE events (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    type   TEXT NOT NULL,
    at     TEXT NOT NULL,
    data   TEXT NOT NULL,
    UNIQUE (run_id, seq)
);

-- UNIQUE (run_id, seq) already is the (run_id, seq) index that events_for and last_seq
-- use; a second explicit index would only slow every append down.

CREATE TABLE steering (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       TEXT NOT NULL,
    text         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    delivered_at TEXT
);

CREATE INDEX steering_pending ON steering (run_id, delivered_at, id);
