"""Helpers of the contract suite: they wait, read and check through an
:class:`EngineClient` only (never an engine, its store or git), so every transport
runs them the same."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Generator

import pytest

from cockpit.client import EngineClient, EventPage
from cockpit.client.daemon import connect_or_start
from cockpit.client.remote import SocketClient
from engine.domain.errors import CockpitError
from engine.domain.events import Event, HumanAsked, RunStateChanged
from engine.domain.models import Run
from engine.domain.state import TERMINAL, RunState
from engine.workspace import Workspace

#: The variable the workspace's ``keyed`` profile names, and the key it holds.
KEY_VARIABLE = "COCKPIT_CONTRACT_KEY"
KEY_VALUE = "contract-key-0123456789abcdef"

#: Seconds any wait of the suite may take before the test fails.
PATIENCE = 30.0

#: One file written: a run with work to review.
WRITE_HELLO = '[[step]]\nwrite = { path = "hello.txt", content = "hi from the agent\\n" }\n'
#: Three turns, three files: a.txt, b.txt, and an edit of the repo's README.md.
TWO_FILES_AND_AN_EDIT = (
    '[[step]]\nwrite = { path = "a.txt", content = "one\\ntwo\\nthree\\n" }\n'
    '[[step]]\nwrite = { path = "b.txt", content = "bee\\n" }\n'
    '[[step]]\nedit = { path = "README.md", old = "# app", new = "# app, improved" }\n'
)
#: A run that waits for the human until the test answers (or ends it).
ASK = '[[step]]\nask = "shall I go on?"\n[[step]]\nsay = "going on"\n'
#: Refused by a default rule, then a question keeps the run waiting while the human
#: overrides the rule, then the same command again.
ESCAPE_THEN_RETRY = (
    '[[step]]\nrun = "touch ../outside.txt"\n'
    '[[step]]\nask = "shall I try again?"\n'
    '[[step]]\nrun = "touch ../outside.txt"\n'
)


def chatter(before: int, after: int) -> str:
    """A run that streams ``before`` lines, asks the human, then streams ``after`` more
    (a run still producing events while a client comes and goes)."""
    return (
        f'[[step]]\nstream = {{ text = "before", count = {before}, interval = 0 }}\n'
        '[[step]]\nask = "carry on?"\n'
        f'[[step]]\nstream = {{ text = "after", count = {after}, interval = 0.005 }}\n'
        '[[step]]\nwrite = { path = "done.txt", content = "done\\n" }\n'
    )


@contextlib.asynccontextmanager
async def detached_engine(workspace: Workspace) -> AsyncGenerator[SocketClient]:
    """The workspace's detached engine, started as a command would, and a client of it;
    stopped when the block ends (the conftest's autouse fixture stops whatever is left
    under tmp_path)."""
    client = await connect_or_start(workspace)
    try:
        yield client
    finally:
        with contextlib.suppress(CockpitError):
            await client.stop_engine()
        await client.close()


@contextlib.contextmanager
def refused(kind: type[CockpitError], exit_code: int, match: str | None = None) -> Generator[None]:
    """The block raises ``kind`` (its message matching ``match``) carrying ``exit_code``."""
    with pytest.raises(kind, match=match) as caught:
        yield
    assert type(caught.value).exit_code == exit_code
    assert caught.value.exit_code == exit_code


async def settle(
    client: EngineClient, run_id: str, *states: RunState, timeout: float = PATIENCE
) -> Run:
    """The run once it is in one of ``states`` (any terminal state when none given)."""
    wanted = set(states or TERMINAL)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        run = await client.get_run(run_id)
        assert run is not None, f"run {run_id} is gone"
        if run.state in wanted:
            return run
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"run {run_id} stuck in {run.state.value}, wanted {wanted}")
        await asyncio.sleep(0.02)


async def finished(client: EngineClient, run_id: str) -> Run:
    """The run once it ended, which must be as finished."""
    run = await settle(client, run_id)
    assert run.state is RunState.FINISHED, (run.state, run.error)
    return run


async def run_to_end(
    client: EngineClient, path: str, repo: str = "app", task: str = "contract work"
) -> Run:
    """Submit a run of the scenario at ``path`` and wait until it finished."""
    run = await client.submit(repo, task, "scripted", path)
    return await finished(client, run.id)


async def asked(client: EngineClient, run_id: str, nth: int = 1) -> HumanAsked:
    """The run's ``nth`` question, once the run waits on it."""
    deadline = asyncio.get_running_loop().time() + PATIENCE
    while True:
        run = await settle(client, run_id, RunState.WAITING_FOR_HUMAN, *TERMINAL)
        assert run.state is RunState.WAITING_FOR_HUMAN, (run.state, run.error)
        questions = [e for e in await client.events(run_id) if isinstance(e, HumanAsked)]
        if len(questions) >= nth:
            return questions[nth - 1]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"run {run_id} never asked question {nth}")
        await asyncio.sleep(0.02)


async def next_page(client: EngineClient, after_id: int) -> EventPage:
    """The first page a new subscription from ``after_id`` gives; the subscription is
    then closed (a client that went away)."""
    stream = client.subscribe(after_id)
    try:
        async with asyncio.timeout(PATIENCE):
            return await anext(stream)
    finally:
        await close(stream)


async def take(stream: AsyncIterator[Event], count: int) -> list[Event]:
    """The next ``count`` events of a stream, or fewer when it ends first."""
    got: list[Event] = []
    async with asyncio.timeout(PATIENCE):
        while len(got) < count:
            try:
                got.append(await anext(stream))
            except StopAsyncIteration:
                break
    return got


async def close(stream: AsyncIterator[object]) -> None:
    """Close a stream the test stops reading (async generators have ``aclose``)."""
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


async def read_run(client: EngineClient, run_id: str, after_seq: int = 0) -> list[Event]:
    """Everything ``run_events`` gives, to its end."""
    async with asyncio.timeout(PATIENCE):
        return [event async for event in client.run_events(run_id, after_seq)]


async def all_events(client: EngineClient) -> list[Event]:
    """Every run's stored events in the order they were stored (paged through
    ``follow_events``)."""
    cursor, stored = 0, []
    while True:
        cursor, page = await client.follow_events(cursor, 50)
        if not page:
            return stored
        stored += page


def keys(events: list[Event]) -> list[tuple[str, int]]:
    """Each event's identity: its run and its seq."""
    return [(event.run_id, event.seq) for event in events]


def ended_as(events: list[Event], run_id: str) -> RunState | None:
    """The state the run's last state change in ``events`` took it to (None if none)."""
    states = [e.new for e in events if isinstance(e, RunStateChanged) and e.run_id == run_id]
    return states[-1] if states else None
