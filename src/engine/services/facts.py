"""Every run's facts (:class:`~engine.domain.facts.RunFacts`), kept by the engine and
brought up to date from the store as clients ask: one read of the fact events stored
since the last ask, whichever process stored them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from engine.domain.facts import RunFacts
from engine.ports.store import RunStore


class FactsBook:
    """Runs' facts, folded from the store's fact events once each."""

    def __init__(self, store: RunStore) -> None:
        self._store = store
        #: Every fact event stored up to this id is folded in.
        self._upto = 0
        self._facts: dict[str, RunFacts] = {}
        # Two asks at once would fold the same events twice.
        self._lock = asyncio.Lock()

    async def read(self, run_ids: Iterable[str]) -> dict[str, RunFacts]:
        """The facts of ``run_ids`` as stored now (a run with none yet: empty facts),
        each a copy the caller may fold more events into."""
        await self.update()
        return self.of(run_ids)

    async def update(self) -> None:
        """Fold in the fact events stored since the last update."""
        async with self._lock:
            self._upto, events = await self._store.fact_events(self._upto)
            for event in events:
                facts = self._facts.get(event.run_id)
                if facts is None:
                    facts = self._facts[event.run_id] = RunFacts()
                facts.apply(event)

    def of(self, run_ids: Iterable[str]) -> dict[str, RunFacts]:
        """The facts of ``run_ids`` as of the last update, copies."""
        return {
            run_id: facts.copy() if (facts := self._facts.get(run_id)) else RunFacts()
            for run_id in run_ids
        }
