"""The engine facade: submit, steer, cancel and resume runs, and schedule them.

One ``Engine`` per process. It claims queued runs from the store (atomically, so limits
hold across every engine of the workspace), executes each in a task, renews their
leases, and reacts to wake-ups from other processes. The CLI and the cockpit UI talk to
the engine only through this class.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from engine.config import GuardRule
from engine.domain.errors import BadInput, CockpitError, UnknownRepo, UnknownRun
from engine.domain.events import RunStateChanged
from engine.domain.gates import GateResult
from engine.domain.guard import OVERRIDDEN, OVERRIDE, GuardRecord, GuardVerdict, ToolRequest
from engine.domain.inputs import check_priority, check_text
from engine.domain.leaks import secrets_verdict
from engine.domain.models import EngineId, Run, branch_for, new_run_id, utcnow
from engine.domain.redact import KEY_VARIABLES, Redactor
from engine.domain.skills import Skill
from engine.domain.state import RunState, transition
from engine.guard import Policy
from engine.ports.agent import AgentBackend
from engine.ports.gate import Gate
from engine.ports.git import Merges, Salvage, Worktrees
from engine.ports.sandbox import RUN_MARK, Jail, RunBounds, Sandbox, SandboxStatus
from engine.ports.skills import SkillLibrary
from engine.ports.store import RunStore
from engine.services.bus import EventBus
from engine.services.decisions import recover_decisions
from engine.services.gates import check_tree, plan_for, repo_gates, spec_of
from engine.services.queries import EngineQueries
from engine.services.recovery import reap_orphans
from engine.services.review import ReviewCommands
from engine.services.runner import CANCEL, SHUTDOWN, RunExecution
from engine.workspace import Workspace

log = logging.getLogger(__name__)

#: Runs a command line (argv) in a folder: (argv, cwd, timeout, env) -> (exit code, output).
Shell = Callable[..., Awaitable[tuple[int, str]]]


@dataclass
class EngineOptions:
    """Tunables; the defaults are what a workspace gets."""

    lease_ttl: float = 10.0
    lease_renew: float = 3.0
    #: Fallback poll for work and wake-ups lost between processes.
    poll_interval: float = 1.0
    #: Restrict execution to these run ids (``--wait``); None takes any queued run.
    only: frozenset[str] | None = None
    #: Stop once nothing is running and nothing is queued (background engines).
    exit_when_idle: bool = False


class Engine(EngineQueries, ReviewCommands):
    """Schedules and executes runs of one workspace."""

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
        self._sandbox_status: SandboxStatus | None = None
        #: Ends every live process of a run (by its mark); how many there were.
        self._end_processes = end_processes
        #: While inside, a run's processes die with this engine however it ends.
        self._watch_processes = watch_processes
        self._merges = merges
        self.skills = skills
        self.gates = dict(gates or {})
        self.store = store
        self.worktrees = worktrees
        # Kept as given: a mapping may build its backends on first use.
        self.backends = backends
        self.owner = owner
        self.options = options or EngineOptions()
        self.redactor = Redactor(os.environ.get(name) for name in key_variables(workspace))
        self.bus = EventBus(store, redactor=self.redactor)
        self._run_shell = run_shell
        self._notify = notify
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._executions: dict[str, RunExecution] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._only = set(self.options.only) if self.options.only is not None else None
        #: Why a run's execution ended without recording its end, by run id.
        self.unrecorded: dict[str, BaseException] = {}

    # --- commands (used by the CLI and the UI) ----------------------------------------
    async def submit(
        self,
        repo: str,
        task: str,
        agent: str = "scripted",
        scenario: str | None = None,
        skills: list[str] | None = None,
        priority: int = 0,
    ) -> Run:
        """Validate and queue a run; returns it (state ``queued``). Its task is stored
        with keys and tokens masked: the agent gets it masked too."""
        if not task.strip():
            raise BadInput("the task is empty")
        check_text("task", task)
        check_priority(priority)
        task = self.redactor.text(task)
        self.workspace.repo(repo)  # raises UnknownRepo
        repo_path = self.workspace.repo_path(repo)
        if not await self.worktrees.is_repo(repo_path):
            raise BadInput(f"repo '{repo}': {repo_path} is not a git repository")
        base = self.workspace.repo(repo).base
        try:
            await self.worktrees.resolve(repo_path, base)
        except Exception:
            raise BadInput(
                f"repo '{repo}': base branch '{base}' not found in {repo_path}"
            ) from None
        profile = self.workspace.agent(agent)  # raises BadInput
        backend = self.backends.get(profile.backend)
        if backend is None:
            raise BadInput(f"agent '{agent}': backend '{profile.backend}' is not available")
        if scenario is None and profile.scenario:
            scenario = str((self.workspace.root / profile.scenario).resolve())
        backend.preflight(profile.model_dump(), scenario)
        await self._check_sandbox()
        if self.skills is not None:  # unknown or malformed skills: refused now, exit 2
            await asyncio.to_thread(
                self.skills.select, repo, repo_path, self._wanted_skills(repo, skills or [])
            )
        run_id = new_run_id()
        run = Run(
            id=run_id,
            repo=repo,
            task=task,
            agent=agent,
            scenario=scenario,
            skills=list(skills or []),
            priority=priority,
            branch=branch_for(run_id),
            base=base,
        )
        # With its first event in one write: an engine could claim the run in between,
        # and number its own events from 1 too.
        await self.store.insert_run(
            run, [RunStateChanged(run_id=run_id, seq=1, new=RunState.QUEUED, reason="submitted")]
        )
        if self._only is not None:
            self._only.add(run_id)
        self.wake()
        return run

    async def end_run_processes(self, run_id: str) -> int:
        """End every live process of a run (none should be left when it is not
        executing: this makes sure); how many there were."""
        if self._end_processes is None or run_id in self._tasks:
            return 0
        return await self._end_processes(run_id)

    async def sandbox_status(self) -> SandboxStatus:
        """What confines runs here (bubblewrap, or the guard alone and why); probed once,
        off the event loop."""
        if self._sandbox is None:
            return SandboxStatus(
                False, "no sandbox configured: runs are confined by the guard alone"
            )
        return await asyncio.to_thread(self._sandbox.status)

    async def _check_sandbox(self) -> None:
        """``[sandbox] required = true`` refuses runs where no sandbox can be had."""
        if not self.workspace.config.sandbox.required:
            return
        status = await self.sandbox_status()
        if not status.enforced:
            raise BadInput(f"[sandbox] required = true, but {status.detail}")

    def _jail(self, run: Run, worktree: Path, profile_network: bool | None) -> Jail | None:
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

    def policy_for(self, repo: str, worktree: Path) -> Policy:
        """The guard's policy for tool calls working in ``worktree`` (a run's, or the
        repo itself for ``cockpit guard check``)."""
        config = self.workspace.repo(repo)
        # The repo's own rules first: the more specific word wins.
        policy = self.policy_for_any(worktree, config.guard.rules, config.guard.disable)
        policy.default_branches.add(config.base)
        return policy

    def policy_for_any(
        self, worktree: Path, rules: Sequence[GuardRule] = (), disable: Sequence[str] = ()
    ) -> Policy:
        """The workspace's guard policy for calls working in ``worktree``, any repo
        (``rules`` judged before the workspace's, ``disable`` added to its own)."""
        guard = self.workspace.config.guard
        return Policy(
            worktree=worktree,
            rules=[*rules, *guard.rules],
            disabled={*guard.disable, *disable},
        )

    async def guard_check(
        self, request: ToolRequest, repo: str | None, worktree: Path
    ) -> GuardVerdict:
        """What the guard would decide of ``request`` working in ``worktree`` (under
        ``repo``'s rules too, when given), its reason masked."""
        if repo is not None:
            self.workspace.repo(repo)  # raises UnknownRepo
        policy = self.policy_for(repo, worktree) if repo else self.policy_for_any(worktree)
        verdict = policy.decide(request)
        if verdict.reason:  # the reason may quote the command, and the command a key
            verdict = dataclasses.replace(verdict, reason=self.redact(verdict.reason))
        return verdict

    async def available_skills(self, repo: str) -> list[Skill]:
        """Every skill a run on ``repo`` could load (its instruction files first)."""
        if self.skills is None:
            return []
        return await asyncio.to_thread(self.skills.available, self.workspace.repo_path(repo))

    async def gate_names(self, repo: str) -> list[str]:
        """The names of the gates a repo's runs get (configured, or its defaults)."""
        config = self.workspace.repo(repo)
        gates = await asyncio.to_thread(repo_gates, config, self.workspace.repo_path(repo))
        return [g.name for g in gates]

    async def check_gates(self, target: str) -> tuple[Path, list[GateResult]]:
        """Run every gate configured for a repo on a tree: ``target`` is a repo name (its
        working tree, untracked files included) or a run (its worktree). Returns the
        tree judged and the verdicts."""
        if target in self.workspace.config.repos:
            repo, tree, base = target, self.workspace.repo_path(target), "HEAD"
        else:
            try:
                run = await self.resolve_run(target)
            except UnknownRun:
                repos = ", ".join(self.workspace.config.repos) or "none configured"
                raise UnknownRepo(
                    f"'{target}' is neither a repo ({repos}) nor a run in {self.workspace.root}"
                ) from None
            tree = run.worktree_path
            if tree is None or not tree.is_dir():
                raise BadInput(f"run {run.id} has no worktree to check (it was removed)")
            repo, base = run.repo, run.base_sha or run.base
        configured = await asyncio.to_thread(repo_gates, self.workspace.repo(repo), tree)
        specs = [spec_of(g, base) for g in configured]
        results = await check_tree(self.gates, specs, tree)
        if target not in self.workspace.config.repos and run.base_sha:
            # Every run, gates configured or not: no key reaches the base unnoticed.
            diff = await self.worktrees.diff(tree, run.base_sha)
            results.append(secrets_verdict(diff, self.redactor))
        return tree, results

    async def resolve_run(self, ref: str) -> Run:
        """Find a run by id or unique id prefix."""
        run = await self.store.get_run(ref)
        if run is not None:
            return run
        matches = await self.store.find_runs(ref) if ref else []
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise UnknownRun(f"no run '{ref}' in {self.workspace.root}")
        raise UnknownRun(f"run id '{ref}' is ambiguous: {', '.join(r.id for r in matches)}")

    async def list_runs(self) -> list[Run]:
        """Every run, oldest first, with orphaned ones reported as interrupted (and
        review decisions cut short by a crash finished or undone)."""
        await reap_orphans(self.store)
        await recover_decisions(self)
        return await self.store.list_runs()

    async def steer(self, ref: str, text: str) -> int:
        """Queue a steering message (or an answer) for a run; returns its id."""
        run = await self.resolve_run(ref)
        if run.state.is_terminal:
            raise BadInput(f"run {run.id} is {run.state.value}; it cannot be steered")
        if not text.strip():
            raise BadInput("the steering message is empty")
        check_text("steering message", text)
        message = await self.store.add_steering(run.id, self.redactor.text(text))
        execution = self._executions.get(run.id)
        if execution is not None:
            execution.steering_arrived.set()
        else:
            await self._poke()
        return message.id

    async def override_guard(self, ref: str, rule: str) -> GuardRecord:
        """The human's override: ``rule`` no longer refuses or asks in this run. The
        override is a ledger row of its own (evidence, like every decision), and the agent
        is told it may retry what the rule last refused. Returns that row."""
        run = await self.resolve_run(ref)
        if run.state.is_terminal:
            raise BadInput(f"run {run.id} is {run.state.value}; there is nothing left to allow")
        ledger = await self.store.guard_ledger(run.id)
        stopped = [r for r in ledger if r.rule == rule and r.outcome == "refused"]
        if not stopped:
            rules = sorted({r.rule for r in ledger if r.outcome == "refused"})
            known = ", ".join(rules) or "none has"
            raise BadInput(f"rule {rule!r} refused nothing in run {run.id} (refusing: {known})")
        last = stopped[-1]
        record = dataclasses.replace(
            last,
            at=utcnow(),
            decision=OVERRIDE,
            outcome=OVERRIDDEN,
            reason="overridden by the human",
        )
        await self.store.record_guard(record)
        await self.steer(
            run.id,
            f"The human lifted the guard rule {rule!r} for the rest of this run: you may"
            f" retry what it refused ({last.tool} {last.action}).",
        )
        return record

    async def cancel(self, ref: str) -> Run:
        """Cancel a run: at once when queued or interrupted, else via its engine."""
        run = await self.resolve_run(ref)
        if run.state.is_terminal:
            raise BadInput(f"run {run.id} is already {run.state.value}")
        await self.store.request_cancel(run.id)
        if run.id in self._tasks:
            self._stop_task(run.id, CANCEL)
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._tasks[run.id])
        elif run.state in (RunState.QUEUED, RunState.INTERRUPTED):
            await self._record_state(run, RunState.CANCELLED, "cancelled on request")
        else:
            await self._poke()
        return await self.resolve_run(run.id)

    async def resume(self, ref: str) -> Run:
        """Queue an interrupted (or failed) run again; it continues after its last turn."""
        await reap_orphans(self.store)
        await recover_decisions(self)
        run = await self.resolve_run(ref)
        if run.state not in (RunState.INTERRUPTED, RunState.FAILED):
            raise BadInput(
                f"run {run.id} is {run.state.value}; only interrupted or failed runs resume"
            )
        run.cancel_requested = False
        run.error = None
        await self._requeue(run, "resumed")
        return run

    async def _requeue(self, run: Run, reason: str) -> None:
        """Put a run that had ended back in the queue, and wake whoever executes runs."""
        run.finished_at = None
        await self._record_state(run, RunState.QUEUED, reason)
        if self._only is not None:
            self._only.add(run.id)
        self.wake()
        await self._poke()

    async def send_back(self, ref: str, message: str) -> Run:
        """Give a run a message that needs the agent to act: steered while it works, or
        (finished, interrupted, failed) queued again with the message waiting for it —
        how review comments reach the agent."""
        run = await self.resolve_run(ref)
        if run.state is RunState.CANCELLED:
            raise BadInput(f"run {run.id} is cancelled; it cannot be sent back")
        if not message.strip():
            raise BadInput("the message is empty")
        if run.state not in (RunState.FINISHED, RunState.INTERRUPTED, RunState.FAILED):
            await self.steer(run.id, message)
            return run
        if run.worktree is None or not Path(run.worktree).is_dir():
            raise BadInput(f"run {run.id} has no worktree left to work in")
        await self.store.add_steering(run.id, message)
        if run.state is RunState.FINISHED:
            await self._requeue(run, "sent back with review comments")
            return run
        return await self.resume(run.id)

    @property
    def merges(self) -> Merges:
        """Git's side of review decisions (approve, reject)."""
        if self._merges is None:
            raise BadInput("this engine was opened without git merges (a test engine)")
        return self._merges

    async def remove_worktree(self, ref: str) -> Salvage | None:
        """Remove a run's worktree; unmerged work is salvaged first (never lost)."""
        run = await self.resolve_run(ref)
        if run.state.is_active or run.id in self._tasks:
            raise BadInput(f"run {run.id} is {run.state.value}; cancel it first")
        if run.worktree is None or run.base_sha is None:
            return None
        salvage_dir = self.workspace.salvage_dir / f"{run.id}-{utcnow():%Y%m%dT%H%M%S}"
        return await self.worktrees.remove(
            self.workspace.repo_path(run.repo), Path(run.worktree), salvage_dir, run.base_sha
        )

    # --- the loop ---------------------------------------------------------------------
    def wake(self) -> None:
        """Look for work now (called by the control socket and by commands)."""
        for execution in self._executions.values():
            execution.steering_arrived.set()
        self._wake.set()

    def request_stop(self) -> None:
        """Ask :meth:`run` to shut down (runs in flight become interrupted)."""
        self._stopping.set()
        self._wake.set()

    @property
    def running_ids(self) -> list[str]:
        """Runs this engine is executing now."""
        return list(self._tasks)

    async def run(self) -> None:
        """Schedule until stopped (or idle, with ``exit_when_idle``), then shut down."""
        await self.bus.start()
        renewer = asyncio.create_task(self._renew_leases(), name="lease-renewer")
        try:
            await reap_orphans(self.store)
            await recover_decisions(self)
            # Probed once before the first run starts (it runs a jail: a system call
            # or two the event loop must not wait on).
            self._sandbox_status = await self.sandbox_status()
            while not self._stopping.is_set():
                self._wake.clear()
                await self._check_cancels()
                await self._claim()
                if await self._idle():
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.options.poll_interval)
        finally:
            renewer.cancel()
            await self._shutdown()

    async def _claim(self) -> None:
        limits = self.workspace.config.limits
        while not self._stopping.is_set():
            if self._only is not None and not (self._only - set(self._tasks)):
                return
            run = await self.store.claim_next(
                self.owner.token,
                utcnow() + timedelta(seconds=self.options.lease_ttl),
                limits.max_running,
                limits.max_running_per_repo,
                sorted(self._only) if self._only is not None else None,
            )
            if run is None:
                return
            self._start(run)

    def _wanted_skills(self, repo: str, named: list[str]) -> list[str]:
        """The repo's configured skills, then those the run names."""
        return [*self.workspace.repo(repo).skills, *named]

    async def _execute(self, execution: RunExecution) -> None:
        if self._watch_processes is None:
            await execution.execute()
            return
        async with self._watch_processes(execution.run.id):
            await execution.execute()

    def _start(self, run: Run) -> None:
        profile = self.workspace.agent(run.agent)
        backend = self.backends[profile.backend]
        worktree = run.worktree_path or (self.workspace.worktrees_dir / run.repo / run.id)
        jail = self._jail(run, worktree.resolve(), profile.sandbox.network)
        execution = RunExecution(
            run,
            repo_path=self.workspace.repo_path(run.repo),
            worktree=worktree.resolve(),
            profile=profile.model_dump(),
            backend=backend,
            store=self.store,
            bus=self.bus,
            worktrees=self.worktrees,
            timeout=self.workspace.config.limits.run_timeout,
            poll_interval=self.options.poll_interval,
            run_shell=self._run_shell,
            state_dir=self.workspace.state_dir / "agents" / run.id,
            skill_library=self.skills,
            wanted_skills=self._wanted_skills(run.repo, run.skills),
            gates=functools.partial(plan_for, self.workspace.repo(run.repo), self.gates),
            policy=dataclasses.replace(
                self.policy_for(run.repo, worktree.resolve()), own_branch=run.branch
            ),
            ask_timeout=self.workspace.config.guard.ask_timeout,
            redactor=self.redactor,
            jail=jail,
            command_env=command_env(run.id, key_variables(self.workspace)),
            end_processes=self._end_processes,
        )
        self._executions[run.id] = execution
        task = asyncio.create_task(self._execute(execution), name=f"run-{run.id}")
        self._tasks[run.id] = task

        def done(finished: asyncio.Task[None], run_id: str = run.id) -> None:
            error = None if finished.cancelled() else finished.exception()
            if error is not None:
                # The run's end could not be recorded (the store refused it: a full
                # disk); kept for `run --wait` to report, and the run is reaped later.
                self.unrecorded[run_id] = error
            self._tasks.pop(run_id, None)
            self._executions.pop(run_id, None)
            if self._only is not None:
                self._only.discard(run_id)  # resume() adds it back
            self._wake.set()

        task.add_done_callback(done)

    async def _idle(self) -> bool:
        if self._tasks:
            return False
        if self._only is not None:
            return not self._only
        if not self.options.exit_when_idle:
            return False
        runs = await self.store.list_runs()
        return not any(r.state is RunState.QUEUED for r in runs)

    async def _check_cancels(self) -> None:
        for run_id in list(self._tasks):
            run = await self.store.get_run(run_id)
            if run is not None and run.cancel_requested:
                self._stop_task(run_id, CANCEL)

    def _stop_task(self, run_id: str, reason: str) -> None:
        execution = self._executions.get(run_id)
        task = self._tasks.get(run_id)
        if execution is None or task is None:
            return
        if execution.stop_reason is None:
            execution.stop_reason = reason
            task.cancel()

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.options.lease_renew)
            lease = utcnow() + timedelta(seconds=self.options.lease_ttl)
            try:
                await self.store.renew_leases(self.owner.token, lease)
            except CockpitError as exc:  # a full disk: the next tick tries again
                log.info("leases not renewed: %s", exc)

    async def _shutdown(self) -> None:
        for run_id in list(self._tasks):
            self._stop_task(run_id, SHUTDOWN)
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        await self.bus.stop()

    async def _record_state(self, run: Run, new: RunState, reason: str) -> None:
        """A state change of a run no engine is executing (queued, interrupted, failed)."""
        old = run.state
        run.state = transition(old, new)
        if new.is_terminal:
            run.finished_at = utcnow()
        # One transaction: an engine that claims the run as soon as it is queued numbers
        # its first event after this one, never the same.
        await self.store.save_run_with_events(
            run,
            lambda last: [
                RunStateChanged(run_id=run.id, seq=last + 1, old=old, new=new, reason=reason)
            ],
        )

    async def _poke(self) -> None:
        if self._notify is not None:
            await self._notify()


#: Words in the names of variables that hold credentials: an agent's commands never see
#: them (nor the agents' sockets that hand out keys).
_SECRET_NAME = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL")
_AGENT_SOCKETS = {"SSH_AUTH_SOCK", "GPG_AGENT_INFO", "GNUPGHOME"}


def command_env(run_id: str, keys: set[str]) -> dict[str, str]:
    """The environment of a run's commands: the engine's, without API keys and other
    credentials (an ``env`` dump must not print them), with the run's mark."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in keys
        and name not in _AGENT_SOCKETS
        and not any(word in name.upper() for word in _SECRET_NAME)
    }
    env[RUN_MARK] = run_id
    return env


def key_variables(workspace: Workspace) -> set[str]:
    """The variables holding API keys: every profile's ``api_key_env``, and the usual."""
    named = {p.api_key_env for p in workspace.config.agents.values() if p.api_key_env}
    return named | set(KEY_VARIABLES)
