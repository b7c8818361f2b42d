-- What a backend needs to resume a run: its conversation, a session id… (JSON).
CREATE TABLE agent_state (
    run_id     TEXT PRIMARY KEY,
    data       TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
