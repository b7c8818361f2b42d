"""The engine's side of its socket: JSON-RPC 2.0, one message per line.

Each connection is checked first (the peer's uid, from SO_PEERCRED, must be the
engine's own), then must say ``hello`` with the protocol version it speaks. Requests are
answered each in its own task, so a long approve does not hold a quick read back.
Answers and events leave through one writer per connection; a connection's event pages
are bounded (:data:`QUEUE_LIMIT`): a client that stops reading is sent ``resync`` (the
id to subscribe again after) instead of more pages, and neither the engine nor the other
clients wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from engine.domain.errors import CockpitError
from engine.domain.events import Event
from engine.rpc import wire
from engine.rpc.address import peer_uid
from engine.services.engine import Engine
from engine.services.run_setup import key_variables
from engine.services.streams import EventStreams

log = logging.getLogger(__name__)

#: Event pages a connection may have waiting to be written before it is told to resync.
QUEUE_LIMIT = 256


class EngineServer:
    """Serves one engine's API on a Unix socket."""

    def __init__(
        self,
        engine: Engine,
        status: Callable[[], Awaitable[dict[str, Any]]],
        on_stop: Callable[[], None],
        queue_limit: int = QUEUE_LIMIT,
        before_call: Callable[[], Awaitable[object]] | None = None,
        greeting: Callable[[], Awaitable[dict[str, Any]]] | None = None,
    ) -> None:
        self.engine = engine
        self._before_call = before_call
        self._greeting = greeting
        self._status = status
        self._on_stop = on_stop
        self._queue_limit = queue_limit
        self._streams = EventStreams(engine)
        self._methods = frozenset(wire.api_methods())
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[Connection] = set()
        self.path: Path | None = None

    @property
    def clients(self) -> int:
        """Connections that said hello and are still open."""
        return sum(1 for c in self._connections if c.greeted)

    async def start(self, path: Path) -> None:
        """Listen on ``path``: created owner-only (no moment where others could connect)."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.unlink(missing_ok=True)
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(
                self._accept, path=str(path), limit=wire.MAX_LINE
            )
        finally:
            os.umask(old)
        path.chmod(0o600)
        self.path = path

    async def close(self) -> None:
        """Say goodbye to every client, stop listening and remove the socket."""
        for conn in list(self._connections):
            conn.send(wire.message({"method": wire.GOODBYE, "params": {}}))
            await conn.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        if self.path is not None:
            self.path.unlink(missing_ok=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        uid = peer_uid(writer)
        if uid != os.getuid():
            log.warning(
                "refused a connection from uid %s (this engine is uid %s)", uid, os.getuid()
            )
            text = f"refused: uid {uid} is not this engine's owner"
            with contextlib.suppress(ConnectionError):
                writer.write(wire.failure(None, wire.NOT_ALLOWED, text))
                await writer.drain()
            writer.close()
            return
        conn = Connection(self, reader, writer)
        self._connections.add(conn)
        try:
            await conn.serve()
        finally:
            self._connections.discard(conn)
            await conn.close()

    # --- what a connection asks --------------------------------------------------------
    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """The engine's answer to an API request (domain errors propagate)."""
        if method not in self._methods:
            raise LookupError(method)
        kwargs = wire.decode_params(method, params)
        if self._before_call is not None:
            await self._before_call()  # e.g. follow an edited cockpit.toml first
        if method == "snapshot":
            # The biggest answer there is, its events sent as stored (see snapshot_json).
            text = await self.engine.snapshot_json(**kwargs)
            if "\n" not in text:  # one message per line, whatever a stored row holds
                return wire.Raw(text)
        return await getattr(self.engine, method)(**kwargs)

    async def status(self, asker: Connection | None = None) -> dict[str, Any]:
        """The host's status, with how many clients are attached (the asker not counted)."""
        asking = asker is not None and asker.greeted
        return {**await self._status(), "clients": self.clients - asking}

    def stop(self) -> None:
        self._on_stop()

    def pages(self, after_id: int) -> AsyncIterator[tuple[int, list[Event]]]:
        return self._streams.pages(after_id)

    def run_pages(self, run_id: str, after_seq: int) -> AsyncIterator[list[Event]]:
        return self._streams.run_pages(run_id, after_seq)

    @property
    def queue_limit(self) -> int:
        return self._queue_limit


