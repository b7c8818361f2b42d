-- A run's review decision is its `review_decided` event, read with the run's row (one
-- source of truth: recording the decision stays a single event append). This partial
-- index makes that lookup one probe per run instead of a scan of the run's events.
CREATE INDEX events_review_decided ON events (run_id, seq) WHERE type = 'review_decided';
