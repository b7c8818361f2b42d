"""The engine's socket server (issue 15), on a real engine and a real Unix socket: the
handshake and its errors, bad lines, and the bounded outbox of a client that stops
reading (told to resync; the engine and the other clients never wait for it).

The engine runs in the test's process (``open_engine`` and its scheduler in a task) with
an :class:`EngineServer` on a socket in ``tmp_path``: these cases need a small
``queue_limit`` or raw access to the protocol. Clients are raw connections speaking
JSON lines, or the real :class:`SocketClient`.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cockpit.client.remote import SocketClient
from engine.bootstrap import open_engine
from engine.domain.errors import BadInput
from engine.domain.events import Event, RunStateChanged
from engine.domain.models import Run
from engine.domain.state import TERMINAL, RunState
from engine.rpc import wire
from engine.rpc.server import QUEUE_LIMIT, EngineServer
from engine.services.engine import Engine, EngineOptions
from engine.workspace import open_workspace

#: Seconds any wait of this module may take before the test fails.
PATIENCE = 30.0
#: A small bound: a client that stops reading overflows it quickly.
SMALL_QUEUE = 4

#: A run that produces a megabyte of events in a few seconds, a few at a time (so in
#: many pages).
FLOOD = (
    '[[step]]\nstream = { text = "' + "flood " * 80 + '", count = 2000, interval = 0.001 }\n'
    '[[step]]\nsay = "flood over"\n'
)


@dataclass
class Served:
    engine: Engine
    server: EngineServer
    path: Path

    async def submit(self, scenario: str) -> Run:
        return await self.engine.submit("app", "rpc work", "scripted", scenario)

    async def ended(self, run_id: str) -> Run:
        """The run once it has ended (it must have finished)."""
        deadline = time.monotonic() + PATIENCE
        while True:
            run = await self.engine.get_run(run_id)
            assert run is not None
            if run.state in TERMINAL:
                assert run.state is RunState.FINISHED, (run.state, run.error)
                return run
            assert time.monotonic() < deadline, f"run {run_id} stuck in {run.state.value}"
            await asyncio.sleep(0.02)

    async def stored_after(self, after_id: int) -> list[Event]:
        """Every event stored after ``after_id``, in the store's order."""
        stored: list[Event] = []
        while True:
            after_id, page = await self.engine.follow_events(after_id, 1000)
            if not page:
                return stored
            stored += page


async def _serve(workspace_root: Path, tmp_path: Path, queue_limit: int) -> AsyncIterator[Served]:
    workspace = open_workspace(workspace_root)
    async with open_engine(workspace, EngineOptions(poll_interval=0.1)) as engine:
        executing = asyncio.create_task(engine.run())

        async def status() -> dict[str, Any]:
            return {"engine": True, "pid": os.getpid(), "protocol": wire.PROTOCOL}

        server = EngineServer(engine, status, engine.request_stop, queue_limit=queue_limit)
        path = tmp_path / "engine.sock"
        await server.start(path)
        try:
            yield Served(engine, server, path)
        finally:
            await server.close()
            engine.request_stop()
            await executing


@pytest.fixture
async def served(workspace_root: Path, tmp_path: Path) -> AsyncIterator[Served]:
    """A real engine executing runs, served on a socket with the default bound."""
    async for it in _serve(workspace_root, tmp_path, QUEUE_LIMIT):
        yield it


@pytest.fixture
async def small(workspace_root: Path, tmp_path: Path) -> AsyncIterator[Served]:
    """The same with a bound of :data:`SMALL_QUEUE` pages per client."""
    async for it in _serve(workspace_root, tmp_path, SMALL_QUEUE):
        yield it


class Raw:
    """A connection speaking the protocol by hand, one JSON line at a time, on a plain
    socket: nothing reads from it until the test asks (an asyncio stream would read
    ahead into memory, and never stall)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = b""

    @classmethod
    async def open(cls, path: Path) -> Raw:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, str(path))
        return cls(sock)

    async def send(self, msg_id: int | None, method: str, **params: Any) -> None:
        await self.send_line(wire.request(msg_id, method, params))

    async def send_line(self, line: bytes) -> None:
        await asyncio.get_running_loop().sock_sendall(self.sock, line)

    async def read(self, timeout: float = PATIENCE) -> dict[str, Any] | None:
        """The next message (None: the engine closed the connection)."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            while b"\n" not in self._buffer:
                chunk = await loop.sock_recv(self.sock, 1 << 20)
                if not chunk:
                    return None
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        msg = json.loads(line)
        assert msg["jsonrpc"] == "2.0", msg
        return msg

    async def call(self, msg_id: int, method: str, **params: Any) -> dict[str, Any]:
        """Send a request and read its response (the next message, on a quiet line)."""
        await self.send(msg_id, method, **params)
        msg = await self.read()
        assert msg is not None, f"closed instead of answering {method}"
        assert msg.get("id") == msg_id, msg
        return msg

    async def hello(self) -> dict[str, Any]:
        answer = await self.call(0, "hello", protocol=wire.PROTOCOL, client="test")
        assert "result" in answer, answer
        return answer["result"]

    async def close(self) -> None:
        self.sock.close()


