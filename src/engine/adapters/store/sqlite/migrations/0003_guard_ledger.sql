-- The guard's ledger: every decision a rule made about a tool call (evidence for
-- changing a rule or a skill), and what came of it.
CREATE TABLE guard_decisions (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id   TEXT NOT NULL,
    at       TEXT NOT NULL,
    tool     TEXT NOT NULL,
    kind     TEXT NOT NULL,
    action   TEXT NOT NULL,
    rule     TEXT NOT NULL,
    decision TEXT NOT NULL,
    outcome  TEXT NOT NULL,
    reason   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX guard_decisions_run ON guard_decisions (run_id, id);
CREATE INDEX guard_decisions_rule ON guard_decisions (rule);
