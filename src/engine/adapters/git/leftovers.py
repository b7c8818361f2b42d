"""What a killed git leaves behind: processes that outlived the decision that started
them, and lock files (``index.lock``, ``HEAD.lock``, ``refs/heads/X.lock``,
``packed-refs.lock``) that make every later git command in the repo refuse.

A lock file is only ever removed when no git process is alive in the repo: a lock held
by someone's live ``git commit`` is not stale, and removing it would let two writers
corrupt the index. Processes are found through ``/proc`` (Linux); elsewhere a lock counts
as stale once it is older than :data:`STALE_AFTER` seconds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path

from engine.adapters.git.lifeline import MARK

#: Without ``/proc``, how old a lock must be to count as left by a dead process (git
#: holds its locks for milliseconds, at most a few seconds on a huge checkout).
STALE_AFTER = 10.0
#: How long to wait for an ended process to be gone before giving up for this time.
_REAP_WAIT = 5.0


def _pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not reaped, does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] not in ("Z", "X")


def marked(prefix: str, spare: str) -> list[int]:
    """Live processes whose ``COCKPIT_DECISION`` starts with ``prefix``, except those
    marked exactly ``spare`` (this process's own)."""
    found: list[int] = []
    needle = f"{MARK}={prefix}".encode()
    for pid in _pids():
        if pid == os.getpid():
            continue
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue  # gone, or not ours to read
        for item in environ.split(b"\0"):
            if item.startswith(needle) and item != f"{MARK}={spare}".encode():
                found.append(pid)
                break
    return [pid for pid in found if _alive(pid)]


def end_marked(prefix: str, spare: str) -> bool:
    """SIGKILL every process :func:`marked` finds and wait until they are gone; False
    if one is still there after a few seconds (blocking: call it in a thread)."""
    strays = marked(prefix, spare)
    for pid in strays:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + _REAP_WAIT
    while strays and time.monotonic() < deadline:
        strays = [pid for pid in strays if _alive(pid)]
        if strays:
            time.sleep(0.02)
    return not strays


def git_at_work(places: Iterable[Path]) -> list[int]:
    """Live git processes whose working folder is one of ``places`` or inside one (git
    moves to the top of its working tree, or into the git dir, before it locks
    anything). Empty where there is no ``/proc``."""
    roots = [os.path.realpath(p) for p in places]
    busy: list[int] = []
    for pid in _pids():
        if pid == os.getpid():
            continue
        try:
            if not Path(f"/proc/{pid}/comm").read_text().startswith("git"):
                continue
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if any(cwd == root or cwd.startswith(root + os.sep) for root in roots):
            busy.append(pid)
    return [pid for pid in busy if _alive(pid)]


def remove_stale_locks(places: Iterable[Path], locks: Iterable[Path]) -> bool:
    """Remove ``locks`` that exist, once no git process works in ``places``; False
    (nothing removed) while one does (blocking: call it in a thread)."""
    present = [lock for lock in locks if lock.exists()]
    if not present:
        return True
    if Path("/proc/self").is_dir():
        if git_at_work(places):
            return False
    else:
        now = time.time()
        if any(now - lock.stat().st_mtime < STALE_AFTER for lock in present):
            return False
    for lock in present:
        lock.unlink(missing_ok=True)
    return True
