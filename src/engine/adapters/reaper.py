"""Nothing a run started outlives the engine executing it, however the engine ends.

A :class:`Reaper` is a small process of its own (``reaper_child``) that the engine tells
which runs it is executing. When the engine is gone, ``kill -9`` included, the reaper
ends every process still marked as one of those runs. This closes what the kernel's
parent-death signal leaves open: a sandbox killed while it sets itself up, a command
forked in the instant the engine dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
from collections.abc import AsyncGenerator
from pathlib import Path

from engine.ports.sandbox import RUN_MARK

log = logging.getLogger(__name__)

_CHILD = Path(__file__).with_name("reaper_child.py")


class Reaper:
    """Ends a run's processes should this process die while it executes the run.

    Started on the first run watched (a command that executes none starts nothing);
    :meth:`close` lets it go once the engine has ended its runs itself.
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._watched: set[str] = set()
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def watching(self, run_id: str) -> AsyncGenerator[None]:
        """While inside, the run's processes die with this process."""
        await self._tell(run_id, add=True)
        try:
            yield
        finally:
            await self._tell(run_id, add=False)

    async def _tell(self, run_id: str, *, add: bool) -> None:
        async with self._lock:
            if add:
                self._watched.add(run_id)
            else:
                self._watched.discard(run_id)
            line = f"{run_id}\n" if add else f"-{run_id}\n"
            if self._proc is None or self._proc.poll() is not None:
                if not add:
                    return
                # A reaper that died (killed by hand) is replaced, told every run again.
                self._proc = await asyncio.to_thread(_spawn)
                line = "".join(f"{r}\n" for r in sorted(self._watched))
            if self._proc is None or self._proc.stdin is None:
                return
            try:
                # A few bytes to a pipe whose reader is waiting on it: this never blocks.
                os.write(self._proc.stdin.fileno(), line.encode())
            except OSError as exc:
                log.warning("the process reaper stopped listening: %s", exc)

    async def close(self) -> None:
        """Let the reaper go (it ends what is left of the runs still watched)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.to_thread(proc.wait, 10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _spawn() -> subprocess.Popen[bytes] | None:
    try:
        return subprocess.Popen(
            # The engine's pid is for people (and tests) telling whose reaper this is.
            [sys.executable, "-I", "-S", str(_CHILD), RUN_MARK, str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Out of the engine's group and session: what ends them must not end it.
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:
        log.warning("no process reaper (%s): runs rely on the parent-death signal", exc)
        return None
