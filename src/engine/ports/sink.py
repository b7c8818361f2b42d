"""EventSink: anyone who follows events (the UI, the CLI's --wait, tests)."""

from __future__ import annotations

from typing import Protocol

from engine.domain.events import Event


class EventSink(Protocol):
    """Receives events after they are persisted. Must never block."""

    def deliver(self, events: list[Event]) -> None:
        """Called with each persisted batch, in order."""
