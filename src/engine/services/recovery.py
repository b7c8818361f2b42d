"""Crash recovery: runs whose engine died are reported as ``interrupted``.

An active run belongs to an engine process (its ``owner``) that renews a lease of at most
10 s. When the owner's process is gone, or the lease has expired, whoever reads runs
next marks the run interrupted, with its worktree untouched, so it can be resumed.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from engine.domain.events import RunStateChanged
from engine.domain.models import EngineId, Run, utcnow
from engine.domain.state import RunState
from engine.ports.store import RunStore, is_orphaned

HOST = socket.gethostname()


def owner_alive(token: str | None) -> bool:
    """Whether the engine process named by ``token`` still exists (on this host)."""
    if token is None:
        return False
    owner = EngineId.parse(token)
    if owner is None:
        return False
    if owner.host != HOST:
        return True  # another machine: only its lease can tell
    return process_alive(owner.pid)


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs. A zombie counts as dead: a killed engine whose parent has
    exited may never be reaped (PID 1 in a container often does not reap)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): the signal check is all we have
    return stat[stat.rfind(")") + 2 :].split()[0] not in ("Z", "X")


async def reap_orphans(store: RunStore) -> list[Run]:
    """Mark every orphaned active run interrupted (with its state-change event)."""
    now = utcnow()
    reaped: list[Run] = []
    for run in await store.list_runs():
        if not is_orphaned(run, now, owner_alive(run.owner)):
            continue
        fresh = await store.get_run(run.id)  # it may have moved on since it was listed
        if fresh is None or not is_orphaned(fresh, now, owner_alive(fresh.owner)):
            continue
        old = fresh.state
        fresh.state = RunState.INTERRUPTED
        fresh.owner = None
        fresh.lease_expires_at = None
        fresh.finished_at = now
        reason = "its engine stopped (process gone or lease expired)"
        new = fresh.state
        await store.save_run_with_events(  # one transaction: see RunStore
            fresh,
            lambda last, run_id=fresh.id, old=old, new=new, reason=reason: [
                RunStateChanged(run_id=run_id, seq=last + 1, old=old, new=new, reason=reason)
            ],
        )
        reaped.append(fresh)
    return reaped
