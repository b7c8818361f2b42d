"""Engine → UI: persisted event batches become one Textual message each."""

from __future__ import annotations

from textual.message import Message

from engine.domain.events import Event


class EngineEvents(Message):
    """A batch of persisted events (from this cockpit's engine, or read from the store)."""

    def __init__(self, events: list[Event]) -> None:
        super().__init__()
        self.events = events
