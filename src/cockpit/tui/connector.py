"""How the cockpit reaches an engine: the one seam between "where the engine runs" and
everything the session does with it.

* :class:`DetachedConnector` (the default): a client of the workspace's detached engine
  over its socket, the engine started in the background when none runs. The engine
  outlives the cockpit; a link ends when the engine stops or dies.
* :class:`HostedConnector` (tests, benchmarks): an engine built in this process and run
  on Textual's loop, as the cockpit did before the engine had a process of its own. The
  link ends when that engine has stopped.

Both hand out :class:`Link` s: a client, a way to wait for the engine to go, and a way
to stop it. The session does not care which one it holds. The engine's own modules
(the store, the services, the adapters) are imported only by the hosted connector, and
only when it links: a cockpit that is a client never loads them.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Protocol

from cockpit.client.api import EngineClient

if TYPE_CHECKING:
    from cockpit.client.early import EarlyLink
    from cockpit.client.inprocess import InProcessClient
    from cockpit.client.local import EngineOptions, Workspace
    from cockpit.client.remote import SocketClient

__all__ = ["Connector", "DetachedConnector", "HostedConnector", "Link"]


class Link(Protocol):
    """A live connection to an engine (for as long as the ``link`` block lasts)."""

    @property
    def client(self) -> EngineClient:
        """The engine's client."""
        ...

    async def held(self) -> None:
        """Return when the engine is gone (stopped, died; hosted: its loop returned)."""
        ...

    def executing(self) -> list[str]:
        """The runs this process executes (hosted); a client executes none."""
        ...

    async def stop_engine(self) -> None:
        """Stop the engine (runs in flight become interrupted, resumable)."""
        ...


class Connector(Protocol):
    """Makes links to the workspace's engine."""

    #: Whether the engine lives in a process of its own (it outlives the cockpit).
    detached: bool

    def link(self, *, start: bool) -> contextlib.AbstractAsyncContextManager[Link]:
        """A link for the block; ``start``: start an engine when none runs (else
        ``EngineUnavailable``). The client is closed when the block ends."""
        ...


class DetachedConnector:
    """Links to the workspace's detached engine over its socket."""

    detached = True

    def __init__(self, workspace: Workspace, early: EarlyLink | None = None) -> None:
        self.workspace = workspace
        #: The connection the ``cockpit`` command opened as it started: the first link's.
        self._early = early

    @contextlib.asynccontextmanager
    async def link(self, *, start: bool) -> AsyncGenerator[Link]:
        from cockpit.client import daemon
        from cockpit.client.remote import SocketClient

        ws = self.workspace
        early, self._early = self._early, None
        if early is not None:
            client = await SocketClient.adopt(early)
        else:
            client = await (daemon.connect_or_start(ws) if start else daemon.connect(ws))
        try:
            yield _SocketLink(client)
        finally:
            await client.close()


class _SocketLink:
    def __init__(self, client: SocketClient) -> None:
        self._client = client

    @property
    def client(self) -> EngineClient:
        return self._client

    async def held(self) -> None:
        await self._client.wait_closed()

    def executing(self) -> list[str]:
        return []

    async def stop_engine(self) -> None:
        from engine.domain.errors import EngineUnavailable

        # The engine may close the connection before it answers: either way it stops.
        with contextlib.suppress(EngineUnavailable):
            await self._client.stop_engine()
        await self._client.wait_closed()


class HostedConnector:
    """Builds the engine in this process; it executes runs while the link is held."""

    detached = False

    def __init__(self, workspace: Workspace, options: EngineOptions) -> None:
        self.workspace = workspace
        self.options = options

    @contextlib.asynccontextmanager
    async def link(self, *, start: bool) -> AsyncGenerator[Link]:
        # Imported here: only a hosted cockpit loads the engine (store, services…).
        from cockpit.client.inprocess import open_client

        async with open_client(self.workspace, self.options) as client:
            yield _HostedLink(client)


class _HostedLink:
    def __init__(self, client: InProcessClient) -> None:
        self._client = client

    @property
    def client(self) -> InProcessClient:
        return self._client

    async def held(self) -> None:
        await self._client.serve()

    def executing(self) -> list[str]:
        return self._client.executing()

    async def stop_engine(self) -> None:
        # serve() (in held) returns once the engine has stopped its runs.
        self._client.stop()
