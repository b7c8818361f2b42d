"""SqliteRunStore against real temporary database files."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.adapters.store.sqlite import SqliteRunStore
from engine.adapters.store.sqlite.rows import DECISION_FIELDS, RUN_COLUMNS
from engine.adapters.store.sqlite.schema import migrations, split_statements
from engine.domain.errors import StoreError, UnknownRun
from engine.domain.events import (
    AgentText,
    ErrorOccurred,
    RunStateChanged,
    ToolCallRequested,
    TurnFinished,
)
from engine.domain.models import Run
from engine.domain.state import RunState

T0 = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
LEASE = T0 + timedelta(minutes=5)


def make_run(run_id: str, repo: str = "repo", priority: int = 0, age: int = 0, **kw) -> Run:
    """A queued run created ``age`` seconds after T0."""
    return Run(
        id=run_id,
        repo=repo,
        task=f"task {run_id}",
        agent="scripted",
        priority=priority,
        created_at=T0 + timedelta(seconds=age),
        updated_at=T0 + timedelta(seconds=age),
        **kw,
    )


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "cockpit.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SqliteRunStore]:
    s = SqliteRunStore(db_path)
    await s.open()
    yield s
    await s.close()


async def test_migrations_apply_once_and_reopen_is_noop(db_path: Path) -> None:
    latest = migrations()[-1][0]
    first = SqliteRunStore(db_path)
    await first.open()
    assert db_path.exists()
    assert await first.user_version() == latest
    await first.insert_run(make_run("aaaa0001"))
    await first.close()

    again = SqliteRunStore(db_path)
    await again.open()
    assert await again.user_version() == latest
    assert [r.id for r in await again.list_runs()] == ["aaaa0001"]
    await again.close()

    con = sqlite3.connect(db_path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    columns = [row[1] for row in con.execute("PRAGMA table_info(runs)")]
    con.close()
    assert columns == list(RUN_COLUMNS)
    assert set(RUN_COLUMNS) == {f.name for f in dataclasses.fields(Run)} - set(DECISION_FIELDS)


async def test_concurrent_first_open_migrates_once(db_path: Path) -> None:
    stores = [SqliteRunStore(db_path) for _ in range(4)]
    await asyncio.gather(*(s.open() for s in stores))
    for s in stores:
        assert await s.user_version() == migrations()[-1][0]
    await asyncio.gather(*(s.close() for s in stores))


async def test_run_roundtrip_all_fields(store: SqliteRunStore) -> None:
    run = make_run(
        "abcd1234",
        repo="api",
        priority=3,
        scenario="happy",
        skills=["py", "tests"],
        branch="cockpit/abcd1234",
        base="main",
        base_sha="f" * 40,
        worktree="/tmp/wt/abcd1234",
        turns_completed=2,
        error="boom",
        state=RunState.RUNNING,
        started_at=T0 + timedelta(seconds=1),
        finished_at=T0 + timedelta(seconds=2, microseconds=5),
        owner="host:1:2.000000",
        lease_expires_at=LEASE,
        cancel_requested=True,
    )
    await store.insert_run(run)
    assert await store.get_run("abcd1234") == run
    assert await store.get_run("nope") is None

    await store.insert_run(make_run("abff0000", age=5))
    await store.insert_run(make_run("ffff0000", age=-5))
    assert [r.id for r in await store.list_runs()] == ["ffff0000", "abcd1234", "abff0000"]
    assert [r.id for r in await store.find_runs("ab")] == ["abcd1234", "abff0000"]
    assert [r.id for r in await store.find_runs("abc")] == ["abcd1234"]
    assert await store.find_runs("a_") == []  # LIKE wildcards are escaped

    saved = make_run("abff0000", age=5, state=RunState.FAILED, error="x", skills=["a"])
    before = saved.updated_at
    await store.save_run(saved)
    assert saved.updated_at > before
    assert await store.get_run("abff0000") == saved

    with pytest.raises(UnknownRun):
        await store.save_run(make_run("missing0"))


async def test_save_run_keeps_cancel_request_and_newer_lease(store: SqliteRunStore) -> None:
    await store.insert_run(make_run("r1"))
    run = await store.claim_next("me", LEASE, 5, 5)
    assert run is not None
    later = LEASE + timedelta(minutes=10)
    await store.renew_leases("me", later)
    await store.request_cancel("r1")

    # The engine saves its stale copy: neither the cancel nor the renewed lease is lost.
    run.state = RunState.RUNNING
    await store.save_run(run)
    assert run.cancel_requested is True
    assert run.lease_expires_at == later
    stored = await store.get_run("r1")
    assert stored == run

    # Re-queuing (resume) clears the flag and the released lease.
    run.state, run.owner, run.lease_expires_at, run.cancel_requested = (
        RunState.QUEUED,
        None,
        None,
        False,
    )
    await store.save_run(run)
    stored = await store.get_run("r1")
    assert stored is not None
    assert (stored.cancel_requested, stored.owner, stored.lease_expires_at) == (False, None, None)


async def test_claim_next_priority_then_age(store: SqliteRunStore) -> None:
    await store.insert_run(make_run("old-low", age=0))
    await store.insert_run(make_run("new-high", priority=5, age=10))
    await store.insert_run(make_run("old-high", priority=5, age=5))
    order = []
    while run := await store.claim_next("me", LEASE, 10, 10):
        assert run.state is RunState.STARTING
        assert (run.owner, run.lease_expires_at) == ("me", LEASE)
        assert await store.get_run(run.id) == run
        order.append(run.id)
    assert order == ["old-high", "new-high", "old-low"]


async def test_claim_next_limits(store: SqliteRunStore) -> None:
    for i in range(3):
        await store.insert_run(make_run(f"a{i}", repo="a", age=i))
    await store.insert_run(make_run("b0", repo="b", age=10))
    await store.insert_run(make_run("c0", repo="c", age=11))

    # Per-repo limit 1: a0, then repo a is full so b0, c0.
    claimed = [await store.claim_next("me", LEASE, 3, 1) for _ in range(4)]
    assert [r.id if r else None for r in claimed] == ["a0", "b0", "c0", None]

    # Global limit 3 reached even though repo-limit would allow more.
    assert await store.claim_next("me", LEASE, 3, 5) is None
    # Finished runs free their slot.
    a0 = await store.get_run("a0")
    assert a0 is not None
    a0.state = RunState.FINISHED
    await store.save_run(a0)
    run = await store.claim_next("me", LEASE, 3, 1)
    assert run is not None and run.id == "a1"


async def test_claim_next_only(store: SqliteRunStore) -> None:
    await store.insert_run(make_run("x", priority=9))
    await store.insert_run(make_run("y"))
    await store.insert_run(make_run("z"))
    assert await store.claim_next("me", LEASE, 5, 5, only=[]) is None
    run = await store.claim_next("me", LEASE, 5, 5, only=["z", "nope"])
    assert run is not None and run.id == "z"
    assert await store.claim_next("me", LEASE, 5, 5, only=["z"]) is None


async def test_two_stores_share_one_file(db_path: Path) -> None:
    one, two = SqliteRunStore(db_path), SqliteRunStore(db_path)
    await one.open()
    await two.open()
    try:
        for i in range(12):
            await one.insert_run(make_run(f"run{i:02d}", repo=f"r{i % 3}", age=i))
        first = await one.claim_next("one", LEASE, 100, 100)
        assert first is not None
        seen = await two.get_run(first.id)
        assert seen is not None and seen.owner == "one" and seen.state is RunState.STARTING

        results = await asyncio.gather(
            *((one if i % 2 else two).claim_next(f"e{i % 2}", LEASE, 100, 100) for i in range(20))
        )
        ids = [first.id] + [r.id for r in results if r is not None]
        assert len(ids) == len(set(ids)) == 12
        assert sum(r is None for r in results) == 9
        owners = {r.id: r.owner for r in await one.list_runs()}
        for r in results:
            if r is not None:
                assert owners[r.id] == r.owner

        # Limits hold across stores too: 12 active now, global limit 12.
        await one.insert_run(make_run("extra", age=99))
        assert await two.claim_next("e2", LEASE, 12, 100) is None
    finally:
        await one.close()
        await two.close()


async def test_events_roundtrip_and_last_seq(store: SqliteRunStore) -> None:
    events = [
        RunStateChanged(run_id="r1", seq=1, old=RunState.QUEUED, new=RunState.STARTING),
        AgentText(run_id="r1", seq=2, text="hello"),
        ToolCallRequested(run_id="r1", seq=3, call_id="c1", tool="bash", arguments={"c": "ls"}),
        TurnFinished(run_id="r1", seq=4, turn=1, ref="refs/x", sha="abc"),
        ErrorOccurred(run_id="r2", seq=1, message="bad", detail="trace"),
    ]
    await store.append_events(events)
    await store.append_events([])
    got = await store.events_for("r1")
    assert got == events[:4]
    assert [type(e) for e in got] == [type(e) for e in events[:4]]
    assert await store.events_for("r1", after_seq=2) == events[2:4]
    assert await store.last_seq("r1") == 4
    assert await store.last_seq("r2") == 1
    assert await store.last_seq("none") == 0

    # A duplicate seq rejects the whole batch.
    with pytest.raises(sqlite3.IntegrityError):
        await store.append_events(
            [AgentText(run_id="r1", seq=5, text="x"), AgentText(run_id="r1", seq=4, text="y")]
        )
    assert await store.last_seq("r1") == 4

    cursor, page = await store.follow_events(0, limit=3)
    assert page == events[:3]
    _, rest = await store.follow_events(cursor)
    assert rest == events[3:]

    # Following while skipping a run: its rows move the cursor but are not returned.
    last, followed = await store.follow_events(0, skip_runs=["r1"])
    assert followed == [e for e in events if e.run_id != "r1"]
    assert last == await store.last_event_id()
    assert await store.follow_events(last) == (last, [])


async def test_steering(store: SqliteRunStore) -> None:
    m1 = await store.add_steering("r1", "first")
    m2 = await store.add_steering("r1", "second")
    await store.add_steering("r2", "other")
    assert m1.id < m2.id
    assert await store.pending_steering("r1") == [m1, m2]
    at = T0 + timedelta(hours=1)
    await store.mark_delivered(m1.id, at)
    assert await store.pending_steering("r1") == [m2]
    con = sqlite3.connect(store.path)
    row = con.execute("SELECT delivered_at FROM steering WHERE id = ?", (m1.id,)).fetchone()
    con.close()
    assert datetime.fromisoformat(row[0]) == at


async def test_renew_leases_only_own_active_runs(store: SqliteRunStore) -> None:
    for rid, owner, state in [
        ("mine-run", "me", RunState.RUNNING),
        ("mine-wait", "me", RunState.WAITING_FOR_HUMAN),
        ("mine-done", "me", RunState.FINISHED),
        ("theirs", "them", RunState.RUNNING),
    ]:
        await store.insert_run(make_run(rid, state=state, owner=owner, lease_expires_at=LEASE))
    later = LEASE + timedelta(minutes=1)
    await store.renew_leases("me", later)
    leases = {r.id: r.lease_expires_at for r in await store.list_runs()}
    assert leases == {"mine-run": later, "mine-wait": later, "mine-done": LEASE, "theirs": LEASE}


async def test_request_cancel(store: SqliteRunStore) -> None:
    await store.insert_run(make_run("r1"))
    await store.insert_run(make_run("r2"))
    await store.request_cancel("r1")
    r1, r2 = await store.get_run("r1"), await store.get_run("r2")
    assert r1 is not None and r1.cancel_requested
    assert r2 is not None and not r2.cancel_requested


async def test_not_open_raises(db_path: Path) -> None:
    with pytest.raises(RuntimeError):
        await SqliteRunStore(db_path).get_run("x")


def test_split_statements_handles_strings_comments_and_triggers() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE TABLE t (x TEXT DEFAULT 'a;b');
    CREATE TRIGGER tr AFTER INSERT ON t BEGIN
        UPDATE t SET x = 'c;d';
    END;
    INSERT INTO t VALUES ('e') -- no trailing semicolon
    """
    parts = split_statements(script)
    assert len(parts) == 3
    con = sqlite3.connect(":memory:")
    for part in parts:
        con.execute(part)
    assert con.execute("SELECT x FROM t").fetchall() == [("c;d",)]