class Connection:
    """One client: its requests, its subscriptions and its bounded outbox."""

    def __init__(
        self, server: EngineServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._server = server
        self._reader = reader
        self._writer = writer
        self.greeted = False
        self._outbox: deque[tuple[bytes, bool]] = deque()
        self._pending_pages = 0
        self._ready = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._subscriptions: dict[int, asyncio.Task[Any]] = {}
        self._ids = itertools.count(1)
        self._writing = asyncio.get_running_loop().create_task(self._write_loop())
        self._closed = False

    # --- the outbox --------------------------------------------------------------------
    def send(self, line: bytes, page: bool = False) -> None:
        """Queue a line to write (``page``: an event page, counted against the bound)."""
        if self._closed:
            return
        self._outbox.append((line, page))
        if page:
            self._pending_pages += 1
        self._ready.set()

    def has_room(self) -> bool:
        """Whether another event page may be queued."""
        return self._pending_pages < self._server.queue_limit

    async def _write_loop(self) -> None:
        try:
            while True:
                await self._ready.wait()
                self._ready.clear()
                while self._outbox:
                    line, page = self._outbox.popleft()
                    if page:
                        self._pending_pages -= 1
                    self._writer.write(line)
                    await self._writer.drain()
        except (ConnectionError, RuntimeError):
            pass  # the client went away; serve() ends on its side

    # --- requests ------------------------------------------------------------------------
    async def serve(self) -> None:
        """Read requests until the client closes the connection."""
        while True:
            try:
                line = await self._reader.readline()
            except (ValueError, asyncio.LimitOverrunError):
                self.send(wire.failure(None, wire.INVALID_REQUEST, "message too long"))
                return
            except ConnectionError:
                return
            if not line:
                return
            if not line.strip():
                continue
            try:
                msg = json.loads(line)
            except ValueError:
                self.send(wire.failure(None, wire.PARSE_ERROR, "not JSON"))
                continue
            if not isinstance(msg, dict) or not isinstance(msg.get("method"), str):
                self.send(wire.failure(None, wire.INVALID_REQUEST, "not a JSON-RPC request"))
                continue
            if not self._dispatch(msg):
                return

    def _dispatch(self, msg: dict[str, Any]) -> bool:
        """Start answering ``msg``; False when the connection must close."""
        method: str = msg["method"]
        msg_id = msg.get("id")
        params = msg.get("params") or {}
        if not isinstance(params, dict):
            self.send(wire.failure(msg_id, wire.INVALID_PARAMS, "params must be an object"))
            return True
        if method == "hello":
            return self._hello(msg_id, params)
        if method == "engine.status":
            self._spawn(self._answer(msg_id, self._server.status(self)))
            return True
        if method == "engine.stop":
            self.send(wire.result(msg_id, {"stopping": True}))
            self._server.stop()
            return True
        if not self.greeted:
            self.send(wire.failure(msg_id, wire.NO_HELLO, "say hello first (protocol version)"))
            return True
        if method == "subscribe":
            self._subscribe(msg_id, params)
        elif method == "unsubscribe":
            task = self._subscriptions.pop(int(params.get("subscription", 0)), None)
            if task is not None:
                task.cancel()
            self.send(wire.result(msg_id, task is not None))
        else:
            self._spawn(self._answer(msg_id, self._server.call(method, params)))
        return True

    def _hello(self, msg_id: Any, params: dict[str, Any]) -> bool:
        theirs = params.get("protocol")
        if theirs != wire.PROTOCOL:
            text = (
                f"protocol mismatch: this engine speaks protocol {wire.PROTOCOL}, the client "
                f"{theirs}; stop the engine (cockpit engine stop) and start it again "
                "with the same Cockpit as its clients"
            )
            self.send(wire.failure(msg_id, wire.PROTOCOL_MISMATCH, text))
            return False
        self.greeted = True
        self._spawn(self._welcome(msg_id))
        return True

    async def _welcome(self, msg_id: Any) -> None:
        """Answer ``hello``: who this engine is, and what its host adds (whether
        ``cockpit.toml`` loads as it is now)."""
        greeting = self._server._greeting
        info = {
            "protocol": wire.PROTOCOL,
            "pid": os.getpid(),
            **(await greeting() if greeting is not None else {}),
            # Names, never values: a client masks what its own environment holds.
            "key_variables": sorted(key_variables(self._server.engine.workspace)),
        }
        self.send(wire.result(msg_id, info))

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, msg_id: Any, work: Awaitable[Any]) -> None:
        try:
            reply = wire.result(msg_id, await work)
        except LookupError as exc:
            reply = wire.failure(msg_id, wire.METHOD_NOT_FOUND, f"no method {exc}")
        except CockpitError as exc:
            error = wire.refusal(exc, self._server.engine.redact(str(exc)))
            reply = wire.message({"id": msg_id, "error": error})
        except ValueError as exc:
            reply = wire.failure(msg_id, wire.INVALID_PARAMS, str(exc))
        except Exception as exc:
            log.exception("request failed")
            text = self._server.engine.redact(f"engine error: {type(exc).__name__}: {exc}")
            reply = wire.failure(msg_id, wire.INTERNAL_ERROR, text)
        if msg_id is not None:  # a notification gets no answer
            self.send(reply)

    # --- subscriptions -----------------------------------------------------------------
    def _subscribe(self, msg_id: Any, params: dict[str, Any]) -> None:
        try:
            run_id = params.get("run_id")
            if run_id is not None:
                after = int(params.get("after_seq", 0))
            else:
                after = int(params.get("after_id", 0))
        except (TypeError, ValueError):
            self.send(wire.failure(msg_id, wire.INVALID_PARAMS, "after_id/after_seq: a number"))
            return
        sub = next(self._ids)
        if run_id is None:
            task = asyncio.ensure_future(self._feed_all(sub, after))
        else:
            task = asyncio.ensure_future(self._feed_run(sub, str(run_id), after, msg_id))
        self._subscriptions[sub] = task
        task.add_done_callback(lambda _t: self._subscriptions.pop(sub, None))
        if run_id is None:
            self.send(wire.result(msg_id, {"subscription": sub}))  # a run's: once resolved

    def _page(self, sub: int, params: dict[str, Any]) -> None:
        self.send(
            wire.message({"method": wire.EVENTS, "params": {"subscription": sub, **params}}), True
        )

    def _resync(self, sub: int, params: dict[str, Any]) -> None:
        self.send(wire.message({"method": wire.RESYNC, "params": {"subscription": sub, **params}}))

    async def _feed_all(self, sub: int, after_id: int) -> None:
        async for last_id, events in self._server.pages(after_id):
            if not self.has_room():
                # The client is behind: it resubscribes after what it has.
                self._resync(sub, {"after_id": after_id})
                return
            self._page(sub, {"last_id": last_id, "events": wire.encode(events)})
            after_id = last_id

    async def _feed_run(self, sub: int, ref: str, after_seq: int, msg_id: Any) -> None:
        try:
            run_id = (await self._server.engine.resolve_run(ref)).id
        except CockpitError as exc:
            self.send(wire.message({"id": msg_id, "error": wire.refusal(exc)}))
            return
        self.send(wire.result(msg_id, {"subscription": sub, "run_id": run_id}))
        try:
            async for events in self._server.run_pages(run_id, after_seq):
                if not self.has_room():
                    self._resync(sub, {"after_seq": after_seq})
                    return
                self._page(sub, {"events": wire.encode(events)})
                after_seq = events[-1].seq
        except CockpitError as exc:
            # The run's end could not be recorded: the stream ends with why.
            self._page(sub, {"events": [], "done": True, "error": wire.refusal(exc)})
            return
        self._page(sub, {"events": [], "done": True})

    async def close(self) -> None:
        """End the subscriptions and requests, flush what is queued, close."""
        if self._closed:
            return
        for task in [*self._subscriptions.values(), *self._tasks]:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._flush(), 1)
        self._closed = True
        self._writing.cancel()
        self._writer.close()

    async def _flush(self) -> None:
        while self._outbox:
            self._ready.set()
            await asyncio.sleep(0.01)
