"""The reaper's own process (standard library only, started with ``python -I -S``).

It reads run ids from its stdin, one per line (``-ID`` forgets one), until the engine
that started it closes the pipe — by exiting, or by dying, ``kill -9`` included, since
the kernel closes a dead process's files. Then it kills (SIGKILL) every live process
still marked as one of the runs it was told of, until none is left, and exits.

Why a process of its own: the kernel's parent-death signal has gaps no child can close
(bubblewrap arms it in the sandbox's first process only after some set-up, and a child
forked just before its parent dies can miss it). Reading the end of a pipe has none.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time

#: Passes over /proc after the engine is gone: a process being forked while the others
#: are killed is found by the next one.
PASSES = 20
PAUSE = 0.05


def marked(needles: set[bytes]) -> list[int]:
    """Live processes whose environment holds one of ``needles`` (``MARK=ID``)."""
    found = []
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                environ = f.read()
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        if stat[stat.rfind(b")") + 2 :][:1] == b"Z":
            continue
        if needles.intersection(environ.split(b"\0")):
            found.append(int(name))
    return found


def main(mark: str) -> None:
    # A hang-up or ^C meant for the engine's terminal or group is not meant for this.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watched: set[bytes] = set()
    pending = b""
    while chunk := os.read(0, 4096):
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            if line.startswith(b"-"):
                watched.discard(line[1:])
            elif line:
                watched.add(line)
    needles = {mark.encode() + b"=" + run_id for run_id in watched}
    for _ in range(PASSES if needles else 0):
        found = marked(needles)
        if not found:
            return
        for pid in found:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(PAUSE)


if __name__ == "__main__":
    main(sys.argv[1])  # argv[2], the engine's pid, only names it in ps
