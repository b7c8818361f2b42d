"""The :class:`EngineClient` protocol: every call of :class:`engine.api.EngineApi`, plus
streams of events that resume from where a client left off."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from engine.api import EngineApi
from engine.domain.events import Event


@dataclass(frozen=True)
class EventPage:
    """Events of every run stored after some id, and the id to resume after."""

    last_id: int
    events: list[Event]


class EngineClient(EngineApi, Protocol):
    """A client of the engine of one workspace."""

    def subscribe(self, after_id: int = 0) -> AsyncIterator[EventPage]:
        """Every run's events stored after ``after_id``, page by page, as they are
        stored, forever: a client that resubscribes with the last page's ``last_id``
        gets exactly what it missed, no event twice."""
        ...

    def run_events(self, run_id: str, after_seq: int = 0) -> AsyncIterator[Event]:
        """One run's events with ``seq > after_seq``, in order, as they are stored,
        until the run stops moving by itself (finished, failed, cancelled or
        interrupted)."""
        ...