async def test_a_file_that_is_not_a_store_is_one_clear_error_and_is_left_alone(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cockpit.db"
    junk = b"not a sqlite file, say a half-copied backup\n" * 200
    path.write_bytes(junk)
    store = SqliteRunStore(path)
    with pytest.raises(StoreError, match="cannot be opened: file is not a database") as info:
        await store.open()
    assert str(path) in str(info.value) and "move it aside" in str(info.value)
    assert info.value.exit_code == 2
    assert path.read_bytes() == junk  # nothing written into it


async def test_save_run_with_events_numbers_them_after_the_last_in_one_transaction(
    store: SqliteRunStore,
) -> None:
    """A state change and its event are written together, the event numbered from the
    seq stored at that moment: an engine claiming the run cannot slip an event of its
    own with the same seq in between (seen as a UNIQUE failure on resume)."""
    run = make_run("r1")
    await store.insert_run(run)
    await store.append_events([AgentText(run_id="r1", seq=1, text="a")])
    run.state = RunState.QUEUED
    stored = await store.save_run_with_events(
        run, lambda last: [AgentText(run_id="r1", seq=last + 1, text="queued again")]
    )
    assert [e.seq for e in stored] == [2]
    again = await store.get_run("r1")
    assert again is not None and again.state is RunState.QUEUED
    assert [e.seq for e in await store.events_for("r1")] == [1, 2]
    with pytest.raises(UnknownRun):
        await store.save_run_with_events(make_run("nope"), lambda last: [])
