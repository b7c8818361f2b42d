"""Wake-up calls between processes of one workspace, over Unix sockets.

Every engine listens on its own socket; a CLI command that changes the store (a new run,
a steering message, a cancel) pokes them all so they react at once instead of at their
next poll. Each engine answers with its kind: ``general`` (takes any queued run) or
``only`` (a ``--wait`` engine that executes just its own runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def socket_dir(state_dir: Path) -> Path:
    """A short per-workspace folder for sockets (paths of Unix sockets are limited to ~100
    bytes, so they cannot live under a deep workspace path)."""
    digest = hashlib.sha1(str(state_dir.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"cockpit-{os.getuid()}" / digest


class ControlServer:
    """This engine's socket. Each line received calls ``on_wake``."""

    def __init__(self, state_dir: Path, kind: str, on_wake: Callable[[], None]) -> None:
        self.path = socket_dir(state_dir) / f"{os.getpid()}-{id(self):x}.sock"
        self._kind = kind
        self._on_wake = on_wake
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        """Listen (the socket file is private to the user)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._server = await asyncio.start_unix_server(self._handle, path=str(self.path))

    async def close(self) -> None:
        """Stop listening and remove the socket file."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        self.path.unlink(missing_ok=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readline()
            self._on_wake()
            writer.write(f"{self._kind}\n".encode())
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def poke_engines(state_dir: Path, timeout: float = 1.0) -> list[str]:
    """Wake every live engine of the workspace; return their kinds. Stale sockets are removed."""
    folder = socket_dir(state_dir)
    if not folder.is_dir():
        return []
    kinds: list[str] = []
    for sock in sorted(folder.glob("*.sock")):
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(str(sock)), timeout
            )
        except (OSError, TimeoutError):
            sock.unlink(missing_ok=True)  # its engine is gone
            continue
        try:
            writer.write(b"wake\n")
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), timeout)
            kinds.append(line.decode().strip())
        except (OSError, TimeoutError):
            pass
        finally:
            writer.close()
    return kinds
