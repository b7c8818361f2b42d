"""Subprocesses in their own process group, so cancelling a run leaves nothing behind.

Every process a run starts carries ``COCKPIT_RUN=<run id>`` in its environment, which its
own children inherit: whatever ends the run (even ``kill -9`` of the engine), the next
engine finds every process of it by that mark (:func:`run_processes`) and ends them
(:func:`end_run_processes`) before the run is resumed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from engine.ports.sandbox import RUN_MARK

#: Seconds between SIGTERM and SIGKILL when a process group is stopped.
KILL_GRACE = 1.0
#: Output kept from one command (the head and the tail); the rest is elided.
MAX_OUTPUT = 64_000
_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    # Looked up once, in the parent: a child between fork and exec should do no more
    # than call it.
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()


def die_with_parent() -> Callable[[], None]:
    """A ``preexec_fn`` for a child that must not outlive this process: the kernel sends
    it SIGKILL when the thread that started it dies (``kill -9`` of the engine included).

    A parent killed between the fork and the child's request sends nothing (the child is
    already an orphan when it asks), so the child also checks that its parent is still
    the process that made this function, and ends before it execs when not. Call this
    in the parent, at each spawn: the pid is read there.
    """
    return functools.partial(_die_with, os.getpid())


def _die_with(parent: int) -> None:
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)


def marked_env(run_id: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) with the run's mark added."""
    out = dict(os.environ if env is None else env)
    out[RUN_MARK] = run_id
    return out


def run_processes(run_id: str) -> list[int]:
    """Pids of the live processes marked as the run's (Linux; elsewhere none are found)."""
    needle = f"{RUN_MARK}={run_id}".encode()
    found: list[int] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    me = os.getpid()
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            environ = (entry / "environ").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if needle in environ.split(b"\0") and stat[stat.rfind(")") + 2 :][:1] != "Z":
            found.append(int(entry.name))
    return found


async def end_run_processes(run_id: str, grace: float = KILL_GRACE) -> int:
    """End every live process of the run (SIGTERM, then SIGKILL after ``grace``); how
    many there were."""
    found = await asyncio.to_thread(run_processes, run_id)
    left = found
    for pid in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = asyncio.get_running_loop().time() + grace
    while left and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
        left = await asyncio.to_thread(run_processes, run_id)
    for pid in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return len(found)


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
    """SIGTERM the group, wait up to ``grace`` seconds, then SIGKILL what is left and
    wait (up to ``grace`` again) until it is gone: on return nothing of it runs."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    if await _gone(pgid, grace):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    # A signal is delivered when the process next runs: on a busy machine that is not
    # at once, and the caller is promised a group that is gone.
    await _gone(pgid, grace)


async def _gone(pgid: int, wait: float) -> bool:
    """Whether the group is gone within ``wait`` seconds."""
    deadline = asyncio.get_running_loop().time() + wait
    while asyncio.get_running_loop().time() < deadline:
        if not group_alive(pgid):
            return True
        await asyncio.sleep(0.02)
    return not group_alive(pgid)


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
    command: str | Sequence[str],
    cwd: Path,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    on_start: Callable[[int], object] | None = None,
) -> tuple[int, str]:
    """Run ``command`` (a line for ``/bin/sh -c``, or an argv) in ``cwd``, in a new
    process group that dies with this process.

    Returns (exit code, combined stdout+stderr). On timeout the group is killed and the
    exit code is 124 (as coreutils' ``timeout``); on cancellation the group is killed and
    the CancelledError propagates. ``on_start`` gets the process group's id.
    """
    argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
    spawn = asyncio.ensure_future(
        asyncio.create_subprocess_exec(
            *argv,
            cwd=str(cwd),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            env=dict(env) if env is not None else None,
            preexec_fn=die_with_parent(),
        )
    )
    try:
        proc = await asyncio.shield(spawn)
    except asyncio.CancelledError:
        # Cancelled while the process was being started: it runs already (it may have
        # done work), so it is waited for and its group ended before the cancel goes on.
        proc = await spawn
        await kill_group(proc.pid)
        raise
    if on_start is not None:
        on_start(proc.pid)
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
