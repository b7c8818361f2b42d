"""The detached engine: one process per workspace that executes runs and serves clients.

``serve_detached`` is what ``cockpit engine start --foreground`` runs (``start`` without it
runs the same in a background process). It holds ``.cockpit/engine.lock`` (so a second
engine of the workspace refuses to start, and a socket left by a dead one is known to be
stale), listens on ``.cockpit/engine.sock``, executes runs until stopped, and exits by
itself after ``[engine] idle_exit`` with no client and nothing queued or running.

Killed with -9, it leaves runs in flight to the next engine, which reports them
interrupted (worktrees kept, resumable) as it starts; the reaper it started kills the
agents' processes as soon as it is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

from engine.bootstrap import open_engine
from engine.domain.errors import BadInput, CockpitError
from engine.domain.redact import RedactingFilter
from engine.domain.state import ACTIVE, RunState
from engine.rpc import wire
from engine.rpc.address import bind_path, lock_owner, lock_path, private_folder, socket_link
from engine.rpc.reload import ConfigFollower
from engine.rpc.server import EngineServer
from engine.services.engine import Engine, EngineOptions
from engine.services.notify import Notifier
from engine.workspace import Workspace

log = logging.getLogger(__name__)

#: Seconds a stopping engine gives notify commands still running.
NOTIFY_GRACE = 3.0
#: Seconds between looks at whether the engine is idle.
IDLE_CHECK = 2.0


class EngineRunning(CockpitError):
    """Another engine already serves this workspace."""

    def __init__(self, pid: int | None) -> None:
        super().__init__(f"an engine already runs for this workspace (pid {pid})")
        self.pid = pid


@contextlib.contextmanager
def workspace_lock(state_dir: Path) -> Generator[None]:
    """Hold ``.cockpit/engine.lock`` (with this process's pid in it) for the block.

    The kernel drops the lock when the process dies, however it dies: a lock that can be
    taken means no engine runs, whatever files a dead one left.
    """
    path = lock_path(state_dir)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise EngineRunning(lock_owner(state_dir)) from None
        with contextlib.suppress(OSError):  # the pid is a courtesy (a full disk)
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # releases the lock


def _place_socket(state_dir: Path) -> Path:
    """Where to bind, with ``.cockpit/engine.sock`` linking to it when it lies elsewhere
    (whatever a dead engine left there goes: the lock says it is stale)."""
    link = socket_link(state_dir)
    target = bind_path(state_dir)
    if link.is_dir() and not link.is_symlink():
        raise BadInput(f"{link} is a folder, not the engine's socket: move it aside")
    if link.is_symlink() or link.exists():
        link.unlink()
    if target != link:
        private_folder(target.parent)
        target.unlink(missing_ok=True)
        link.symlink_to(target)
    return target


async def serve_detached(
    workspace: Workspace,
    options: EngineOptions | None = None,
    *,
    idle_exit: float | None = None,
    on_ready: Callable[[Path], None] | None = None,
) -> None:
    """Run the workspace's engine and its socket until stopped (a signal, ``engine.stop``)
    or idle for ``idle_exit`` seconds (default: ``[engine] idle_exit``)."""
    idle_after = workspace.config.engine.idle_exit if idle_exit is None else idle_exit
    state_dir = workspace.state_dir
    # The store first: what is wrong with it (read-only, full, not a file) is the most
    # useful thing to say; then the lock, which only the one engine gets.
    async with open_engine(workspace, options) as engine, contextlib.AsyncExitStack() as stack:
        stack.enter_context(workspace_lock(state_dir))
        target = _place_socket(state_dir)
        for handler in logging.getLogger().handlers:  # the log never holds a key
            handler.addFilter(RedactingFilter(engine.redact))
        notifier = Notifier(lambda: workspace.config.notify, engine.get_run, engine.redact)
        engine.on_events(notifier.deliver)
        started = time.monotonic()

        async def status() -> dict[str, Any]:
            return await _status(engine, started, socket_link(state_dir))

        config = ConfigFollower(workspace)

        async def greeting() -> dict[str, Any]:
            await config.refresh()  # the file as it is now, not as it was at the last look
            return {"config_error": config.problem, "idle_exit": workspace.config.engine.idle_exit}

        server = EngineServer(
            engine, status, engine.request_stop, before_call=config.refresh, greeting=greeting
        )
        await server.start(target)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, engine.request_stop)  # runs → interrupted
        idle = loop.create_task(_exit_when_idle(engine, server, idle_after))
        following = loop.create_task(config.follow())
        log.info("engine serving %s on %s", workspace.root, target)
        if on_ready is not None:
            on_ready(target)
        try:
            await engine.run()
        finally:
            idle.cancel()
            following.cancel()
            await server.close()
            await notifier.close(grace=NOTIFY_GRACE)
            link = socket_link(state_dir)
            if link.is_symlink():
                link.unlink(missing_ok=True)
            log.info("engine stopped")


async def _counts(engine: Engine) -> tuple[int, int]:
    runs = await engine.list_runs()
    running = sum(1 for r in runs if r.state in ACTIVE)
    queued = sum(1 for r in runs if r.state is RunState.QUEUED)
    return running, queued


async def _status(engine: Engine, started: float, socket: Path) -> dict[str, Any]:
    running, queued = await _counts(engine)
    return {
        "engine": True,
        "pid": os.getpid(),
        "socket": str(socket),
        "uptime_s": round(time.monotonic() - started, 1),
        "running": running,
        "queued": queued,
        "protocol": wire.PROTOCOL,
        "workspace": str(engine.workspace.root),
    }


async def _exit_when_idle(engine: Engine, server: EngineServer, after: float) -> None:
    """Stop the engine once it has had no client and no queued or running run for
    ``after`` seconds."""
    idle_since: float | None = None
    while True:
        await asyncio.sleep(min(IDLE_CHECK, after / 4))
        # The store is read only when no client is attached and nothing executes here.
        busy = server.clients > 0 or bool(engine.running_ids) or any(await _counts(engine))
        now = time.monotonic()
        if busy:
            idle_since = None
        elif idle_since is None:
            idle_since = now
        elif now - idle_since >= after:
            log.info("idle for %.0f s with no client: exiting", after)
            engine.request_stop()
            return
