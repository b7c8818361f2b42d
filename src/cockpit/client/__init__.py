"""How the front ends reach an engine: the :class:`EngineClient` protocol (the engine's
API plus event streams) and its two transports:

* :mod:`cockpit.client.remote` and :mod:`cockpit.client.daemon`: a client of the
  workspace's detached engine over its socket, started when a command needs it — what
  the cockpit and the commands that act on runs use;
* :mod:`cockpit.client.inprocess`: an engine built in this process (the detached
  engine itself, reads when no engine runs, tests).

The UI and the command line import the engine only through this package and the domain
(an import-linter contract holds them to it). The in-process transport is imported on
first use: a cockpit that talks to a detached engine never loads the engine's modules.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from cockpit.client.api import EngineClient, EventPage

if TYPE_CHECKING:
    from cockpit.client.inprocess import InProcessClient, open_client
    from engine.workspace import Workspace

__all__ = ["EngineClient", "EventPage", "InProcessClient", "open_client", "reading_client"]


def __getattr__(name: str) -> Any:
    if name in ("InProcessClient", "open_client"):
        from cockpit.client import inprocess

        return getattr(inprocess, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@contextlib.asynccontextmanager
async def reading_client(workspace: Workspace) -> AsyncGenerator[EngineClient]:
    """A client for a command that reads (or acts without needing runs to execute): the
    running engine's when there is one, else the store read in this process (no engine
    is started for it)."""
    from cockpit.client.daemon import connect
    from engine.domain.errors import EngineUnavailable

    try:
        remote = await connect(workspace)
    except EngineUnavailable:
        from cockpit.client.inprocess import open_client

        async with open_client(workspace, listen=False) as local:
            yield local
        return
    try:
        yield remote
    finally:
        await remote.close()
