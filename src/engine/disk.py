"""Running out of disk space: telling it apart from other write failures, and saying
which device is full and what was being written, in one line."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from engine.domain.errors import DiskFull

#: Below this many free bytes a failed write is taken for a full disk (SQLite reports
#: some of those as a plain I/O error, without the errno).
NEARLY_FULL = 256 * 1024
#: Errors of a write that found no room (the quota's too).
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def mount_point(path: Path) -> Path:
    """The mount point of the filesystem holding ``path`` (or its nearest existing parent)."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        device = path.stat().st_dev
        while path != path.parent and path.parent.stat().st_dev == device:
            path = path.parent
    except OSError:
        pass  # unreadable on the way up: the deepest folder known is still a fair answer
    return path


def device_name(path: Path) -> str:
    """The device holding ``path`` as a person knows it: ``SOURCE (MOUNT POINT)`` from the
    mount table, or the mount point alone where there is no table (macOS)."""
    mount = mount_point(path)
    source = None
    try:
        table = Path("/proc/self/mounts").read_text(encoding="utf-8", errors="replace")
    except OSError:
        table = ""
    for line in table.splitlines():
        fields = line.split()
        # The table escapes blanks in paths as octal (\040); a later mount on the same
        # point hides an earlier one, so the last entry wins.
        if len(fields) >= 2 and _unescape(fields[1]) == str(mount):
            source = fields[0]
    return f"{source} ({mount})" if source and source != str(mount) else str(mount)


def _unescape(field: str) -> str:
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def free_space(path: Path) -> tuple[int, int] | None:
    """(bytes free to us, block size) on the filesystem holding ``path``; None if unknown."""
    try:
        stats = os.statvfs(mount_point(path))
    except OSError:
        return None
    return stats.f_bavail * stats.f_frsize, stats.f_frsize or 4096


def nearly_full(path: Path) -> bool:
    """Whether the filesystem holding ``path`` has (almost) no space left for us."""
    free = free_space(path)
    return free is not None and free[0] < NEARLY_FULL


def disk_full(path: Path, detail: str = "") -> DiskFull:
    """The one-line error of a write to ``path`` that found no space (``detail``, when
    given, goes in brackets at the end)."""
    more = f" ({detail})" if detail else ""
    return DiskFull(f"no space left on {device_name(path)} while writing {path}{more}")
