"""Paging a run's events from the end (start-up and "older lines")."""

from pathlib import Path

from engine.adapters.store.sqlite import SqliteRunStore
from engine.domain.events import AgentText


async def test_tail_pages_backwards(tmp_path: Path):
    store = SqliteRunStore(tmp_path / "db.sqlite")
    await store.open()
    try:
        await store.append_events(
            [AgentText(run_id="r1", seq=n, text=f"line {n}") for n in range(1, 11)]
            + [AgentText(run_id="r2", seq=1, text="other run")]
        )
        last = await store.events_tail("r1", 3)
        assert [e.seq for e in last] == [8, 9, 10]
        page = await store.events_tail("r1", 3, before_seq=8)
        assert [e.seq for e in page] == [5, 6, 7]
        assert [e.seq for e in await store.events_tail("r1", 10, before_seq=3)] == [1, 2]
        assert await store.events_tail("r1", 5, before_seq=1) == []
        assert await store.last_event_id() == 11
    finally:
        await store.close()
