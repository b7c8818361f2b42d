"""How a failure is said on the command line: one line and an exit code."""

from __future__ import annotations

import errno
from pathlib import Path

from cockpit.client.local import NO_SPACE, disk_full
from engine.domain.errors import CockpitError


def one_line(exc: BaseException) -> tuple[str, int] | None:
    """What a failure says to the user and its exit code (None: a bug, left to show its
    traceback): a Cockpit error as it is, a file the system refused to write as where
    and why."""
    if isinstance(exc, CockpitError):
        return str(exc), exc.exit_code
    if isinstance(exc, OSError):
        if exc.errno in NO_SPACE:
            return str(disk_full(Path(exc.filename or Path.cwd()))), 1
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM) and exc.filename:
            return f"cannot write {exc.filename}: {exc.strerror}", 2
    return None
