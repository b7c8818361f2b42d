-- Every statement the SQLite run store runs, by name (the schema is in migrations/).
--
-- Each block starts with a `-- name: <query_name>` line, then a one-line `--` comment
-- saying what it does, then the statement (no trailing semicolon). queries.py loads the
-- file once, at import; the store calls its statements by name.
--
-- Datetimes are ISO-8601 UTC text with microseconds (fixed width, so they sort as text).
-- A `{slot}` is filled with an integer by queries.py's `Queries.fill` (PRAGMAs take no
-- bound parameters); nothing else is ever pasted into these statements.
-- The active states are written out as `('running', 'starting', 'waiting_for_human')`:
-- engine.domain.state.ACTIVE (the store's tests check that the two agree).


-- --- connections, transactions, migrations ------------------------------------------

-- name: set_busy_timeout
-- How long a statement waits for another connection's lock before failing as "busy".
PRAGMA busy_timeout = {ms}

-- name: enable_wal
-- Switch the file to write-ahead logging (returns the journal mode now in force).
PRAGMA journal_mode = WAL

-- name: set_synchronous_normal
-- No fsync per commit in WAL mode: a power cut may lose the last commits, never corrupts.
PRAGMA synchronous = NORMAL

-- name: enable_foreign_keys
-- Enforce foreign keys on this connection.
PRAGMA foreign_keys = ON

-- name: set_query_only
-- Make the reader connection refuse any write.
PRAGMA query_only = ON

-- name: get_user_version
-- The schema version: number of the last applied migration.
PRAGMA user_version

-- name: set_user_version
-- Record the number of the last applied migration.
PRAGMA user_version = {version}

-- name: begin_immediate
-- Start a transaction that takes the write lock at once (other writers wait on busy_timeout).
BEGIN IMMEDIATE


-- --- runs --------------------------------------------------------------------------
-- A run's review decision is the data of its `review_decided` event (the partial index
-- of migration 0004 finds it), selected after the columns, NULL while undecided.

-- name: insert_run
-- Store a new run: every column, as named parameters.
INSERT INTO runs (
    id, repo, task, agent, state, priority, scenario, skills, branch, base, base_sha,
    worktree, turns_completed, error, created_at, updated_at, started_at, finished_at,
    owner, lease_expires_at, cancel_requested
) VALUES (
    :id, :repo, :task, :agent, :state, :priority, :scenario, :skills, :branch, :base,
    :base_sha, :worktree, :turns_completed, :error, :created_at, :updated_at,
    :started_at, :finished_at, :owner, :lease_expires_at, :cancel_requested
)

-- name: get_run
-- One run by exact id, with its review decision.
SELECT id, repo, task, agent, state, priority, scenario, skills, branch, base, base_sha,
       worktree, turns_completed, error, created_at, updated_at, started_at, finished_at,
       owner, lease_expires_at, cancel_requested,
       (SELECT d.data FROM events AS d WHERE d.run_id = runs.id
           AND d.type = 'review_decided' ORDER BY d.seq LIMIT 1)
FROM runs
WHERE id = ?

