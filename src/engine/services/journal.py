"""The decision journal: what a review decision (approve, reject) is about to do,
written to disk before it moves any ref, so whoever comes next can finish or undo it
after a crash (``kill -9``, a power cut).

One file per run being decided, ``.cockpit/journal/RUN.json``, replaced whole on every
write (written to a temporary file, fsynced, renamed over, the folder fsynced): a reader
sees the previous entry or the next, never half of one. Its sibling ``RUN.lock`` is held
(``flock``) by the process deciding the run, for as long as it does: the kernel lets go
when that process dies, however it dies, which is how recovery tells a journal left by
a dead process from one a live process is still writing. The file holds::

    {"version": 1, "decision": "approve" | "reject", "run": ID, "repo": PATH,
     "base": BRANCH, "branch": "cockpit/ID", "worktree": PATH,
     "phase": "begun" | "merging",
     "checkout": PATH | null,            # where the base branch is checked out
     "old": SHA | null,                  # the base before the merge
     "merge": SHA | null,                # the merge commit, once made (nothing moved yet)
     "squash": BOOL, "gates_overridden": [NAMES],
     "pid": N, "host": NAME, "at": ISO-8601}
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import socket
from collections.abc import AsyncGenerator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

from engine.domain.models import utcnow

VERSION = 1


@dataclass(frozen=True)
class Entry:
    """One decision in flight (see the module's docstring for the fields)."""

    decision: Literal["approve", "reject"]
    run: str
    repo: str
    base: str
    branch: str
    worktree: str
    phase: Literal["begun", "merging"] = "begun"
    checkout: str | None = None
    old: str | None = None
    merge: str | None = None
    squash: bool = False
    gates_overridden: list[str] = field(default_factory=list)
    pid: int = field(default_factory=os.getpid)
    host: str = field(default_factory=socket.gethostname)
    at: str = field(default_factory=lambda: utcnow().isoformat())

    def merging(
        self, old: str, merge: str, checkout: Path | None, squash: bool, gates: list[str]
    ) -> Entry:
        """This entry once the merge commit exists and before anything moves."""
        return replace(
            self,
            phase="merging",
            old=old,
            merge=merge,
            checkout=str(checkout) if checkout is not None else None,
            squash=squash,
            gates_overridden=list(gates),
            at=utcnow().isoformat(),
        )


class Busy(Exception):
    """Another live process is deciding this run."""


class Held:
    """A run's journal while this process holds its lock: read, write, finish."""

    def __init__(self, folder: Path, run_id: str) -> None:
        self._path = folder / f"{run_id}.json"
        self.finished = False

    async def read(self) -> Entry | None:
        """The entry on disk (None: there is none, or it cannot be read)."""
        return await asyncio.to_thread(_read, self._path)

    async def write(self, entry: Entry) -> None:
        """Replace the entry, durably, before the caller goes on."""
        await asyncio.to_thread(_write, self._path, entry)

    async def finish(self) -> None:
        """The decision is over (done, or undone): its journal goes."""
        await asyncio.to_thread(_remove, self._path)
        self.finished = True


class Journal:
    """The workspace's decision journals, in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def pending(self) -> list[str]:
        """Runs with a journal on disk (some may belong to live processes)."""

        def listing() -> list[str]:
            try:
                names = os.listdir(self.folder)
            except FileNotFoundError:
                return []
            return sorted(n.removesuffix(".json") for n in names if n.endswith(".json"))

        return await asyncio.to_thread(listing)

    @contextlib.asynccontextmanager
    async def hold(self, run_id: str) -> AsyncGenerator[Held]:
        """Hold ``run_id``'s lock for the block; :class:`Busy` when a live process holds
        it. The lock is let go when the block ends (the journal stays unless finished;
        the lock file goes with it)."""
        fd = await asyncio.to_thread(_lock, self.folder, run_id)
        try:
            yield Held(self.folder, run_id)
        finally:
            await asyncio.to_thread(_unlock, fd, self.folder, run_id)


def _lock(folder: Path, run_id: str) -> int:
    """Open and flock ``RUN.lock`` without waiting; its descriptor (blocking)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_id}.lock"
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise Busy(run_id) from None
        # The holder before us may have finished and unlinked the file we opened: a lock
        # on that orphan would not exclude anyone who opens the path now.
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def _unlock(fd: int, folder: Path, run_id: str) -> None:
    """Let go of the lock; its file too when no journal is left for it to guard."""
    try:
        if not (folder / f"{run_id}.json").exists():
            # Unlinked while still held: see the inode check in _lock.
            (folder / f"{run_id}.lock").unlink(missing_ok=True)
    finally:
        os.close(fd)


def _read(path: Path) -> Entry | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    data.pop("version", None)
    try:
        return Entry(**data)
    except TypeError:
        return None


def _write(path: Path, entry: Entry) -> None:
    tmp = path.with_suffix(".tmp")
    data = json.dumps({"version": VERSION, **asdict(entry)}, indent=1).encode()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _sync_folder(path.parent)


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make a rename or unlink in ``folder`` durable (a power cut keeps it)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
