"""One run's messages from the human: steering delivered to the agent (with a receipt
event each), answers waited for, and answers held for a question an earlier execution
of the run left open.

A part of :class:`~engine.services.runner.RunExecution`, kept apart so the runner holds
the lifecycle and this the messages; the run's state while it waits stays the runner's.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from engine.domain.events import HumanAsked, SteeringDelivered
from engine.domain.models import SteeringMessage, utcnow
from engine.services.run_setup import RunServices


class RunInbox:
    """Delivers one run's steering messages, and waits for the human's answers."""

    def __init__(self, run_id: str, services: RunServices) -> None:
        self._run_id = run_id
        self._store = services.store
        self._bus = services.bus
        self._poll = services.poll_interval
        #: Set when steering may have arrived (by this engine or a poke from another).
        self.arrived = asyncio.Event()
        #: Ids of steering messages that answer a question an earlier execution left open
        #: (sent while the run was interrupted): the agent, replaying that turn, asks again
        #: and gets them as the answer, not as notes. Released at the end of the turn.
        self._held: set[int] = set()

    async def hold_answers(self) -> None:
        """When an earlier execution ended while the agent's question was open, hold the
        steering sent since then as its answer (see ``_held``)."""
        open_question = False
        for event in await self._store.events_for(self._run_id):
            if isinstance(event, HumanAsked):
                open_question = event.kind == "question"
            elif isinstance(event, SteeringDelivered):
                open_question = False  # answered
        if open_question:
            pending = await self._store.pending_steering(self._run_id)
            self._held = {m.id for m in pending}

    def release_held(self) -> None:
        """The turn ended without the question asked again: held answers reach the agent
        as steering from now on."""
        self._held.clear()

    async def take(self) -> list[SteeringMessage]:
        """Deliver pending steering messages and emit their receipts (answers held for a
        question asked again stay pending: :meth:`take_held` delivers them)."""
        pending = await self._store.pending_steering(self._run_id)
        return await self._deliver([m for m in pending if m.id not in self._held])

    async def take_held(self) -> list[SteeringMessage]:
        """Deliver the held answers (none when nothing is held), releasing the hold."""
        if not self._held:
            return []
        held, self._held = self._held, set()
        pending = await self._store.pending_steering(self._run_id)
        return await self._deliver([m for m in pending if m.id in held])

    async def wait_for_answer(self, timeout: float | None = None) -> str | None:
        """The next steering as one answer, waited for (None: ``timeout`` seconds passed
        first)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            messages = await self.take()
            if messages:
                return "\n".join(m.text for m in messages)
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            self.arrived.clear()
            # A poke from another process sets the event; the timeout covers a lost poke.
            wait = self._poll if left is None else min(self._poll, left)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), wait)

    async def _deliver(self, messages: list[SteeringMessage]) -> list[SteeringMessage]:
        """Mark ``messages`` delivered and emit their receipts."""
        for message in messages:
            now = utcnow()
            await self._store.mark_delivered(message.id, now)
            message.delivered_at = now
            self._bus.emit(
                SteeringDelivered(run_id=self._run_id, steering_id=message.id, text=message.text)
            )
        if messages:
            await self._bus.flush()
        return messages
