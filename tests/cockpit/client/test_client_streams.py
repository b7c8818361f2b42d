"""The contract of a client's reads of events: one run's (``events``, ``events_tail``,
``last_seq``, ``run_events``) and every run's (``last_event_id``, ``follow_events``,
``subscribe``). Resuming a stream from any seq or id yields exactly what was stored
after it: nothing missed, nothing twice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from clientkit import (
    ASK,
    PATIENCE,
    WRITE_HELLO,
    all_events,
    asked,
    chatter,
    close,
    ended_as,
    finished,
    keys,
    next_page,
    read_run,
    refused,
    run_to_end,
    take,
)

from cockpit.client import EngineClient
from engine.domain.errors import UnknownRun
from engine.domain.events import AgentText, Event, HumanAsked, RunStateChanged
from engine.domain.state import RunState

Scenario = Callable[[str], str]

#: Several turns of several events each.
BUSY = (
    '[[step]]\nsay = "looking around"\n'
    '[[step]]\nstream = { text = "line", count = 5, interval = 0 }\n' + WRITE_HELLO
)


async def test_events_of_a_run_are_dense_and_read_from_any_seq(
    client: EngineClient, scenario: Scenario
) -> None:
    run = await run_to_end(client, scenario(BUSY))
    full = await client.events(run.id)
    n = len(full)
    assert n >= 10
    assert [e.run_id for e in full] == [run.id] * n
    assert [e.seq for e in full] == list(range(1, n + 1))
    assert ended_as(full, run.id) is RunState.FINISHED
    for after in (0, 1, n // 2, n - 1, n, n + 5):
        assert await client.events(run.id, after) == full[after:]


async def test_events_tail_and_last_seq(client: EngineClient, scenario: Scenario) -> None:
    run = await run_to_end(client, scenario(BUSY))
    full = await client.events(run.id)
    n = len(full)
    assert await client.last_seq(run.id) == n == full[-1].seq
    assert await client.last_seq("ffffffff") == 0
    assert await client.events_tail(run.id, 3) == full[-3:]
    assert await client.events_tail(run.id, n + 10) == full
    # Paging back from a seq: the ``limit`` events before it.
    assert await client.events_tail(run.id, 3, before_seq=n // 2) == full[n // 2 - 4 : n // 2 - 1]
    assert await client.events_tail(run.id, 5, before_seq=3) == full[:2]
    assert await client.events_tail(run.id, 5, before_seq=1) == []


async def test_last_event_id_and_follow_events_page_every_run(
    client: EngineClient, scenario: Scenario
) -> None:
    assert await client.last_event_id() == 0  # a new workspace
    assert await client.follow_events(0) == (0, [])
    first = await run_to_end(client, scenario(WRITE_HELLO), task="first")
    second = await run_to_end(client, scenario(BUSY), repo="lib", task="second")
    stored = await all_events(client)
    total = len(await client.events(first.id)) + len(await client.events(second.id))
    assert len(stored) == total
    assert sorted(keys(stored)) == sorted(
        keys(await client.events(first.id)) + keys(await client.events(second.id))
    )
    # One page at a time: ids grow, pages join with no gap and no repeat.
    last = await client.last_event_id()
    cursor, paged = 0, []
    while cursor < last:
        new_cursor, page = await client.follow_events(cursor, 4)
        assert new_cursor > cursor and 1 <= len(page) <= 4
        cursor, paged = new_cursor, paged + page
    assert cursor == last and paged == stored
    assert await client.follow_events(last) == (last, [])
    # Events of the runs skipped are left out, and the cursor moves past them all the same.
    cursor, page = await client.follow_events(0, 10_000, skip_runs={first.id})
    assert cursor == last
    assert page == [e for e in stored if e.run_id == second.id]


async def test_run_events_streams_a_run_as_it_goes_and_ends_when_it_finishes(
    client: EngineClient, scenario: Scenario
) -> None:
    run = await client.submit("app", "busy", "scripted", scenario(BUSY))
    streamed = await read_run(client, run.id)  # from its first event, while it runs
    done = await client.get_run(run.id)
    assert done is not None and done.state is RunState.FINISHED
    assert streamed == await client.events(run.id)
    assert [e.seq for e in streamed] == list(range(1, len(streamed) + 1))
    assert ended_as(streamed, run.id) is RunState.FINISHED
    # Resumed after any seq of a finished run: exactly the rest, then the end.
    n = len(streamed)
    for after in (1, n // 2, n - 1, n):
        assert await read_run(client, run.id, after) == streamed[after:]


async def test_run_events_resumed_mid_run_miss_nothing_and_repeat_nothing(
    client: EngineClient, scenario: Scenario
) -> None:
    run = await client.submit("app", "chatter", "scripted", scenario(chatter(5, 40)))
    seen: list[Event] = []
    stream = client.run_events(run.id)
    try:
        async with asyncio.timeout(PATIENCE):
            async for event in stream:  # a client reading until the run asks, then gone
                seen.append(event)
                if isinstance(event, HumanAsked):
                    break
    finally:
        await close(stream)
    await client.steer(run.id, "yes")
    # Back while the run streams its second half: from the last seq it saw, in slices.
    while True:
        stream = client.run_events(run.id, seen[-1].seq)
        try:
            got = await take(stream, 7)
        finally:
            await close(stream)
        seen += got
        if len(got) < 7:
            break
    await finished(client, run.id)
    seen += await read_run(client, run.id, seen[-1].seq)
    assert seen == await client.events(run.id)
    assert [e.seq for e in seen] == list(range(1, len(seen) + 1))
    assert sum(isinstance(e, AgentText) and e.text.startswith("after") for e in seen) == 40


async def test_run_events_wait_while_the_run_waits_for_the_human(
    client: EngineClient, scenario: Scenario
) -> None:
    run = await client.submit("app", "ask", "scripted", scenario(ASK))
    await asked(client, run.id)
    reading = asyncio.create_task(read_run(client, run.id))  # the run waits: so does it
    await client.steer(run.id, "go on")
    streamed = await reading
    assert ended_as(streamed, run.id) is RunState.FINISHED
    assert streamed == await client.events(run.id)


async def test_run_events_of_an_unknown_run_raise_unknown_run(client: EngineClient) -> None:
    with refused(UnknownRun, 2, "zzzzzzzz"):
        await read_run(client, "zzzzzzzz")


async def test_subscribe_resumed_after_any_page_misses_nothing_and_repeats_nothing(
    client: EngineClient, scenario: Scenario
) -> None:
    quiet = await run_to_end(client, scenario(WRITE_HELLO), task="before")
    run = await client.submit("app", "chatter", "scripted", scenario(chatter(5, 60)))
    # A client that takes one page, goes away, and comes back from that page's last_id,
    # over and over while the run produces events (and answers its question).
    seen: list[Event] = []
    marks: list[tuple[int, int]] = []  # (last_id, events seen up to it)
    cursor, answered = 0, False
    while ended_as(seen, run.id) not in (RunState.FINISHED, RunState.FAILED):
        page = await next_page(client, cursor)
        assert page.events and page.last_id > cursor
        seen += page.events
        cursor = page.last_id
        marks.append((cursor, len(seen)))
        if not answered and any(isinstance(e, HumanAsked) for e in page.events):
            await client.steer(run.id, "yes")
            answered = True
    assert answered and ended_as(seen, run.id) is RunState.FINISHED
    while cursor < await client.last_event_id():  # anything stored after its end
        page = await next_page(client, cursor)
        seen += page.events
        cursor = page.last_id
    stored = await all_events(client)
    assert keys(seen) == keys(stored)  # no gap, no repeat, in the order stored
    assert seen == stored
    assert len(set(keys(seen))) == len(seen)
    assert {e.run_id for e in seen} == {quiet.id, run.id}
    assert len(marks) >= 3
    # From any page's last_id, a new subscription starts exactly after it.
    for last_id, count in marks[:-1]:
        page = await next_page(client, last_id)
        assert page.events == stored[count : count + len(page.events)]


async def pages_until_run(client: EngineClient, after_id: int) -> tuple[int, list[Event]]:
    """Pages of a subscription from ``after_id`` until one holds a run's first event
    (a new run); the last page's id and every event read."""
    got: list[Event] = []
    stream = client.subscribe(after_id)
    try:
        async with asyncio.timeout(PATIENCE):
            async for page in stream:
                got += page.events
                if any(e.seq == 1 for e in page.events):
                    return page.last_id, got
    finally:
        await close(stream)
    raise AssertionError("no page came")


