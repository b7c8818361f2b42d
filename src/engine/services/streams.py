"""Streams of stored events that resume where a reader left off.

The store is the one record every engine of a workspace writes, so a stream reads it,
never a bus: a reader that comes back with the last id (or seq) it saw gets exactly what
it missed, no event twice. Streams wake when this engine stores a batch and, for runs
other processes execute, every ``poll`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING

from engine.domain.errors import CockpitError
from engine.domain.events import Event
from engine.domain.state import RunState

if TYPE_CHECKING:
    from engine.services.engine import Engine

#: Seconds between reads of the store while nothing wakes a stream.
POLL = 0.5
#: Events read from the store at a time.
PAGE = 1000


class EventStreams:
    """Event streams over one engine's store."""

    def __init__(self, engine: Engine, poll: float = POLL) -> None:
        self._engine = engine
        self._poll = poll
        self._wakers: set[asyncio.Event] = set()
        engine.on_events(self._stored)

    def _stored(self, _batch: list[Event]) -> None:
        for wake in self._wakers:
            wake.set()

    async def pages(self, after_id: int = 0) -> AsyncIterator[tuple[int, list[Event]]]:
        """Every run's events stored after ``after_id``, page by page, forever: each
        page with the id to resume after."""
        async with self._waker() as wake:
            while True:
                wake.clear()
                last, events = await self._engine.follow_events(after_id, PAGE)
                after_id = max(after_id, last)
                if events:
                    yield after_id, events
                    continue  # there may be more than a page
                await self._sleep(wake)

    async def run_pages(self, run_id: str, after_seq: int = 0) -> AsyncIterator[list[Event]]:
        """One run's events with ``seq > after_seq``, in order, as read (a list at a
        time, never empty), until the run stops moving by itself (finished, failed,
        cancelled or interrupted). ``run_id`` is an id or a prefix (else UnknownRun).

        When this engine could not record the run's end (a full disk), the stream ends
        with the error that stopped it."""
        run_id = (await self._engine.resolve_run(run_id)).id
        async with self._waker() as wake:
            while True:
                wake.clear()
                events = await self._engine.events(run_id, after_seq)
                if events:
                    after_seq = events[-1].seq
                    yield events
                failure = self._engine.unrecorded.get(run_id)
                if isinstance(failure, CockpitError):
                    # Its end could not be stored (a full disk): the error is its end.
                    raise failure
                run = await self._engine.get_run(run_id)
                if run is None or settled(run.state):
                    # Its last change was stored with its event: read once more, then done.
                    events = await self._engine.events(run_id, after_seq)
                    if events:
                        yield events
                    return
                await self._sleep(wake)

    async def run_events(self, run_id: str, after_seq: int = 0) -> AsyncIterator[Event]:
        """:meth:`run_pages`, an event at a time."""
        async for events in self.run_pages(run_id, after_seq):
            for event in events:
                yield event

    @contextlib.asynccontextmanager
    async def _waker(self) -> AsyncGenerator[asyncio.Event]:
        wake = asyncio.Event()
        self._wakers.add(wake)
        try:
            yield wake
        finally:
            self._wakers.discard(wake)

    async def _sleep(self, wake: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), self._poll)


def settled(state: RunState) -> bool:
    """A run in ``state`` moves no more until someone acts on it."""
    return state.is_terminal or state is RunState.INTERRUPTED
