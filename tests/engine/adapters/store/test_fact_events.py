"""The store's fact events: only the types a run's facts are folded from, read through
their own partial index, and the id to go on from."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from builders import eventful_run, finished_run, store_runs
from engine.adapters.store.sqlite import SqliteRunStore
from engine.adapters.store.sqlite.queries import QUERIES
from engine.adapters.store.sqlite.schema import migrations
from engine.domain.events import AgentText
from engine.domain.facts import FACT_TYPES


def quoted_types(sql: str) -> set[str]:
    """The types named in the ``type IN (...)`` of a statement."""
    found = re.search(r"type IN \(([^)]*)\)", sql)
    assert found, sql
    return set(re.findall(r"'([a-z_]+)'", found.group(1)))


def test_the_index_and_the_query_name_the_fact_types() -> None:
    index = next(script for _, script in migrations() if "events_facts" in script)
    assert quoted_types(index) == set(FACT_TYPES)
    assert quoted_types(QUERIES["fact_events"]) == set(FACT_TYPES)


def test_the_query_reads_through_the_partial_index() -> None:
    conn = sqlite3.connect(":memory:")
    for _, script in migrations():
        conn.executescript(script)
    plan = conn.execute("EXPLAIN QUERY PLAN " + QUERIES["fact_events"], (0, 0)).fetchall()
    assert any("USING INDEX events_facts" in row[-1] for row in plan), plan


async def test_fact_events_are_those_types_only_in_order_and_resume(tmp_path: Path) -> None:
    db = tmp_path / "cockpit.db"
    one = eventful_run("f0000001", "app", 90)
    two = finished_run("f0000002", "app", "texts only", 30)
    await store_runs(db, [one, two])
    store = SqliteRunStore(db)
    await store.open()
    try:
        upto, events = await store.fact_events(0)
        expected = [e for e in [*one[1], *two[1]] if e.type in FACT_TYPES]
        assert [(e.run_id, e.seq) for e in events] == [(e.run_id, e.seq) for e in expected]
        assert events == expected
        assert upto == await store.last_event_id()
        # Nothing new: nothing read again, and the id stays.
        assert await store.fact_events(upto) == (upto, [])
        # Text only after it: passed over, the id moves on.
        await store.append_events([AgentText(run_id="f0000002", seq=31, text="more")])
        later, none = await store.fact_events(upto)
        assert (later, none) == (upto + 1, [])
    finally:
        await store.close()
