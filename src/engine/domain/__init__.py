"""Pure domain: models, events, the run state machine and typed errors. No I/O here."""
