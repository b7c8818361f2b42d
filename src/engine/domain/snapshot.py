"""What a client shows first: every run with its facts, and the recent events of those
it shows."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.domain.events import Event
from engine.domain.facts import RunFacts
from engine.domain.models import Run


@dataclass(kw_only=True)
class Snapshot:
    """Every stored run with its facts, and the newest events of the newest and of the
    active ones, read after ``last_event_id``: a follower of every run's events that
    starts there misses nothing (and drops what a tail already holds, by its ``seq``)."""

    #: The newest stored event of any run when the snapshot was read (0: none).
    last_event_id: int
    #: Every run, oldest first (as ``list_runs``).
    runs: list[Run]
    #: Run id → its newest events, oldest first. Runs not in it were left out (older,
    #: finished ones past the count asked for): a client reads theirs when it needs them.
    tails: dict[str, list[Event]] = field(default_factory=dict)
    #: Run id → what its whole history says (read after ``last_event_id``: what a
    #: follower then gets again is in them already, up to their ``seq``).
    facts: dict[str, RunFacts] = field(default_factory=dict)
