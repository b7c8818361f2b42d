"""The connection the ``cockpit`` command opens to its engine as it starts
(:func:`cockpit.client.early.open_early`), and the session's client taking it over
(:meth:`cockpit.client.remote.SocketClient.adopt`), against a real detached engine
(``cockpit engine start --foreground``, started as a command would; the root conftest
stops it when the test ends).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from clientkit import PATIENCE, detached_engine, next_page, settle

from builders import NOOP_SCENARIO, alive
from cockpit.client import early
from cockpit.client.early import EarlyLink, open_early
from cockpit.client.remote import SocketClient
from engine.domain.errors import BadInput, EngineUnavailable
from engine.rpc import wire
from engine.rpc.address import connect_path
from engine.workspace import Workspace, open_workspace


def open_sockets() -> int:
    """Sockets this process holds open now."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    return count


class Asker:
    """An ``ask`` for :func:`open_early` that records the links it was given and asks
    the repos (as the cockpit's own does first), then sends ``sends``."""

    def __init__(self, *sends: tuple[str, dict]) -> None:
        self.sends = sends
        self.links: list[EarlyLink] = []
        self.repos: dict[str, str] | None = None

    def __call__(self, link: EarlyLink) -> None:
        self.links.append(link)
        self.repos = link.call("repos", {})
        for method, params in self.sends:
            link.send(method, params)


async def others_attached(engine: SocketClient, count: int) -> None:
    """Wait until the engine counts ``count`` clients besides ``engine``."""
    deadline = asyncio.get_running_loop().time() + PATIENCE
    while (clients := (await engine.status())["clients"]) != count:
        assert asyncio.get_running_loop().time() < deadline, f"{clients} clients, not {count}"
        await asyncio.sleep(0.02)


def answer_waiting(link: EarlyLink) -> None:
    """Wait until the engine's answer to what ``link`` sent is on the socket (so the
    engine computed it), without reading a byte of it."""
    readable, _, _ = select.select([link.sock], [], [], PATIENCE)
    assert readable, "the engine never answered"


@pytest.fixture
def ws(workspace_root: Path) -> Workspace:
    """The test workspace (repos ``app`` and ``lib``), opened."""
    return open_workspace(workspace_root)


@pytest.fixture
async def engine(ws: Workspace) -> AsyncIterator[SocketClient]:
    """The workspace's detached engine, started; a client of its own (the test's eyes)."""
    async with detached_engine(ws) as client:
        yield client


@pytest.fixture
def noop(write_scenario: Callable[..., str]) -> str:
    """A scenario that says one line and ends."""
    return write_scenario(NOOP_SCENARIO, "noop.toml")


# --- no engine to link to ----------------------------------------------------------------
def assert_no_link(ws: Workspace) -> None:
    """``open_early`` gives None, never calls ``ask``, and leaves no socket open."""
    asker = Asker()
    before = open_sockets()
    assert open_early(ws.state_dir, asker) is None
    assert asker.links == []
    assert open_sockets() == before


def test_no_engine_running_gives_no_link_and_opens_nothing(ws: Workspace) -> None:
    """Nothing listens in the workspace: None, ``ask`` is never called, no socket left."""
    assert_no_link(ws)


async def test_the_socket_of_a_killed_engine_gives_no_link(
    ws: Workspace, engine: SocketClient
) -> None:
    """An engine killed with -9 leaves its socket file: connecting is refused, so None
    (the usual way then starts an engine), and the socket tried is closed."""
    pid = int((await engine.status())["pid"])
    os.kill(pid, signal.SIGKILL)
    deadline = asyncio.get_running_loop().time() + PATIENCE
    while alive(pid):
        assert asyncio.get_running_loop().time() < deadline, "the engine outlived SIGKILL"
        await asyncio.sleep(0.02)
    assert connect_path(ws.state_dir) is not None, "no stale socket file to try"
    assert_no_link(ws)


