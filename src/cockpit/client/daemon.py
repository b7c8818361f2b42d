"""Finding, starting and stopping a workspace's detached engine, from a front end.

The engine is a process of its own (``cockpit engine start --foreground``, started in
the background here when a command needs one): these functions only look at its files
(``.cockpit/engine.sock``, ``.cockpit/engine.lock``) and talk to it over the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.client.remote import SocketClient
from engine.domain.errors import EngineUnavailable
from engine.rpc import wire
from engine.rpc.address import connect_path, engine_alive, lock_owner

if TYPE_CHECKING:
    from engine.workspace import Workspace

#: Seconds a started engine has to answer on its socket.
START_TIMEOUT = 30.0
#: Seconds ``stop`` waits for the engine to exit before it is sent SIGTERM, then SIGKILL.
STOP_TIMEOUT = 15.0


def engine_log(workspace: Workspace) -> Path:
    """Where a background engine writes its log."""
    return workspace.logs_dir / "engine.log"


async def connect(workspace: Workspace) -> SocketClient:
    """A client of the workspace's running engine (``EngineUnavailable`` when none runs)."""
    path = connect_path(workspace.state_dir)
    if path is None:
        raise EngineUnavailable("no engine running")
    return await SocketClient.connect(path)


async def connect_or_start(workspace: Workspace) -> SocketClient:
    """A client of the workspace's engine, started in the background when none runs."""
    try:
        return await connect(workspace)
    except EngineUnavailable:
        pass
    return await wait_for_engine(workspace, start_background(workspace))


class Starting:
    """An engine started in the background: its process, and the pipe on which it says
    it is ready or why it could not start (one JSON line)."""

    def __init__(self, process: subprocess.Popen[bytes], report: int) -> None:
        self.process = process
        self._report = report
        self._said = b""

    def said(self) -> dict[str, Any] | None:
        """The engine's report, once it has written it (None until then)."""
        try:
            while chunk := os.read(self._report, 4096):
                self._said += chunk
        except BlockingIOError:
            pass
        if not self._said.endswith(b"\n"):
            return None
        return json.loads(self._said)

    def close(self) -> None:
        """Stop listening to the engine's report (the engine goes on)."""
        with contextlib.suppress(OSError):
            os.close(self._report)


def start_background(workspace: Workspace) -> Starting:
    """Start ``cockpit engine start --foreground`` detached from this process (its own
    session: closing the terminal or this command does not end it)."""
    log = engine_log(workspace)
    log.parent.mkdir(parents=True, exist_ok=True)
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    try:
        try:
            out = log.open("ab")
        except OSError:
            # No log (a read-only .cockpit): the engine still starts, to say what is wrong.
            out = subprocess.DEVNULL
        with contextlib.nullcontext(out) if isinstance(out, int) else out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cockpit",
                    "--workspace",
                    str(workspace.root),
                    "engine",
                    "start",
                    "--foreground",
                    "--report-fd",
                    str(write_end),
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                pass_fds=(write_end,),
            )
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
    return Starting(process, read_end)


async def wait_for_engine(
    workspace: Workspace, starting: Starting, timeout: float = START_TIMEOUT
) -> SocketClient:
    """Connect once the started engine says it is ready; raise what stopped it (the
    same error, a broken config still exit code 2) when it could not start."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            report = starting.said()
            if report is not None and "error" in report and not report.get("running"):
                # It is on its way out: let it go before saying why, so no engine
                # outlives the command that reports it could not start.
                await asyncio.to_thread(reap, starting.process)
                wire.raise_error(report["error"])
            # Ready, or another engine won the race and is starting: connect when it can.
            try:
                return await connect(workspace)
            except EngineUnavailable:
                exited = starting.process.poll() is not None
                if exited and report is None and starting.said() is not None:
                    continue  # it wrote why just before it exited: read that
                if exited and report is None:
                    raise EngineUnavailable(
                        f"the engine did not start: {last_line(engine_log(workspace))} "
                        f"(see {engine_log(workspace)})"
                    ) from None
            if time.monotonic() > deadline:
                raise EngineUnavailable(
                    f"the engine did not answer within {timeout:.0f} s "
                    f"(see {engine_log(workspace)})"
                )
            await asyncio.sleep(0.02)
    finally:
        starting.close()


def reap(process: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """Wait for an engine that said it could not start to exit (killed past ``timeout``)."""
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def last_line(path: Path) -> str:
    """The last non-empty line of a log (what a failed start said)."""
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    return lines[-1].strip() if lines else "no log"


@contextlib.asynccontextmanager
async def engine_client(
    workspace: Workspace, *, start: bool = True
) -> AsyncGenerator[SocketClient]:
    """A connection to the workspace's engine for the block (started when ``start``)."""
    client = await (connect_or_start(workspace) if start else connect(workspace))
    try:
        yield client
    finally:
        await client.close()


async def engine_status(workspace: Workspace) -> dict[str, Any] | None:
    """What the running engine says of itself, None when none runs."""
    try:
        client = await connect(workspace)
    except EngineUnavailable:
        return None
    try:
        return await client.status()
    finally:
        await client.close()


async def stop_engine(workspace: Workspace, timeout: float = STOP_TIMEOUT) -> int | None:
    """Stop the running engine and wait until it has exited; its pid (None: none ran).

    Asked over the socket first; an engine that does not answer or does not exit in
    ``timeout`` seconds gets SIGTERM, then SIGKILL."""
    pid = _lock_pid(workspace)
    try:
        client = await connect(workspace)
    except EngineUnavailable:
        client = None
    if client is not None:
        pid = client.engine_info.get("pid", pid)
        with contextlib.suppress(EngineUnavailable):
            await client.stop_engine()
        await client.close()
    if pid is None or not process_running(pid):
        return pid if client is not None else None
    if await _exited(pid, timeout):
        return pid
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not await _exited(pid, 5):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pid


def _lock_pid(workspace: Workspace) -> int | None:
    if not engine_alive(workspace.state_dir):
        return None
    return lock_owner(workspace.state_dir)


def process_running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet waited for, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


async def _exited(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process_running(pid):
            return True
        await asyncio.sleep(0.05)
    return not process_running(pid)
