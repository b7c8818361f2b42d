"""The engine facade: the one class the CLI, the cockpit UI and bootstrap use.

One ``Engine`` per process. It wires its parts together and adds nothing of its own
but how a claimed run's execution is built:

* :class:`~engine.services.scheduler.Scheduler` claims queued runs and supervises their
  executions (``run``, ``wake``, ``request_stop``);
* :class:`~engine.services.commands.RunCommands`: submit, steer, cancel, resume… and the
  checks with the workspace's rules;
* :class:`~engine.services.review.ReviewCommands`: review decisions;
* :class:`~engine.services.queries.EngineQueries`: reads.

Together they implement :class:`engine.api.EngineApi`.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from engine.domain.errors import BadInput
from engine.domain.models import EngineId, Run
from engine.domain.redact import Redactor
from engine.ports.agent import AgentBackend
from engine.ports.gate import Gate
from engine.ports.git import Merges, Worktrees
from engine.ports.sandbox import Jail, RunBounds, Sandbox
from engine.ports.skills import SkillLibrary
from engine.ports.store import RunStore
from engine.services.bus import EventBus
from engine.services.commands import RunCommands
from engine.services.decisions import recover_decisions
from engine.services.facts import FactsBook
from engine.services.gates import plan_for
from engine.services.queries import EngineQueries
from engine.services.recovery import reap_orphans
from engine.services.review import ReviewCommands
from engine.services.run_setup import (
    RunServices,
    RunSetup,
    Shell,
    command_env,
    key_variables,
)
from engine.services.runner import RunExecution
from engine.services.scheduler import EngineOptions, Scheduler
from engine.workspace import Workspace

# EngineOptions lives with the scheduler it tunes; clients import it from here.
__all__ = ["Engine", "EngineOptions"]


class Engine(EngineQueries, ReviewCommands, RunCommands):
    """Schedules and executes runs of one workspace, and answers its clients."""

    def __init__(
        self,
        workspace: Workspace,
        store: RunStore,
        worktrees: Worktrees,
        backends: Mapping[str, AgentBackend],
        owner: EngineId,
        run_shell: Shell,
        notify: Callable[[], Awaitable[Any]] | None = None,
        options: EngineOptions | None = None,
        skills: SkillLibrary | None = None,
        gates: Mapping[str, Gate] | None = None,
        merges: Merges | None = None,
        sandbox: Sandbox | None = None,
        end_processes: Callable[[str], Awaitable[int]] | None = None,
        watch_processes: Callable[[str], AbstractAsyncContextManager[None]] | None = None,
    ) -> None:
        self.workspace = workspace
        self._sandbox = sandbox
        #: Ends every live process of a run (by its mark); how many there were.
        self._end_processes = end_processes
        self._merges = merges
        self.skills = skills
        self.gates = dict(gates or {})
        self._store = store
        self._worktrees = worktrees
        # Kept as given: a mapping may build its backends on first use.
        self._backends = backends
        self.owner = owner
        self.options = options or EngineOptions()
        self.redactor = Redactor(os.environ.get(name) for name in key_variables(workspace))
        self._bus = EventBus(store, redactor=self.redactor)
        self._facts = FactsBook(store)
        #: Wakes the other engines of the workspace (None: there are none to tell).
        self._notify = notify
        #: What every run this engine executes shares.
        self._run_services = RunServices(
            store=store,
            bus=self._bus,
            worktrees=worktrees,
            run_shell=run_shell,
            poll_interval=self.options.poll_interval,
            skill_library=skills,
            redactor=self.redactor,
            end_processes=end_processes,
        )
        self._scheduler = Scheduler(
            workspace,
            store,
            self._bus,
            owner,
            self.options,
            launch=self._launch,
            prepare=self._prepare,
            watch_processes=watch_processes,
        )

    # --- the scheduler's side ---------------------------------------------------------
    async def run(self) -> None:
        """Schedule until stopped (or idle, with ``exit_when_idle``), then shut down."""
        await self._scheduler.run()

    def wake(self) -> None:
        """Look for work now (called by the control socket and by commands)."""
        self._scheduler.wake()

    def request_stop(self) -> None:
        """Ask :meth:`run` to shut down (runs in flight become interrupted)."""
        self._scheduler.request_stop()

    @property
    def running_ids(self) -> list[str]:
        """Runs this engine is executing now."""
        return self._scheduler.running_ids

    @property
    def unrecorded(self) -> dict[str, BaseException]:
        """Why a run's execution ended without recording its end, by run id."""
        return self._scheduler.unrecorded

    @property
    def merges(self) -> Merges:
        """Git's side of review decisions (approve, reject)."""
        if self._merges is None:
            raise BadInput("this engine was opened without git merges (a test engine)")
        return self._merges

    # --- how a run is executed --------------------------------------------------------
    async def _prepare(self) -> None:
        """Before the first claim: runs orphaned by a dead engine reported interrupted,
        and review decisions cut short finished or undone."""
        await reap_orphans(self._store)
        await recover_decisions(self)
        # Probed once before the first run starts (it runs a jail: a system call or two
        # the event loop must not wait on); the sandbox keeps the answer for its jails.
        await self.sandbox_status()

    def _launch(self, run: Run) -> RunExecution:
        """The execution of a claimed run, its setup worked out from the workspace."""
        profile = self.workspace.agent(run.agent)
        backend = self._backends[profile.backend]
        worktree = (
            run.worktree_path or (self.workspace.worktrees_dir / run.repo / run.id)
        ).resolve()
        jail = self._jail(run, worktree, profile.sandbox.network)
        setup = RunSetup(
            repo_path=self.workspace.repo_path(run.repo),
            worktree=worktree,
            profile=profile.model_dump(),
            backend=backend,
            timeout=self.workspace.config.limits.run_timeout,
            state_dir=self.workspace.state_dir / "agents" / run.id,
            wanted_skills=tuple(self._wanted_skills(run.repo, run.skills)),
            gates=functools.partial(plan_for, self.workspace.repo(run.repo), self.gates),
            # Named, not read from the worktree: the only branch the run may move or delete.
            policy=dataclasses.replace(self.policy_for(run.repo, worktree), own_branch=run.branch),
            ask_timeout=self.workspace.config.guard.ask_timeout,
            jail=jail,
            command_env=command_env(run.id, key_variables(self.workspace)),
        )
        return RunExecution(run, setup, self._run_services)

    def _jail(self, run: Run, worktree: Path, profile_network: bool | None) -> Jail | None:
        """The run's jail (None without a sandbox); the profile's network setting wins
        over the workspace's."""
        if self._sandbox is None:
            return None
        network = self.workspace.config.sandbox.network
        bounds = RunBounds(
            worktree=worktree,
            branch=run.branch,
            network=network if profile_network is None else profile_network,
            scratch=self.workspace.state_dir / "sandbox" / run.id,
        )
        return self._sandbox.jail(bounds)
