"""Sandbox: the port that confines a run's processes, enforced by the kernel.

The guard explains what an agent may not do; a sandbox makes it impossible. A
:class:`Jail` is one run's confinement: every process the run starts goes through
:meth:`Jail.wrap`, which turns a command line into one that runs confined (on Linux,
under bubblewrap). Where no sandbox can be had, the jail wraps nothing and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

#: The environment variable marking every process of a run, inherited by its children:
#: whatever ended the run, its processes can be found (and ended) by it.
RUN_MARK = "COCKPIT_RUN"


@dataclass(frozen=True)
class SandboxStatus:
    """Whether runs are confined by the kernel here, and by what (or why not)."""

    enforced: bool
    #: One line: "bubblewrap 0.8.0", or why there is no sandbox ("bwrap not found …").
    detail: str
    #: The program confining runs (its path), when there is one.
    tool: str | None = None


@dataclass(frozen=True)
class RunBounds:
    """What one run may change: its worktree, its own branch, and a few private folders."""

    worktree: Path
    #: The run's branch (``cockpit/RUN``): the only ref its processes may move.
    branch: str | None
    #: Folders the run's processes may write besides the worktree (an agent CLI's state).
    writable: tuple[Path, ...] = ()
    #: Whether commands may reach the network.
    network: bool = False
    #: A folder of the engine's for this run's bookkeeping (never inside the worktree).
    scratch: Path | None = None


class Jail(Protocol):
    """One run's confinement."""

    @property
    def enforced(self) -> bool:
        """Whether :meth:`wrap` confines (False: the guard alone stands)."""

    def wrap(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        network: bool | None = None,
        writable: Sequence[Path] = (),
    ) -> list[str]:
        """``argv`` as a command line that runs it confined (``network`` and extra
        ``writable`` folders override the run's bounds for this one process)."""

    def shell_line(self, command: str) -> str:
        """A command line for an agent CLI's own shell (already in the jail, with the
        network its model needs) that runs ``command`` without the network when the
        run's commands have none."""

    async def enter(self) -> None:
        """Before a confined process starts: show it the run's branch as it is now."""

    async def leave(self) -> str | None:
        """After a confined process (or a turn of a long-lived one): carry what it did
        to the run's branch back to the repo. Returns a line for the transcript when
        something it tried was refused, else None."""


class Sandbox(Protocol):
    """Makes jails; one per engine."""

    def status(self) -> SandboxStatus:
        """What confines runs on this machine (checked once, then remembered)."""

    def jail(self, bounds: RunBounds) -> Jail:
        """The confinement of one run."""
