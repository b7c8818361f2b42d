"""A connection to the workspace's engine opened as the ``cockpit`` command starts,
before the user interface's modules load.

The engine answers ``hello`` at once (so a ``cockpit.toml`` that does not load is still
one line before the screen is taken), then starts on the first reads it is asked for
(the snapshot, the repos) while this process goes on importing. The session's client
takes the connection over with those answers on their way
(:meth:`cockpit.client.remote.SocketClient.adopt`): the engine's share of the start-up
is spent beside this process's own, not after it.

Blocking and small on purpose: it runs before there is an event loop.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cockpit.client.remote import HELLO_TIMEOUT
from engine.domain.errors import CockpitError, EngineUnavailable
from engine.rpc import wire
from engine.rpc.address import connect_path, socket_peer_uid


class EarlyLink:
    """A connected socket whose ``hello`` was answered: requests are asked on it and
    answered (:meth:`call`) or only sent (:meth:`send`), until a client adopts it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        #: What the engine said about itself in the handshake.
        self.info: dict[str, Any] = {}
        #: Requests answered here: (method, params, result).
        self.answered: list[tuple[str, dict[str, Any], Any]] = []
        #: Request id → (method, params) of each request sent and not answered yet.
        self.asked: dict[int, tuple[str, dict[str, Any]]] = {}
        self._last_id = 0

    @property
    def next_id(self) -> int:
        """The first request id the connection has not used."""
        return self._last_id + 1

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """Ask and wait for the answer (only while nothing else is asked: the next line
        must be this answer); a domain error when the engine answers with one."""
        if self.asked:
            raise RuntimeError("call() after send(): the answers would cross")
        self._last_id += 1
        self.sock.sendall(wire.request(self._last_id, method, params))
        answer = json.loads(_line(self.sock))
        if "error" in answer:
            wire.raise_error(answer["error"])
        result = answer.get("result")
        if method != "hello":
            self.answered.append((method, params, result))
        return result

    def send(self, method: str, params: dict[str, Any]) -> None:
        """Ask without waiting: the answer is for whoever adopts the connection."""
        self._last_id += 1
        self.sock.sendall(wire.request(self._last_id, method, params))
        self.asked[self._last_id] = (method, params)

    def close(self) -> None:
        """Close the connection (nobody took it over)."""
        self.sock.close()


def open_early(state_dir: Path, ask: Callable[[EarlyLink], object]) -> EarlyLink | None:
    """Say hello to the engine whose socket is in ``state_dir``, then let ``ask`` make
    its requests. None when no engine answers there (none runs, a stale socket, another
    user's) or ``ask`` fails (the usual way asks again, and says what went wrong); a
    domain error when ``hello`` is answered with one (another protocol version:
    ``BadInput``)."""
    path = connect_path(state_dir)
    if path is None:
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    link = EarlyLink(sock)

    def greet() -> None:
        sock.settimeout(HELLO_TIMEOUT)
        sock.connect(str(path))
        if socket_peer_uid(sock) != os.getuid():
            raise EngineUnavailable(f"refused the socket {path}: served by another user")
        hello = {"protocol": wire.PROTOCOL, "client": "cockpit"}
        link.info = dict(link.call("hello", hello) or {})

    # Whatever fails here, the usual way (which may start an engine) tries again and
    # says what is wrong; but the engine's answer to hello is the command's to say.
    if not _done(sock, greet, (OSError, ValueError, EngineUnavailable)):
        return None
    if not _done(sock, lambda: ask(link), (OSError, ValueError, CockpitError)):
        return None
    return link


def _done(
    sock: socket.socket, work: Callable[[], object], giving_up: tuple[type[Exception], ...]
) -> bool:
    """Run ``work``; False when it failed with one of ``giving_up``. On any failure the
    socket is closed (what is not given up on is raised)."""
    try:
        work()
    except giving_up:
        sock.close()
        return False
    except BaseException:
        sock.close()
        raise
    return True


def _line(sock: socket.socket) -> bytes:
    """The first line waiting on ``sock``, and not a byte more: what follows belongs to
    whoever takes the connection over."""
    line = b""
    while True:
        peeked = sock.recv(65536, socket.MSG_PEEK)  # waits for a byte, takes none
        if not peeked:
            raise EngineUnavailable("the engine closed the connection")
        end = peeked.find(b"\n")
        # Up to the newline (or all of it, when none came yet) is this line's.
        line += _exactly(sock, end + 1 if end >= 0 else len(peeked))
        if end >= 0:
            return line


def _exactly(sock: socket.socket, size: int) -> bytes:
    """``size`` bytes already waiting on ``sock``."""
    got = b""
    while len(got) < size:
        chunk = sock.recv(size - len(got))
        if not chunk:
            raise EngineUnavailable("the engine closed the connection")
        got += chunk
    return got
