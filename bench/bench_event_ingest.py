"""event_ingest: events/s persisted through the engine's store path.

~20,000 ``AgentText`` events (100-character texts, a few runs) are emitted through
``EventBus.emit`` in chunks of 200 with an ``asyncio.sleep(0)`` between chunks (a live
agent yields to the loop between messages), with the bus's flusher running, and the time
runs until ``await bus.flush()`` has persisted the last one in the ``SqliteRunStore``.

The baseline writes the same rows (same ``event_to_json`` payload and timestamp text,
built before its clock starts) with stdlib ``sqlite3`` into a fresh database of the same
schema (the store's own migrations), WAL mode and ``synchronous = NORMAL`` as the store
sets, one ``BEGIN IMMEDIATE`` … ``executemany`` … ``COMMIT`` per batch, with exactly the
batch sizes the bus used in the paired repetition. So the ratio prices everything the
engine adds to a bare write: serialisation, the bus, aiosqlite's thread hop.

Extra fields: ``baseline_with_json`` is the raw write with serialisation timed too, and
``baseline_tx_per_200`` the raw write in 200-row transactions (the emit chunk size).
The events are built before any clock starts: making them is the agent's cost.

A micro-benchmark of one component: it drives the bus and the store directly, not an
engine through ``cockpit.client`` (the path it prices lies below the client).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC
from pathlib import Path

from common import emit, log, median, temp_dir
from engine.adapters.store.sqlite import SqliteRunStore
from engine.adapters.store.sqlite.store import migrations
from engine.domain.events import AgentText, Event, event_to_json
from engine.services.bus import EventBus

EVENTS = 20_000
RUNS = 4
CHUNK = 200
REPEATS = 7
TEXT = ("The agent is reading the module and thinking about what to change next. " * 2)[:100]


def make_events() -> list[AgentText]:
    """The events of one repetition, round-robin over a few runs, seq not yet assigned."""
    return [AgentText(run_id=f"bench-run-{i % RUNS}", text=TEXT) for i in range(EVENTS)]


async def through_bus(db: Path, events: list[AgentText]) -> tuple[float, list[int]]:
    """Seconds to persist ``events`` through the bus, and the batch sizes it wrote."""
    store = SqliteRunStore(db)
    await store.open()
    bus = EventBus(store)
    batches: list[int] = []
    bus.add_sink(lambda batch: batches.append(len(batch)))
    await bus.start()
    try:
        start = time.perf_counter()
        for i in range(0, len(events), CHUNK):
            for event in events[i : i + CHUNK]:
                bus.emit(event)
            await asyncio.sleep(0)
        await bus.flush()
        elapsed = time.perf_counter() - start
    finally:
        await bus.stop()
        await store.close()
    if sum(batches) != len(events):
        raise RuntimeError(f"the bus persisted {sum(batches)} of {len(events)} events")
    return elapsed, batches


def _row(event: Event) -> tuple[str, int, str, str, str]:
    at = event.at.astimezone(UTC).isoformat(timespec="microseconds")
    return (event.run_id, event.seq, event.type, at, event_to_json(event))


def raw_sqlite(db: Path, events: list[AgentText], batches: list[int], serialise: bool) -> float:
    """Seconds for stdlib sqlite3 to write ``events`` in transactions of ``batches`` rows.

    With ``serialise`` the rows (``event_to_json`` and the timestamp) are built inside
    the timed part, else beforehand: then only ``executemany`` and the commits count.
    """
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        for _, sql in migrations():
            conn.executescript(sql)
        seq: dict[str, int] = {}
        for event in events:
            seq[event.run_id] = event.seq = seq.get(event.run_id, 0) + 1
        insert = "INSERT INTO events (run_id, seq, type, at, data) VALUES (?, ?, ?, ?, ?)"
        ready = [] if serialise else [_row(e) for e in events]
        start = time.perf_counter()
        done = 0
        for size in batches:
            if serialise:
                rows = [_row(e) for e in events[done : done + size]]
            else:
                rows = ready[done : done + size]
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(insert, rows)
            conn.execute("COMMIT")
            done += size
        elapsed = time.perf_counter() - start
        stored = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    finally:
        conn.close()
    if stored != len(events):
        raise RuntimeError(f"raw sqlite stored {stored} of {len(events)} events")
    return elapsed


def main() -> None:
    bus_rates: list[float] = []
    raw_rates: list[float] = []
    raw_json_rates: list[float] = []
    raw_chunk_rates: list[float] = []
    batch_counts: list[int] = []
    with temp_dir("ingest") as tmp:
        # One untimed round first: imports, page cache, pydantic's serializer warm-up.
        for rep in range(REPEATS + 1):
            bus_time, batches = asyncio.run(through_bus(tmp / f"bus-{rep}.db", make_events()))
            raw_time = raw_sqlite(tmp / f"raw-{rep}.db", make_events(), batches, False)
            json_time = raw_sqlite(tmp / f"json-{rep}.db", make_events(), batches, True)
            chunks = [CHUNK] * (EVENTS // CHUNK)
            chunk_time = raw_sqlite(tmp / f"chunk-{rep}.db", make_events(), chunks, False)
            if rep == 0:
                continue
            bus_rates.append(EVENTS / bus_time)
            raw_rates.append(EVENTS / raw_time)
            raw_json_rates.append(EVENTS / json_time)
            raw_chunk_rates.append(EVENTS / chunk_time)
            batch_counts.append(len(batches))
            log(
                f"event_ingest rep {rep}: bus {EVENTS / bus_time:,.0f}/s "
                f"in {len(batches)} batches (largest {max(batches)}); raw executemany "
                f"{EVENTS / raw_time:,.0f}/s, with serialisation {EVENTS / json_time:,.0f}/s, "
                f"in {CHUNK}-row transactions {EVENTS / chunk_time:,.0f}/s"
            )
    emit(
        "event_ingest",
        median(bus_rates),
        "events/s",
        "sqlite3.executemany",
        median(raw_rates),
        goal=">= 0.5",
        digits=0,
        events=EVENTS,
        repeats=REPEATS,
        bus_batches=median(batch_counts),
        min=round(min(bus_rates)),
        max=round(max(bus_rates)),
        baseline_with_json=round(median(raw_json_rates)),
        baseline_tx_per_200=round(median(raw_chunk_rates)),
    )


if __name__ == "__main__":
    main()