def keys(events: list[Event]) -> list[tuple[str, int]]:
    return [(e.run_id, e.seq) for e in events]


def ends(events: list[Event], run_id: str) -> bool:
    """Whether ``events`` hold the run's move to a terminal state."""
    return any(
        isinstance(e, RunStateChanged) and e.run_id == run_id and e.new in TERMINAL for e in events
    )


# --- the handshake ---------------------------------------------------------------------


async def test_a_client_of_another_protocol_gets_one_clear_line(served: Served) -> None:
    theirs = wire.PROTOCOL + 1
    with pytest.raises(BadInput) as caught:
        await SocketClient.connect(served.path, protocol=theirs)
    text = str(caught.value)
    assert "\n" not in text.strip(), text
    assert f"protocol {wire.PROTOCOL}" in text, text
    assert str(theirs) in text.replace(f"protocol {wire.PROTOCOL}", ""), text
    assert caught.value.exit_code == 2

    raw = await Raw.open(served.path)
    try:
        answer = await raw.call(7, "hello", protocol=theirs)
        assert "result" not in answer
        assert answer["error"]["code"] == wire.PROTOCOL_MISMATCH, answer
        assert await raw.read(5) is None, "the connection stayed open"
    finally:
        await raw.close()

    # Clients of this protocol are served as ever.
    client = await SocketClient.connect(served.path)
    try:
        assert client.engine_info["protocol"] == wire.PROTOCOL
        assert await client.list_runs() == []
    finally:
        await client.close()


async def test_requests_before_hello_are_refused(served: Served) -> None:
    raw = await Raw.open(served.path)
    try:
        for n, (method, params) in enumerate(
            [("list_runs", {}), ("subscribe", {"after_id": 0}), ("get_run", {"run_id": "x"})],
            start=1,
        ):
            answer = await raw.call(n, method, **params)
            assert "result" not in answer, answer
            assert answer["error"]["code"] == wire.NO_HELLO, answer
        # Still open: hello, and then the same request is answered.
        assert (await raw.hello())["protocol"] == wire.PROTOCOL
        answer = await raw.call(9, "list_runs")
        assert answer.get("result") == [], answer
    finally:
        await raw.close()


async def test_a_garbage_line_is_answered_and_the_connection_serves_on(served: Served) -> None:
    raw = await Raw.open(served.path)
    try:
        await raw.hello()
        await raw.send_line(b"this is {not json\n")
        answer = await raw.read()
        assert answer is not None, "closed after a garbage line"
        assert answer["error"]["code"] == wire.PARSE_ERROR, answer
        assert answer["id"] is None
        await raw.send_line(b"[1, 2, 3]\n")
        answer = await raw.read()
        assert answer is not None
        assert answer["error"]["code"] == wire.INVALID_REQUEST, answer
        answer = await raw.call(3, "no_such_method")
        assert answer["error"]["code"] == wire.METHOD_NOT_FOUND, answer
        answer = await raw.call(4, "list_runs")
        assert answer.get("result") == [], answer
    finally:
        await raw.close()


# --- a client that stops reading -------------------------------------------------------


async def _watch(client: SocketClient, after_id: int, run_id: str) -> tuple[list[Event], float]:
    """Every event a subscription from ``after_id`` gives until the run ends, and the
    wall-clock time the end arrived."""
    got: list[Event] = []
    async with asyncio.timeout(PATIENCE * 2):
        async for page in client.subscribe(after_id):
            got += page.events
            if ends(page.events, run_id):
                return got, time.time()
    raise AssertionError("the subscription ended")


async def _timed_run(served: Served, client: SocketClient, scenario: str) -> tuple[Run, float]:
    """Run the scenario watched by ``client``: the run and how long it took."""
    after = await served.engine.last_event_id()
    run = await served.submit(scenario)
    watched, arrived = await _watch(client, after, run.id)
    run = await served.ended(run.id)
    assert keys(watched) == keys(await served.stored_after(after))
    assert run.started_at is not None and run.finished_at is not None
    assert arrived - run.finished_at.timestamp() < 5, "the end reached the client late"
    return run, (run.finished_at - run.started_at).total_seconds()


