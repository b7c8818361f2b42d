"""An :class:`~cockpit.client.api.EngineClient` over the detached engine's socket.

Every call is a JSON-RPC request (:mod:`engine.rpc.wire`); its answer is rebuilt into
the domain types the in-process call returns, and a domain error comes back as the same
error (an unknown run is still ``UnknownRun``, exit code 2). Streams are subscriptions:
pages of events pushed by the engine; when the engine says this client fell behind
(``resync``), the stream subscribes again after the last event it yielded, so a reader
sees every event once. When the engine goes away, pending calls and streams raise
:class:`~engine.domain.errors.EngineUnavailable`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
from collections.abc import AsyncGenerator, AsyncIterator, Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.client.api import EventPage
from engine.domain.diffs import RepoStatus, WorktreeDiff
from engine.domain.errors import EngineUnavailable
from engine.domain.events import Event
from engine.domain.facts import RunFacts
from engine.domain.gates import GateResult
from engine.domain.models import Run
from engine.domain.redact import KEY_VARIABLES, Redactor
from engine.domain.review_terms import WHOLE_RUN, Approval, Span
from engine.domain.snapshot import Snapshot
from engine.rpc import wire
from engine.rpc.address import peer_uid

if TYPE_CHECKING:
    # Types only (answers are rebuilt from the API's own hints, see engine.rpc.wire).
    from cockpit.client.early import EarlyLink
    from engine.config import RepoConfig
    from engine.domain.guard import GuardRecord, GuardVerdict, ToolRequest
    from engine.domain.skills import Skill
    from engine.ports.sandbox import SandboxStatus

#: Seconds to wait for the engine to answer ``hello``.
HELLO_TIMEOUT = 5.0


def _key(params: dict[str, Any]) -> str:
    """Request parameters as a key (same values, same key)."""
    return json.dumps(wire.encode(params), sort_keys=True)


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class _Gone:
    """Put in a stream's queue when the connection ends."""


