"""The detached engine follows ``cockpit.toml``: a repo added, a profile or a limit
changed while it runs is what its next command and its next run see.

The file is looked at (one ``stat``) before each request and every few seconds; when it
changed, it is read again and, if it is valid, replaces the workspace's config in place
(every part of the engine holds the same :class:`~engine.workspace.Workspace`). A config
that does not load leaves the engine with the one it had, and what is wrong with it is
kept (:attr:`ConfigFollower.problem`): the engine's ``hello`` tells every client, so the
cockpit, which does not read the file itself, refuses to open as a command would.
"""

from __future__ import annotations

import asyncio
import logging
import os

from engine.config import load_config
from engine.domain.errors import CockpitError
from engine.workspace import Workspace

log = logging.getLogger(__name__)


class ConfigFollower:
    """Keeps ``workspace.config`` as ``cockpit.toml`` says."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._stamp = self._read_stamp()
        self._lock = asyncio.Lock()
        #: What is wrong with ``cockpit.toml`` as it is now (None: it loads).
        self.problem: str | None = None

    def _read_stamp(self) -> tuple[int, int, int] | None:
        try:
            info = os.stat(self.workspace.config_path)
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size, info.st_ino

    async def refresh(self) -> bool:
        """Read the file again if it changed; whether the config was replaced."""
        stamp = self._read_stamp()
        if stamp == self._stamp:
            return False
        async with self._lock:
            if stamp == self._stamp:
                return False
            self._stamp = stamp
            try:
                config = await asyncio.to_thread(load_config, self.workspace.config_path)
            except CockpitError as exc:
                self.problem = str(exc)
                log.warning(
                    "cockpit.toml changed but does not load (the engine keeps the "
                    "config it had): %s",
                    exc,
                )
                return False
            self.workspace.config = config
            self.problem = None
            log.info("cockpit.toml changed: the engine follows it")
            return True

    async def follow(self, every: float = 2.0) -> None:
        """Look at the file every ``every`` seconds, forever."""
        while True:
            await asyncio.sleep(every)
            await self.refresh()