async def test_a_client_that_never_reads_is_told_to_resync(small: Served, write_scenario) -> None:
    scenario = write_scenario(FLOOD)
    watcher = await SocketClient.connect(small.path)
    stalled = await Raw.open(small.path)
    try:
        # How long the run takes with only a reading client.
        _, alone = await _timed_run(small, watcher, scenario)

        # A client subscribes, then never reads while the same run floods it.
        await stalled.hello()
        start_after = await small.engine.last_event_id()
        answer = await stalled.call(1, "subscribe", after_id=start_after)
        sub = answer["result"]["subscription"]
        run, stalled_took = await _timed_run(small, watcher, scenario)
        # The engine finished the run and the other client had every event promptly
        # (checked in _timed_run) while this one read nothing.
        assert stalled_took < 3 * alone + 5, (stalled_took, alone)

        # When it reads at last: the pages that were queued, then resync with the id to
        # subscribe again after.
        before: list[Event] = []
        last_id = start_after
        while True:
            msg = await stalled.read()
            assert msg is not None, "closed"
            assert msg.get("method") in (wire.EVENTS, wire.RESYNC), msg
            assert msg["params"]["subscription"] == sub, msg
            if msg["method"] == wire.RESYNC:
                resync = msg["params"]
                break
            before += wire.decode_events(msg["params"]["events"])
            last_id = msg["params"]["last_id"]
        assert resync["after_id"] == last_id, (resync, last_id)
        stored = await small.stored_after(start_after)
        assert len(before) < len(stored), "everything fit: nothing was bounded"
        # Nothing of that subscription follows its resync.
        with pytest.raises(TimeoutError):
            await stalled.read(1)

        # Subscribing again after the id it was given yields the rest: no gap, no dup.
        answer = await stalled.call(2, "subscribe", after_id=resync["after_id"])
        again = answer["result"]["subscription"]
        after: list[Event] = []
        while not ends(after, run.id):
            msg = await stalled.read()
            assert msg is not None and msg["method"] == wire.EVENTS, msg
            assert msg["params"]["subscription"] == again
            after += wire.decode_events(msg["params"]["events"])
        assert keys(before + after) == keys(stored)
    finally:
        await stalled.close()
        await watcher.close()


class CountingClient(SocketClient):
    """A :class:`SocketClient` that counts its ``subscribe`` requests."""

    subscribes = 0

    async def request(self, method: str, **params: Any) -> Any:
        if method == "subscribe":
            self.subscribes += 1
        return await super().request(method, **params)


def _blocked_subscriber(
    path: Path, after_id: int, shared: dict[str, Any], paused: threading.Event
) -> None:
    """In a thread with its own event loop: subscribe, then block that loop (nothing
    is read from the socket) on the first page until ``shared['release']`` is set, then
    read on until the run ``shared['run_id']`` ended."""

    async def main() -> None:
        client = await CountingClient.connect(path)
        assert isinstance(client, CountingClient)
        got: list[Event] = []
        try:
            async with asyncio.timeout(None) as limit:
                async for page in client.subscribe(after_id):
                    got += page.events
                    if not paused.is_set():
                        paused.set()
                        release: threading.Event = shared["release"]
                        assert release.wait(PATIENCE * 2)  # the loop stands still
                        limit.reschedule(asyncio.get_running_loop().time() + PATIENCE)
                    if ends(page.events, shared["run_id"]):
                        break
        finally:
            shared["events"] = got
            shared["subscribes"] = client.subscribes
            await client.close()

    try:
        asyncio.run(main())
    except BaseException as exc:
        shared["error"] = repr(exc)


async def test_socket_client_resubscribes_by_itself_on_resync(
    small: Served, write_scenario
) -> None:
    after = await small.engine.last_event_id()
    release, paused = threading.Event(), threading.Event()
    shared: dict[str, Any] = {"release": release}
    thread = threading.Thread(
        target=_blocked_subscriber, args=(small.path, after, shared, paused), daemon=True
    )
    thread.start()
    try:
        run = await small.submit(write_scenario(FLOOD))
        shared["run_id"] = run.id
        assert await asyncio.to_thread(paused.wait, PATIENCE), "no first page"
        await small.ended(run.id)  # while the client's loop stood still
    finally:
        release.set()
        await asyncio.to_thread(thread.join, PATIENCE * 2)
    assert not thread.is_alive()
    assert "error" not in shared, shared.get("error")
    got: list[Event] = shared["events"]
    assert ends(got, run.id), "the stream never reached the run's end"
    assert shared["subscribes"] >= 2, "never told to resync: the bound was not reached"
    assert keys(got) == keys(await small.stored_after(after))