class SocketClient:
    """A connection to a workspace's engine; ``connect`` makes one."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, first_id: int = 1
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(first_id)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        #: Requests sent before this client existed (see adopt), by (method, params):
        #: the first identical request takes the answer instead of asking again.
        self._asked: dict[tuple[str, str], asyncio.Future[Any]] = {}
        self._streams: dict[int, asyncio.Queue[Any]] = {}
        self._early: dict[int, list[Any]] = {}
        self._closed = asyncio.Event()
        self._why = "the engine closed the connection"
        self._redactor = Redactor(os.environ.get(name) for name in KEY_VARIABLES)
        self._reading = asyncio.get_running_loop().create_task(self._read_loop())
        #: What the engine said about itself in the handshake (its pid).
        self.engine_info: dict[str, Any] = {}

    @classmethod
    async def connect(cls, path: Path, *, protocol: int = wire.PROTOCOL) -> SocketClient:
        """Connect to the engine listening on ``path`` and say hello (``BadInput`` when it
        speaks another protocol version, ``EngineUnavailable`` when none answers)."""
        try:
            reader, writer = await asyncio.open_unix_connection(str(path), limit=wire.MAX_LINE)
        except OSError as exc:
            raise EngineUnavailable(f"no engine answers at {path}: {exc.strerror}") from None
        owner = peer_uid(writer)
        if owner != os.getuid():
            # Whoever answers must be this user's engine: another user's socket in a
            # shared folder must not get this user's requests.
            writer.close()
            raise EngineUnavailable(f"refused the socket {path}: served by uid {owner}")
        client = cls(reader, writer)
        try:
            info = await asyncio.wait_for(
                client.request("hello", protocol=protocol, client="cockpit"), HELLO_TIMEOUT
            )
        except TimeoutError:
            await client.close()
            raise EngineUnavailable(f"the engine at {path} did not answer") from None
        except BaseException:
            await client.close()
            raise
        client._greeted(info)
        return client

    @classmethod
    async def adopt(cls, link: EarlyLink) -> SocketClient:
        """Take over a connection opened before the event loop ran (its ``hello``
        answered, some requests sent): their answers come to the first identical
        requests made of this client."""
        link.sock.setblocking(False)
        reader, writer = await asyncio.open_unix_connection(sock=link.sock, limit=wire.MAX_LINE)
        client = cls(reader, writer, first_id=link.next_id)
        client._greeted(link.info)
        loop = asyncio.get_running_loop()
        for method, params, result in link.answered:
            client._asked[(method, _key(params))] = answered = loop.create_future()
            answered.set_result(result)
        for msg_id, (method, params) in link.asked.items():
            future: asyncio.Future[Any] = loop.create_future()
            # An answer nobody asks for again is let go quietly, even a failure.
            future.add_done_callback(_retrieved)
            client._pending[msg_id] = future
            client._asked[(method, _key(params))] = future
        return client

    def _greeted(self, info: dict[str, Any]) -> None:
        """What the engine said in the handshake: who it is, the key variables to mask."""
        self.engine_info = dict(info)
        names = {*KEY_VARIABLES, *info.get("key_variables", [])}
        self._redactor = Redactor(os.environ.get(name) for name in names)

    @property
    def closed(self) -> bool:
        """Whether the connection has ended."""
        return self._closed.is_set()

    async def wait_closed(self) -> None:
        """Return once the connection has ended (the engine stopped or died)."""
        await self._closed.wait()

    async def close(self) -> None:
        """Close the connection (the engine goes on)."""
        self._writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._reading, 1)
        self._reading.cancel()

    # --- the connection --------------------------------------------------------------
    async def request(self, method: str, **params: Any) -> Any:
        """Send a request; its result as JSON data (a domain error is raised)."""
        asked = self._asked.pop((method, _key(params)), None) if self._asked else None
        if asked is not None:
            return await asked
        if self._closed.is_set():
            raise EngineUnavailable(self._why)
        msg_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        try:
            self._writer.write(wire.request(msg_id, method, params))
            await self._writer.drain()
        except (ConnectionError, RuntimeError):
            self._pending.pop(msg_id, None)
            raise EngineUnavailable(self._why) from None
        return await future

    async def _call(self, method: str, **params: Any) -> Any:
        return wire.decode_result(method, await self.request(method, **params))

    async def _read_loop(self) -> None:
        try:
            while True:
                line = await self._reader.readline()
                if not line:
                    break
                self._receive(json.loads(line))
        except (ConnectionError, ValueError, asyncio.LimitOverrunError) as exc:
            self._why = f"the connection to the engine broke: {exc}"
        finally:
            self._closed.set()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(EngineUnavailable(self._why))
            self._pending.clear()
            for queue in self._streams.values():
                queue.put_nowait(_Gone())

    def _receive(self, msg: dict[str, Any]) -> None:
        method = msg.get("method")
        if method is None:
            future = self._pending.pop(msg.get("id") or 0, None)
            if future is None:
                error = msg.get("error") or {}
                if error.get("code") == wire.NOT_ALLOWED:  # refused before any request
                    self._why = str(error.get("message"))
                return
            if future.done():
                return
            if "error" in msg:
                try:
                    wire.raise_error(msg["error"])
                except Exception as exc:
                    future.set_exception(exc)
            else:
                future.set_result(msg.get("result"))
            return
        params = msg.get("params") or {}
        if method == wire.GOODBYE:
            self._why = "the engine stopped"
            return
        sub = params.get("subscription")
        if isinstance(sub, int):
            queue = self._streams.get(sub)
            if queue is None:
                # A page may come before the subscribe's own answer is read.
                self._early.setdefault(sub, []).append(msg)
            else:
                queue.put_nowait(msg)

    async def _open_stream(self, **params: Any) -> tuple[int, asyncio.Queue[Any]]:
        answer = await self.request("subscribe", **params)
        sub = int(answer["subscription"])
        queue: asyncio.Queue[Any] = asyncio.Queue()
        for msg in self._early.pop(sub, []):
            queue.put_nowait(msg)
        if self._closed.is_set():
            queue.put_nowait(_Gone())
        self._streams[sub] = queue
        return sub, queue

    async def _close_stream(self, sub: int) -> None:
        self._streams.pop(sub, None)
        if not self._closed.is_set():
            with contextlib.suppress(Exception):
                self._writer.write(wire.request(None, "unsubscribe", {"subscription": sub}))

    # --- streams ---------------------------------------------------------------------
    async def _pages(self, **params: Any) -> AsyncGenerator[dict[str, Any]]:
        """The pages of one subscription, until the engine says this client fell behind
        (``resync``: the caller subscribes again after what it has)."""
        sub, queue = await self._open_stream(**params)
        try:
            while True:
                msg = await queue.get()
                if isinstance(msg, _Gone):
                    raise EngineUnavailable(self._why)
                if msg["method"] == wire.RESYNC:
                    return
                yield msg["params"]
        finally:
            await self._close_stream(sub)

    async def subscribe(self, after_id: int = 0) -> AsyncIterator[EventPage]:
        """See :meth:`cockpit.client.api.EngineClient.subscribe`."""
        while True:
            async with contextlib.aclosing(self._pages(after_id=after_id)) as pages:
                async for page in pages:
                    after_id = int(page["last_id"])
                    yield EventPage(after_id, wire.decode_events(page["events"]))

    async def run_events(self, run_id: str, after_seq: int = 0) -> AsyncIterator[Event]:
        """See :meth:`cockpit.client.api.EngineClient.run_events`."""
        while True:
            params = {"run_id": run_id, "after_seq": after_seq}
            async with contextlib.aclosing(self._pages(**params)) as pages:
                async for page in pages:
                    for event in wire.decode_events(page["events"]):
                        if event.seq > after_seq:
                            after_seq = event.seq
                            yield event
                    if page.get("error"):
                        wire.raise_error(page["error"])
                    if page.get("done"):
                        return

    # --- the engine process ----------------------------------------------------------
    async def status(self) -> dict[str, Any]:
        """``engine.status``: pid, socket, uptime, counts, protocol."""
        return dict(await self.request("engine.status"))

    async def stop_engine(self) -> None:
        """Ask the engine to stop (runs in flight become interrupted, resumable)."""
        await self.request("engine.stop")

    # --- runs: commands --------------------------------------------------------------
    async def submit(
        self,
        repo: str,
        task: str,
        agent: str = "scripted",
        scenario: str | None = None,
        skills: list[str] | None = None,
        priority: int = 0,
    ) -> Run:
        return await self._call(
            "submit",
            repo=repo,
            task=task,
            agent=agent,
            scenario=scenario,
            skills=skills,
            priority=priority,
        )

    async def steer(self, ref: str, text: str) -> int:
        return await self._call("steer", ref=ref, text=text)

    async def cancel(self, ref: str) -> Run:
        return await self._call("cancel", ref=ref)

    async def resume(self, ref: str) -> Run:
        return await self._call("resume", ref=ref)

    async def send_back(self, ref: str, message: str) -> Run:
        return await self._call("send_back", ref=ref, message=message)

    async def override_guard(self, ref: str, rule: str) -> GuardRecord:
        return await self._call("override_guard", ref=ref, rule=rule)

    # --- review decisions ------------------------------------------------------------
    async def approve(
        self, ref: str, *, squash: bool | None = None, override_gates: bool = False
    ) -> Approval:
        return await self._call("approve", ref=ref, squash=squash, override_gates=override_gates)

    async def reject(self, ref: str) -> Path:
        return await self._call("reject", ref=ref)

    async def revert_parts(
        self, ref: str, patches: list[str], restored: list[str], summary: str
    ) -> str | None:
        return await self._call(
            "revert_parts", ref=ref, patches=patches, restored=restored, summary=summary
        )

    # --- runs: queries ---------------------------------------------------------------
    async def list_runs(self) -> list[Run]:
        return await self._call("list_runs")

    async def run_facts(self, run_ids: list[str]) -> dict[str, RunFacts]:
        return await self._call("run_facts", run_ids=run_ids)

    async def snapshot(self, tail: int, runs: int) -> Snapshot:
        return await self._call("snapshot", tail=tail, runs=runs)

    async def resolve_run(self, ref: str) -> Run:
        return await self._call("resolve_run", ref=ref)

    async def get_run(self, run_id: str) -> Run | None:
        return await self._call("get_run", run_id=run_id)

    async def events(self, run_id: str, after_seq: int = 0) -> list[Event]:
        return await self._call("events", run_id=run_id, after_seq=after_seq)

    async def events_tail(
        self, run_id: str, limit: int, before_seq: int | None = None
    ) -> list[Event]:
        return await self._call("events_tail", run_id=run_id, limit=limit, before_seq=before_seq)

    async def last_seq(self, run_id: str) -> int:
        return await self._call("last_seq", run_id=run_id)

    async def last_event_id(self) -> int:
        return await self._call("last_event_id")

    async def follow_events(
        self, after_id: int, limit: int = 1000, skip_runs: Collection[str] = ()
    ) -> tuple[int, list[Event]]:
        return await self._call(
            "follow_events", after_id=after_id, limit=limit, skip_runs=list(skip_runs)
        )

    async def worktree_diff(self, worktree: Path, base_sha: str) -> WorktreeDiff:
        return await self._call("worktree_diff", worktree=worktree, base_sha=base_sha)

    async def review_patch(
        self, ref: str, span: Span = WHOLE_RUN, known: Run | None = None
    ) -> tuple[Run, str]:
        return await self._call("review_patch", ref=ref, span=span, known=known)

    async def already_merged(self, run: Run) -> bool:
        return await self._call("already_merged", run=run)

    # --- repos, gates, guard, skills, settings ----------------------------------------
    async def repo_settings(self, repo: str) -> RepoConfig:
        return await self._call("repo_settings", repo=repo)

    async def repo_status(self, path: Path) -> RepoStatus:
        return await self._call("repo_status", path=path)

    async def repos(self) -> dict[str, Path]:
        return await self._call("repos")

    async def gate_names(self, repo: str) -> list[str]:
        return await self._call("gate_names", repo=repo)

    async def check_gates(self, target: str) -> tuple[Path, list[GateResult]]:
        return await self._call("check_gates", target=target)

    async def guard_ledger(self, run_id: str | None = None) -> list[GuardRecord]:
        return await self._call("guard_ledger", run_id=run_id)

    async def guard_counts(self) -> dict[str, dict[str, int]]:
        return await self._call("guard_counts")

    async def guard_check(
        self, request: ToolRequest, repo: str | None, worktree: Path
    ) -> GuardVerdict:
        return await self._call("guard_check", request=request, repo=repo, worktree=worktree)

    async def available_skills(self, repo: str) -> list[Skill]:
        return await self._call("available_skills", repo=repo)

    async def sandbox_status(self) -> SandboxStatus:
        return await self._call("sandbox_status")

    def redact(self, text: str) -> str:
        """Masks the keys this process knows and every credential shape (what the engine
        sends was masked by it already)."""
        return self._redactor.text(text)