async def test_subscribe_from_the_newest_id_waits_for_what_comes_next(
    client: EngineClient, scenario: Scenario
) -> None:
    await run_to_end(client, scenario(WRITE_HELLO), task="before")
    newest = await client.last_event_id()
    assert newest > 0
    waiting = asyncio.create_task(pages_until_run(client, newest))
    run = await client.submit("app", "after", "scripted", scenario(ASK))
    last_id, got = await waiting
    # Exactly what was stored after `newest`, in order (the run before may still have
    # stored a last event or two after it read as finished: those count).
    _, stored = await client.follow_events(newest, 10_000)
    assert got == stored[: len(got)]
    mine = [e for e in got if e.run_id == run.id]
    first = mine[0]
    assert (first.run_id, first.seq) == (run.id, 1)
    assert isinstance(first, RunStateChanged) and first.new is RunState.QUEUED
    assert last_id > newest
    await asked(client, run.id)
    await client.cancel(run.id)


async def test_run_events_of_an_id_prefix_are_the_runs_or_an_unknown_run(
    client: EngineClient, scenario: Scenario
) -> None:
    run = await run_to_end(client, scenario(WRITE_HELLO))
    full = await client.events(run.id)
    try:
        streamed = await read_run(client, run.id[:6])
    except UnknownRun as exc:
        assert exc.exit_code == 2
    else:
        assert streamed == full, f"run_events({run.id[:6]!r}) gave {len(streamed)} events"
