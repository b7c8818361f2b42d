"""The event bus: assigns sequence numbers, persists in batches, then fans events out.

Events reach sinks only after they are in the store, so anything a sink has seen
survives a crash. Writes are batched (one executemany per flush), flushed at most
``flush_interval`` after the first buffered event, and on demand before a state change
is acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from engine.domain.errors import CockpitError
from engine.domain.events import Event
from engine.domain.redact import Redactor
from engine.ports.store import RunStore

log = logging.getLogger(__name__)

Sink = Callable[[list[Event]], object]


class EventBus:
    """Ordered, persisted, non-blocking publication of domain events."""

    def __init__(
        self,
        store: RunStore,
        flush_interval: float = 0.05,
        max_batch: int = 1000,
        redactor: Redactor | None = None,
    ):
        self._store = store
        #: Masks keys and tokens in every event before it is stored or shown.
        self._redactor = redactor
        self._interval = flush_interval
        self._max_batch = max_batch
        self._buffer: list[Event] = []
        self._seq: dict[str, int] = {}
        self._sinks: set[Sink] = set()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the background flusher."""
        self._task = asyncio.create_task(self._flusher(), name="event-bus-flusher")

    async def stop(self) -> None:
        """Flush what is buffered and stop the flusher."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def track(self, run_id: str) -> None:
        """Continue a run's sequence numbers after those already stored.

        Called when this engine starts executing a run; other writers (a resume, orphan
        recovery) may have appended events since this engine last numbered it.
        """
        await self.flush()
        self._seq[run_id] = await self._store.last_seq(run_id)

    def emit(self, event: Event) -> Event:
        """Number ``event`` and buffer it; never blocks. Call :meth:`track` first."""
        if self._redactor is not None:
            event = redacted(event, self._redactor)
        seq = self._seq.get(event.run_id, 0) + 1
        self._seq[event.run_id] = seq
        event.seq = seq
        self._buffer.append(event)
        self._wake.set()
        return event

    def add_sink(self, sink: Sink) -> None:
        """Call ``sink`` with every persisted batch (must not block)."""
        self._sinks.add(sink)

    async def flush(self) -> None:
        """Persist everything buffered, then deliver it to sinks, in order."""
        async with self._lock:
            while self._buffer:
                batch, self._buffer = self._buffer, []
                try:
                    await self._store.append_events(batch)
                except CockpitError:
                    # The store refused the batch whole (its transaction rolled back):
                    # kept, in order, for the next flush, which may find room again. (A
                    # cancelled write may still land: that batch is not kept.)
                    self._buffer[:0] = batch
                    raise
                for sink in list(self._sinks):
                    try:
                        sink(batch)
                    except Exception:  # a broken subscriber must not stop the engine
                        log.exception("event sink failed")

    async def _flusher(self) -> None:
        while True:
            await self._wake.wait()
            # Let a burst accumulate, but never hold an event longer than the interval.
            if len(self._buffer) < self._max_batch:
                await asyncio.sleep(self._interval)
            self._wake.clear()
            try:
                await self.flush()
            except CockpitError as exc:
                # The flusher lives on: whoever flushes next (a state change) gets the
                # error, and the events wait in the buffer for the store to take them.
                log.info("events not stored yet: %s", exc)
                await asyncio.sleep(1.0)


def redacted(event: Event, redactor: Redactor) -> Event:
    """``event`` with keys and tokens masked in every text it carries (itself when none)."""
    data = event.model_dump()
    masked = redactor.value(data)
    return event if masked == data else type(event).model_validate(masked)
