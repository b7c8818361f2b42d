-- A run's facts (its token totals, latest gate verdicts, guard counts, open question:
-- engine/domain/facts.py) are folded from the few event types that change them. This
-- partial index holds those rows only, so the engine reads them without scanning the
-- streamed text and tool output around them. The types are `facts.FACT_TYPES` (a test
-- checks both lists agree, and that `fact_events` uses this index).
CREATE INDEX events_facts ON events (id)
WHERE type IN ('run_state_changed', 'usage_reported', 'guard_decided', 'gate_decided',
               'human_asked', 'skills_loaded', 'review_decided', 'file_changed');
