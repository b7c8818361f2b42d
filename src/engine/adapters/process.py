"""Subprocesses in their own process group, so cancelling a run leaves nothing behind."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Mapping
from pathlib import Path

#: Seconds between SIGTERM and SIGKILL when a process group is stopped.
KILL_GRACE = 1.0
#: Output kept from one command (the head and the tail); the rest is elided.
MAX_OUTPUT = 64_000


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` is still alive (zombies count as gone)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # killpg succeeds while zombies remain; look for a live member in /proc when we can.
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the command name (which may hold spaces) start after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


async def kill_group(pgid: int, grace: float = KILL_GRACE) -> None:
    """SIGTERM the group, wait up to ``grace`` seconds, then SIGKILL what is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = asyncio.get_running_loop().time() + grace
    while asyncio.get_running_loop().time() < deadline:
        if not group_alive(pgid):
            return
        await asyncio.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


async def read_lines(stream: asyncio.StreamReader | None, keep: Callable[[str], None]) -> None:
    """Hand every non-empty line of ``stream`` (a child's stderr) to ``keep`` until it ends.

    Also what keeps a child writing to a pipe nobody else reads from blocking on it.
    """
    if stream is None:
        return
    async for raw in stream:
        text = raw.decode("utf-8", errors="replace").strip()
        if text:
            keep(text)


def clip_output(text: str, limit: int = MAX_OUTPUT) -> str:
    """Keep the head and tail of long output; agents and transcripts need both ends."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n… [{len(text) - limit} characters elided] …\n{text[-half:]}"


async def run_shell(
    command: str,
    cwd: Path,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[int, str]:
    """Run ``command`` with ``/bin/sh -c`` in ``cwd``, in a new process group.

    Returns (exit code, combined stdout+stderr). On timeout the group is killed and the
    exit code is 124 (as coreutils' ``timeout``); on cancellation the group is killed and
    the CancelledError propagates.
    """
    proc = await asyncio.create_subprocess_exec(
        "/bin/sh",
        "-c",
        command,
        cwd=str(cwd),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
        env=dict(env) if env is not None else None,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        await kill_group(proc.pid)
        with contextlib.suppress(ProcessLookupError):
            await proc.wait()
        return 124, f"command timed out after {timeout:g}s"
    except asyncio.CancelledError:
        await asyncio.shield(kill_group(proc.pid))
        raise
    finally:
        # The shell may have exited while children it started linger in the group.
        if group_alive(proc.pid):
            await kill_group(proc.pid)
    return proc.returncode or 0, clip_output(out.decode("utf-8", errors="replace"))
