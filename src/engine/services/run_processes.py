"""Where one run's processes run: its commands in the worktree (in the run's jail when it
has one), an agent CLI's command line confined and marked as the run's, and what an
earlier execution of the run left running ended first.

A part of :class:`~engine.services.runner.RunExecution`, kept apart so the runner holds
the lifecycle and this the processes.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from engine.domain.events import ErrorOccurred
from engine.ports.sandbox import RUN_MARK, Jail
from engine.services.run_setup import RunServices


class RunProcesses:
    """Starts one run's processes, confined to its jail and marked as the run's."""

    def __init__(
        self,
        run_id: str,
        worktree: Path,
        state_dir: Path,
        jail: Jail | None,
        command_env: dict[str, str] | None,
        services: RunServices,
    ) -> None:
        self._run_id = run_id
        self._worktree = worktree
        self._state_dir = state_dir
        self._jail = jail
        #: The environment of the run's commands (the engine's keys left out, the run's
        #: mark in): None inherits the engine's.
        self._command_env = command_env
        self._run_shell = services.run_shell
        self._end_processes = services.end_processes
        self._bus = services.bus

    async def end_leftovers(self) -> int:
        """End every live process marked as this run's (an earlier execution killed with
        its engine may have left commands running: two copies of the agent must never
        work in one worktree); how many there were."""
        if self._end_processes is None:
            return 0
        return await self._end_processes(self._run_id)

    async def run_command(self, command: str, timeout: float | None) -> tuple[int, str]:
        """Run a shell command in the worktree, in its own process group, in the run's
        jail when there is one."""
        argv = ["/bin/sh", "-c", command]
        if self._jail is None:
            return await self._run_shell(argv, self._worktree, timeout, self._command_env)
        await self._jail.enter()
        try:
            argv = self._jail.wrap(argv, cwd=self._worktree)
            env = {**(self._command_env or os.environ), "TMPDIR": "/tmp"}  # the jail's own
            return await self._run_shell(argv, self._worktree, timeout, env)
        finally:
            # Shielded: a cancelled command's commit must still reach the run's branch.
            await asyncio.shield(self.carry_back())

    async def confine(
        self, argv: list[str], env: dict[str, str] | None = None
    ) -> tuple[list[str], dict[str, str]]:
        """An agent CLI's command line and environment: in the run's jail (network kept,
        its private folder writable), marked as the run's so no process of it outlives
        the run unnoticed."""
        env = dict(os.environ if env is None else env)
        env[RUN_MARK] = self._run_id
        argv = list(argv)
        if argv:
            # Found now, as the engine would: inside the jail the process starts in the
            # worktree, where a relative command (node_modules/.bin/…) is not.
            found = shutil.which(argv[0], path=env.get("PATH"))
            argv[0] = os.path.abspath(found) if found else argv[0]
        if self._jail is None:
            return argv, env
        if not _under_any(env.get("TMPDIR"), (self._state_dir, self._worktree)):
            env["TMPDIR"] = "/tmp"  # the jail's own: any other is read-only there
        await self._jail.enter()
        self._state_dir.mkdir(parents=True, exist_ok=True)
        wrapped = self._jail.wrap(
            argv, cwd=self._worktree, network=True, writable=[self._state_dir]
        )
        return wrapped, env

    def shell_line(self, command: str) -> str:
        """``command`` for an agent CLI's own shell: without network when the run's
        commands have none (see :meth:`Jail.shell_line`)."""
        return command if self._jail is None else self._jail.shell_line(command)

    async def carry_back(self) -> None:
        """Bring a commit made inside the jail to the run's branch (see the sandbox)."""
        if self._jail is None:
            return
        note = await self._jail.leave()
        if note is not None:
            self._bus.emit(ErrorOccurred(run_id=self._run_id, message=f"sandbox: {note}"))


def _under_any(path: str | None, folders: tuple[Path, ...]) -> bool:
    """Whether ``path`` is one of ``folders`` or inside one."""
    return path is not None and any(Path(path).is_relative_to(f) for f in folders)
