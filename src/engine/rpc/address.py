"""Where a workspace's engine listens: ``.cockpit/engine.sock``.

A Unix socket's path is limited (108 bytes on Linux, the terminating NUL included). When
``.cockpit/engine.sock`` would be longer, the socket is made under ``$XDG_RUNTIME_DIR``
(the user's private runtime folder; a private folder under the system's temporary
folder without it) and ``.cockpit/engine.sock`` is a link to it. Clients connect to the
link's target, never through the link, for the same reason.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import socket
import stat
import struct
import tempfile
from pathlib import Path

from engine.domain.errors import BadInput

#: Longest socket path we bind or connect to (sun_path is 108 bytes, NUL included).
MAX_PATH = 107
#: The name every workspace's engine socket has under ``.cockpit``.
SOCKET_NAME = "engine.sock"
#: The file the live engine holds locked (and writes its pid in) while it runs.
LOCK_NAME = "engine.lock"


def socket_link(state_dir: Path) -> Path:
    """``.cockpit/engine.sock``: the socket itself, or a link to it."""
    return state_dir / SOCKET_NAME


def lock_path(state_dir: Path) -> Path:
    """``.cockpit/engine.lock``: one engine per workspace holds it."""
    return state_dir / LOCK_NAME


def fits(path: Path) -> bool:
    """Whether ``path`` is short enough to bind or connect a Unix socket to."""
    return len(os.fsencode(str(path))) <= MAX_PATH


def bind_path(state_dir: Path) -> Path:
    """Where a new engine of this workspace makes its socket: ``.cockpit/engine.sock``,
    or, when that is too long, the first place that fits of ``$XDG_RUNTIME_DIR`` and the
    system's temporary folder (``BadInput`` naming them when none does)."""
    link = socket_link(state_dir)
    if fits(link):
        return link
    import hashlib  # here: a client connecting never needs it (nor OpenSSL's start)

    digest = hashlib.sha256(os.fsencode(str(state_dir.resolve()))).hexdigest()[:16]
    bases = [os.environ.get("XDG_RUNTIME_DIR"), tempfile.gettempdir(), "/tmp"]
    tried: list[str] = []
    for base in bases:
        if not base or not Path(base).is_dir() or base in tried:
            continue
        tried.append(base)
        path = Path(base) / f"cockpit-{os.getuid()}" / f"{digest}.sock"
        if fits(path):
            return path
    raise BadInput(
        f"the engine's socket path is too long for the system ({link}), and so is every "
        f"place tried instead ({', '.join(tried)}): use a shorter workspace path or "
        "XDG_RUNTIME_DIR"
    )


def private_folder(folder: Path) -> None:
    """Make ``folder`` (mode 0700) or check an existing one is this user's alone: a
    folder another user made, or others may write, could have the socket swapped."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise BadInput(
            f"the socket folder {folder} is not private (owner uid {info.st_uid}, mode "
            f"{stat.S_IMODE(info.st_mode):o}): remove it, or set XDG_RUNTIME_DIR"
        )


def connect_path(state_dir: Path) -> Path | None:
    """The socket a client connects to (the link's target), None when there is none."""
    link = socket_link(state_dir)
    if link.is_symlink():
        target = Path(os.readlink(link))
        return target if target.is_absolute() else link.parent / target
    return link if link.exists() else None


def lock_owner(state_dir: Path) -> int | None:
    """The pid the lock file names (the live engine's, when one holds it)."""
    try:
        return int(lock_path(state_dir).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def engine_alive(state_dir: Path) -> bool:
    """Whether an engine holds this workspace's lock now."""
    path = lock_path(state_dir)
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def peer_uid(writer: asyncio.StreamWriter) -> int | None:
    """The uid of the process at the other end of a Unix socket (SO_PEERCRED)."""
    sock: socket.socket | None = writer.get_extra_info("socket")
    return None if sock is None else socket_peer_uid(sock)


def socket_peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end of a connected Unix socket."""
    fmt = "3i"  # struct ucred: pid, uid, gid
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize(fmt))
    return struct.unpack(fmt, raw)[1]