-- name: find_runs
-- Runs whose id matches a LIKE pattern (`\` escapes), oldest first, with their review decisions.
SELECT id, repo, task, agent, state, priority, scenario, skills, branch, base, base_sha,
       worktree, turns_completed, error, created_at, updated_at, started_at, finished_at,
       owner, lease_expires_at, cancel_requested,
       (SELECT d.data FROM events AS d WHERE d.run_id = runs.id
           AND d.type = 'review_decided' ORDER BY d.seq LIMIT 1)
FROM runs
WHERE id LIKE ? ESCAPE '\'
ORDER BY created_at, rowid

-- name: list_runs
-- Every run, oldest first, with its review decision.
SELECT id, repo, task, agent, state, priority, scenario, skills, branch, base, base_sha,
       worktree, turns_completed, error, created_at, updated_at, started_at, finished_at,
       owner, lease_expires_at, cancel_requested,
       (SELECT d.data FROM events AS d WHERE d.run_id = runs.id
           AND d.type = 'review_decided' ORDER BY d.seq LIMIT 1)
FROM runs
ORDER BY created_at, rowid

-- name: save_run
-- Write every column of a run, keeping another writer's newer cancel request and lease.
-- - a cancel request (set by a CLI process at any time) is never cleared by an engine
--   saving a stale copy of the run, except when the run is re-queued (resume starts over);
-- - while the same owner keeps the run, its lease never moves backwards (renew_leases may
--   have extended it after the caller's copy was read).
UPDATE runs SET
    repo = :repo,
    task = :task,
    agent = :agent,
    state = :state,
    priority = :priority,
    scenario = :scenario,
    skills = :skills,
    branch = :branch,
    base = :base,
    base_sha = :base_sha,
    worktree = :worktree,
    turns_completed = :turns_completed,
    error = :error,
    created_at = :created_at,
    updated_at = :updated_at,
    started_at = :started_at,
    finished_at = :finished_at,
    owner = :owner,
    lease_expires_at = CASE WHEN :owner IS NOT NULL AND owner IS :owner
                             AND lease_expires_at > :lease_expires_at THEN lease_expires_at
                            ELSE :lease_expires_at END,
    cancel_requested = CASE WHEN :state = 'queued' THEN :cancel_requested
                            ELSE MAX(cancel_requested, :cancel_requested) END
WHERE id = :id
RETURNING lease_expires_at, cancel_requested

-- name: count_active_runs
-- How many runs of every engine are active (starting, running or waiting for a human).
SELECT COUNT(*) FROM runs WHERE state IN ('running', 'starting', 'waiting_for_human')

-- name: pick_queued_run
-- The queued run to claim next: highest priority, then oldest, among repos under their limit.
SELECT r.id, r.repo, r.task, r.agent, r.state, r.priority, r.scenario, r.skills, r.branch,
       r.base, r.base_sha, r.worktree, r.turns_completed, r.error, r.created_at,
       r.updated_at, r.started_at, r.finished_at, r.owner, r.lease_expires_at,
       r.cancel_requested
FROM runs AS r
WHERE r.state = 'queued'
  AND (SELECT COUNT(*) FROM runs AS a
       WHERE a.repo = r.repo
         AND a.state IN ('running', 'starting', 'waiting_for_human')) < :max_running_per_repo
ORDER BY r.priority DESC, r.created_at, r.rowid
LIMIT 1

-- name: pick_queued_run_among
-- As pick_queued_run, among the run ids of a JSON array (one parameter: no variable limit).
SELECT r.id, r.repo, r.task, r.agent, r.state, r.priority, r.scenario, r.skills, r.branch,
       r.base, r.base_sha, r.worktree, r.turns_completed, r.error, r.created_at,
       r.updated_at, r.started_at, r.finished_at, r.owner, r.lease_expires_at,
       r.cancel_requested
FROM runs AS r
WHERE r.state = 'queued'
  AND r.id IN (SELECT value FROM json_each(:only))
  AND (SELECT COUNT(*) FROM runs AS a
       WHERE a.repo = r.repo
         AND a.state IN ('running', 'starting', 'waiting_for_human')) < :max_running_per_repo
ORDER BY r.priority DESC, r.created_at, r.rowid
LIMIT 1

-- name: claim_run
-- Hand a picked run to an engine: its new state, owner and lease.
UPDATE runs SET state = ?, owner = ?, lease_expires_at = ?, updated_at = ?
WHERE id = ?

-- name: renew_leases
-- Extend the lease of every active run of one owner (updated_at stays: a heartbeat is no change).
UPDATE runs SET lease_expires_at = ?
WHERE owner = ? AND state IN ('running', 'starting', 'waiting_for_human')

-- name: request_cancel
-- Set a run's cancel_requested flag.
UPDATE runs SET cancel_requested = 1, updated_at = ? WHERE id = ?


-- --- events ------------------------------------------------------------------------

-- name: insert_event
-- Append one event, its `at` taken from its JSON data.
-- SQLite extracts `at`, on the writer thread: formatting a timestamp per event in Python
-- cost as much as the whole insert (bench/bench_event_ingest.py).
INSERT INTO events (run_id, seq, type, at, data)
VALUES (?1, ?2, ?3, json_extract(?4, '$.at'), ?4)

-- name: events_for
-- One run's events after a seq, in seq order.
SELECT data FROM events WHERE run_id = ? AND seq > ? ORDER BY seq

-- name: follow_events
-- Every run's events after an event id, in insertion order, at most a given number.
SELECT id, run_id, data FROM events WHERE id > ? ORDER BY id LIMIT ?

-- name: events_tail
-- One run's newest events before a seq, newest first, at most a given number.
SELECT data FROM events WHERE run_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?

-- name: fact_events
-- Every run's events of the types that change a run's facts, after an event id and up
-- to another, in insertion order. The IN list is the `events_facts` index's own, so the
-- index is used.
SELECT id, data FROM events
WHERE id > ? AND id <= ?
  AND type IN ('run_state_changed', 'usage_reported', 'guard_decided', 'gate_decided',
               'human_asked', 'skills_loaded', 'review_decided', 'file_changed')
ORDER BY id

-- name: last_event_id
-- The id of the newest event of any run (0 when none).
SELECT COALESCE(MAX(id), 0) FROM events

-- name: last_seq
-- The highest seq of one run's events (0 when none).
SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id = ?


-- --- steering ----------------------------------------------------------------------

-- name: add_steering
-- Queue a message for a run; returns its id.
INSERT INTO steering (run_id, text, created_at) VALUES (?, ?, ?) RETURNING id

-- name: pending_steering
-- A run's undelivered messages, oldest first.
SELECT id, run_id, text, created_at FROM steering
WHERE run_id = ? AND delivered_at IS NULL
ORDER BY id

-- name: mark_delivered
-- Record when a message was delivered.
UPDATE steering SET delivered_at = ? WHERE id = ?


-- --- agent state -------------------------------------------------------------------

-- name: save_agent_state
-- Replace what a run's backend keeps for resuming.
INSERT INTO agent_state (run_id, data, updated_at) VALUES (?, ?, ?)
ON CONFLICT (run_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at

-- name: load_agent_state
-- What a run's backend kept for resuming.
SELECT data FROM agent_state WHERE run_id = ?


-- --- guard ledger ------------------------------------------------------------------

-- name: record_guard
-- Add one decision of the guard to its ledger.
INSERT INTO guard_decisions (run_id, at, tool, kind, action, rule, decision, outcome, reason)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)

-- name: guard_ledger
-- Every run's guard decisions, oldest first.
SELECT run_id, at, tool, kind, action, rule, decision, outcome, reason
FROM guard_decisions
ORDER BY id

-- name: guard_ledger_of_run
-- One run's guard decisions, oldest first.
SELECT run_id, at, tool, kind, action, rule, decision, outcome, reason
FROM guard_decisions
WHERE run_id = ?
ORDER BY id

-- name: guard_overrides
-- The rules a run's ledger holds with a given decision (the store asks for OVERRIDE).
SELECT DISTINCT rule FROM guard_decisions WHERE run_id = ? AND decision = ?

-- name: guard_counts
-- Per rule and outcome, how many decisions the ledger holds.
SELECT rule, outcome, COUNT(*) FROM guard_decisions GROUP BY rule, outcome