async def test_an_engine_that_never_answers_hello_gives_no_link(
    ws: Workspace, engine: SocketClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hung engine (stopped: the kernel accepts, nobody answers) costs HELLO_TIMEOUT,
    then None with the socket closed; the engine, going on, serves as ever."""
    monkeypatch.setattr(early, "HELLO_TIMEOUT", 0.3)
    pid = int((await engine.status())["pid"])
    os.kill(pid, signal.SIGSTOP)
    try:
        assert_no_link(ws)
    finally:
        os.kill(pid, signal.SIGCONT)
    await others_attached(engine, 0)


# --- the handshake and the first reads ----------------------------------------------------


async def test_hello_is_answered_by_the_engine_and_a_call_waits_for_its_answer(
    ws: Workspace, engine: SocketClient, workspace_root: Path
) -> None:
    """``info`` is the engine's hello (this protocol, its pid); ``call`` returns the
    answer and records it for the client that adopts the link."""
    asker = Asker()
    link = open_early(ws.state_dir, asker)
    assert link is not None
    try:
        assert asker.links == [link]
        status = await engine.status()
        assert link.info["protocol"] == wire.PROTOCOL
        assert link.info["pid"] == status["pid"]
        repos = workspace_root.parent / "repos"
        assert asker.repos is not None
        assert {name: Path(path) for name, path in asker.repos.items()} == {
            "app": (repos / "app").resolve(),
            "lib": (repos / "lib").resolve(),
        }
        assert link.answered == [("repos", {}, asker.repos)]
        assert link.asked == {}
        assert link.next_id == 3  # hello was 1, repos 2
        await others_attached(engine, 1)
    finally:
        link.close()
    await others_attached(engine, 0)


async def test_a_client_of_another_protocol_is_refused_at_hello(
    ws: Workspace, engine: SocketClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An engine of another protocol answers hello with an error: raised as BadInput
    (exit code 2, one line), ``ask`` never called, the socket closed."""
    monkeypatch.setattr(wire, "PROTOCOL", wire.PROTOCOL + 1)
    asker = Asker()
    before = open_sockets()
    with pytest.raises(BadInput, match="protocol mismatch") as caught:
        open_early(ws.state_dir, asker)
    assert caught.value.exit_code == 2
    assert "\n" not in str(caught.value).strip()
    assert asker.links == []
    assert open_sockets() == before
    await others_attached(engine, 0)


async def test_an_ask_failing_on_the_socket_gives_no_link(
    ws: Workspace, engine: SocketClient
) -> None:
    """``ask`` breaking on the connection (an OSError) is "no engine answers": None and
    the socket closed (the engine sees the client go)."""
    asked: list[EarlyLink] = []

    def broken(link: EarlyLink) -> None:
        asked.append(link)
        link.call("repos", {})
        raise ConnectionResetError("the engine hung up")

    before = open_sockets()
    assert open_early(ws.state_dir, broken) is None
    assert len(asked) == 1 and asked[0].sock.fileno() == -1
    assert open_sockets() == before
    await others_attached(engine, 0)


async def test_a_mistake_in_ask_is_raised_and_the_socket_closed(
    ws: Workspace, engine: SocketClient
) -> None:
    """A ``call`` after a ``send`` would cross the answers: refused, raised as is (a
    mistake, not a missing engine), and the socket is closed all the same."""

    def crossing(link: EarlyLink) -> None:
        link.send("list_runs", {})
        link.call("repos", {})

    before = open_sockets()
    with pytest.raises(RuntimeError, match="answers would cross"):
        open_early(ws.state_dir, crossing)
    assert open_sockets() == before
    await others_attached(engine, 0)


# --- the client taking the link over ------------------------------------------------------


async def test_the_early_answer_goes_to_the_first_identical_request_only(
    ws: Workspace, engine: SocketClient, noop: str
) -> None:
    """The snapshot sent early is computed before a run is submitted: the client's
    first identical request gets that answer (no run), a later identical one and one
    with other params are asked of the engine (the run is there)."""
    asker = Asker(("snapshot", {"tail": 5, "runs": 5}))
    link = open_early(ws.state_dir, asker)
    assert link is not None
    answer_waiting(link)  # the snapshot exists: nothing submitted now is in it
    run = await engine.submit("app", "after the snapshot", "scripted", noop)
    client = await SocketClient.adopt(link)
    try:
        assert client.engine_info == link.info
        async with asyncio.timeout(PATIENCE):
            other = await client.snapshot(5, 4)
            first = await client.snapshot(5, 5)
            again = await client.snapshot(5, 5)
        assert [r.id for r in other.runs] == [run.id]
        assert (first.runs, first.tails, first.last_event_id) == ([], {}, 0)
        assert [r.id for r in again.runs] == [run.id]
        assert set(again.tails) == {run.id}
        # The repos asked early: the first repos() takes that answer, the next asks.
        assert asker.repos is not None
        early_repos = {name: Path(path) for name, path in asker.repos.items()}
        assert await client.repos() == early_repos
        assert await client.repos() == early_repos
    finally:
        await client.close()


async def test_requests_made_before_the_early_answers_are_taken_get_their_own(
    ws: Workspace, engine: SocketClient, noop: str
) -> None:
    """The client's request ids continue after the link's: requests made while the
    early answers are still on their way are answered apart from them (were the ids to
    start over, the engine's answers would land on the wrong requests)."""
    done = await settle(engine, (await engine.submit("app", "one", "scripted", noop)).id)
    sent = [
        ("snapshot", {"tail": 3, "runs": 1}),
        ("list_runs", {}),
        ("last_event_id", {}),
        ("events_tail", {"run_id": done.id, "limit": 2, "before_seq": None}),
    ]
    link = open_early(ws.state_dir, Asker(*sent))
    assert link is not None
    assert sorted(link.asked) == [3, 4, 5, 6]
    client = await SocketClient.adopt(link)
    try:
        async with asyncio.timeout(PATIENCE):
            # Other params first (ids 7…, or 1… were the counter to start over).
            tails = await asyncio.gather(*(client.events_tail(done.id, n) for n in (1, 2, 3)))
            latest, snapshot, runs, tail = await asyncio.gather(
                client.last_event_id(),
                client.snapshot(3, 1),
                client.list_runs(),
                client.events_tail(done.id, 2),
            )
        stored = await engine.events(done.id)
        assert [[e.seq for e in t] for t in tails] == [
            [e.seq for e in stored[-n:]] for n in (1, 2, 3)
        ]
        assert latest == await engine.last_event_id()
        assert [r.id for r in runs] == [done.id]
        assert set(snapshot.tails) == {done.id}
        assert [e.seq for e in snapshot.tails[done.id]] == [e.seq for e in stored[-3:]]
        assert [e.seq for e in tail] == [e.seq for e in stored[-2:]]
    finally:
        await client.close()


async def test_the_adopted_client_works_on_and_closes(
    ws: Workspace, engine: SocketClient, noop: str
) -> None:
    """Once the early answers are taken the client is an ordinary one: it submits,
    lists, subscribes; ``close`` ends the connection (the engine sees it go)."""
    link = open_early(ws.state_dir, Asker(("list_runs", {})))
    assert link is not None
    client = await SocketClient.adopt(link)
    closed = False
    try:
        assert await client.list_runs() == []  # the early answer
        run = await client.submit("app", "from the adopted client", "scripted", noop)
        finished = await settle(client, run.id)
        assert [r.id for r in await client.list_runs()] == [run.id]
        page = await next_page(client, 0)
        assert page.events and {e.run_id for e in page.events} == {run.id}
        assert page.last_id > 0
        await others_attached(engine, 1)
        await client.close()
        closed = True
        assert client.closed
        with pytest.raises(EngineUnavailable):
            await client.get_run(finished.id)
        await others_attached(engine, 0)
    finally:
        if not closed:
            await client.close()
