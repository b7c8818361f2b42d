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

from engine.domain import codec
from engine.domain.errors import CockpitError
from engine.domain.events import Event
from engine.domain.models import Run
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
            await self._drain()

    async def save_run_with(self, run: Run, event: Event) -> Event:
        """Store ``run`` and ``event`` (numbered next) in one transaction, after every
        event buffered before it, then deliver the event: a reader who finds the run in
        its new state finds the event that says so, and all that came before it."""
        if self._redactor is not None:
            event = redacted(event, self._redactor)
        async with self._lock:
            await self._drain()
            # Numbered now, as emit() numbers: an event emitted while this one is being
            # written is numbered after it.
            event.seq = self._seq.get(event.run_id, 0) + 1
            self._seq[event.run_id] = event.seq
            await self._store.save_run_with_events(run, lambda _last: [event])
            self._deliver([event])
        return event

    async def _drain(self) -> None:
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
            self._deliver(batch)

    def _deliver(self, batch: list[Event]) -> None:
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
    data = codec.encode(event)
    masked = redactor.value(data)
    return event if masked == data else codec.decode(type(event), masked)
