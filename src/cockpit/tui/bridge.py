"""Engine → UI: each page of the client's event stream becomes one Textual message."""

from __future__ import annotations

from textual.message import Message

from engine.domain.events import Event


class EngineEvents(Message):
    """A page of stored events, of every run (this cockpit's engine's and other
    processes'), in the order they were stored."""

    def __init__(self, events: list[Event]) -> None:
        super().__init__()
        self.events = events
