"""What clients ask an engine to do to runs: submit, steer, cancel, resume, send back,
override a guard rule, remove a worktree — and the checks they make with the
workspace's rules (the guard's policy, gates, skills, the sandbox).

A mixin of :class:`engine.services.engine.Engine`, kept apart so the engine's module
wires the engine, :mod:`engine.services.scheduler` executes runs, and this one holds
the commands. A run this engine is executing is reached through its scheduler; one
executed elsewhere, through the store and a poke to every engine of the workspace.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from engine.config import GuardRule
from engine.domain import codec
from engine.domain.errors import BadInput, UnknownRepo, UnknownRun
from engine.domain.events import RunStateChanged, SteeringQueued
from engine.domain.gates import GateResult
from engine.domain.guard import OVERRIDDEN, OVERRIDE, GuardRecord, GuardVerdict, ToolRequest
from engine.domain.inputs import check_priority, check_text
from engine.domain.leaks import secrets_verdict
from engine.domain.models import Run, branch_for, new_run_id, utcnow
from engine.domain.redact import Redactor
from engine.domain.skills import Skill
from engine.domain.snapshot import Snapshot
from engine.domain.state import RunState, transition
from engine.guard import Policy
from engine.ports.agent import AgentBackend
from engine.ports.gate import Gate
from engine.ports.git import Salvage, Worktrees
from engine.ports.sandbox import Sandbox, SandboxStatus
from engine.ports.skills import SkillLibrary
from engine.ports.store import RunStore
from engine.services.bus import EventBus
from engine.services.decisions import recover_decisions
from engine.services.facts import FactsBook
from engine.services.gates import check_tree, repo_gates, spec_of
from engine.services.recovery import reap_orphans
from engine.services.scheduler import Scheduler
from engine.workspace import Workspace

if TYPE_CHECKING:
    from engine.services.engine import Engine

#: The most characters of events one snapshot answer carries over the socket: far below
#: the longest line a client reads (engine.rpc.wire.MAX_LINE, 64 MiB).
SNAPSHOT_CHARS = 8 * 1024 * 1024


class RunCommands:
    """The commands clients make of runs, and the checks with the workspace's rules."""

    workspace: Workspace
    _store: RunStore
    _worktrees: Worktrees
    _backends: Mapping[str, AgentBackend]
    skills: SkillLibrary | None
    gates: dict[str, Gate]
    redactor: Redactor
    _scheduler: Scheduler
    _bus: EventBus
    _facts: FactsBook
    _sandbox: Sandbox | None
    _end_processes: Callable[[str], Awaitable[int]] | None
    _notify: Callable[[], Awaitable[Any]] | None

    # --- runs -------------------------------------------------------------------------
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
        if not await self._worktrees.is_repo(repo_path):
            raise BadInput(f"repo '{repo}': {repo_path} is not a git repository")
        base = self.workspace.repo(repo).base
        try:
            await self._worktrees.resolve(repo_path, base)
        except Exception:
            raise BadInput(
                f"repo '{repo}': base branch '{base}' not found in {repo_path}"
            ) from None
        profile = self.workspace.agent(agent)  # raises BadInput
        backend = self._backends.get(profile.backend)
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
        await self._store.insert_run(
            run, [RunStateChanged(run_id=run_id, seq=1, new=RunState.QUEUED, reason="submitted")]
        )
        self._scheduler.expect(run_id)
        self._scheduler.wake()
        return run

    async def resolve_run(self, ref: str) -> Run:
        """Find a run by id or unique id prefix."""
        run = await self._store.get_run(ref)
        if run is not None:
            return run
        matches = await self._store.find_runs(ref) if ref else []
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise UnknownRun(f"no run '{ref}' in {self.workspace.root}")
        raise UnknownRun(f"run id '{ref}' is ambiguous: {', '.join(r.id for r in matches)}")

    async def list_runs(self) -> list[Run]:
        """Every run, oldest first, with orphaned ones reported as interrupted (and
        review decisions cut short by a crash finished or undone)."""
        await reap_orphans(self._store)
        await recover_decisions(_engine(self))
        return await self._store.list_runs()

    async def snapshot(self, tail: int, runs: int) -> Snapshot:
        """Every run (as :meth:`list_runs`) with its facts, and the newest ``tail``
        events of the newest ``runs`` runs and of every active one (none at all for a
        ``tail`` of 0), in one answer: what a client shows first. The id of the newest
        stored event is read first, so a follower starting there misses nothing stored
        meanwhile."""
        last, every, ids = await self._snapshot_runs(tail, runs)
        pages = await asyncio.gather(*(self._store.events_tail(i, tail) for i in ids))
        return Snapshot(
            last_event_id=last,
            runs=every,
            tails=dict(zip(ids, pages, strict=True)),
            facts=self._facts.of(r.id for r in every),
        )

    async def snapshot_json(self, tail: int, runs: int) -> str:
        """:meth:`snapshot` as the JSON a client reads, its events as they are stored:
        none is decoded and encoded again (every cockpit's first read, thousands of
        events of 20 live runs, costs the engine its SQL and no more)."""
        last, every, ids = await self._snapshot_runs(tail, runs)
        pages = await asyncio.gather(*(self._store.events_tail_json(i, tail) for i in ids))
        # One answer is one line, which a client reads whole: past SNAPSHOT_CHARS of
        # events (long texts, many runs), the older runs' tails are left out (read
        # after, one run at a time, as any run the snapshot leaves out).
        kept: list[tuple[str, list[str]]] = []
        size = 0
        for run_id, page in reversed(list(zip(ids, pages, strict=True))):
            chars = sum(len(event) + 1 for event in page)
            if size + chars <= SNAPSHOT_CHARS:
                kept.append((run_id, page))
                size += chars
        tails = ",".join(f"{json.dumps(run_id)}:[{','.join(page)}]" for run_id, page in kept[::-1])
        facts = self._facts.of(r.id for r in every)
        head = json.dumps(
            {"last_event_id": last, "runs": codec.encode(every), "facts": codec.encode(facts)},
            separators=(",", ":"),
        )
        return f'{head[:-1]},"tails":{{{tails}}}}}'

    async def _snapshot_runs(self, tail: int, runs: int) -> tuple[int, list[Run], list[str]]:
        """The newest event id, every run, and the ids of those whose tails a snapshot
        holds (the newest ``runs`` and the active ones, oldest first); the runs' facts
        brought up to date after that id was read."""
        if tail < 0 or runs < 0:
            raise BadInput("snapshot: tail and runs must be 0 or more")
        last = await self._store.last_event_id()
        # The facts before the rows: a row is then as new as its run's facts, or newer.
        await self._facts.update()
        every = await self.list_runs()
        if not tail:
            return last, every, []  # no events asked for: no run's are read
        newest = every[len(every) - runs :] if runs else []
        shown = {*(r.id for r in newest), *(r.id for r in every if r.state.is_active)}
        return last, every, [r.id for r in every if r.id in shown]

    async def steer(self, ref: str, text: str) -> int:
        """Queue a steering message (or an answer) for a run; returns its id."""
        run = await self.resolve_run(ref)
        if run.state.is_terminal:
            raise BadInput(f"run {run.id} is {run.state.value}; it cannot be steered")
        if not text.strip():
            raise BadInput("the steering message is empty")
        check_text("steering message", text)
        message = await self._store.add_steering(run.id, self.redactor.text(text))
        if self._scheduler.steering_arrived(run.id):
            # Numbered by this engine, which executes the run: every client shows it.
            self._bus.emit(SteeringQueued(run_id=run.id, steering_id=message.id, text=message.text))
        else:
            await self._poke()  # executed elsewhere: its engine is told
        return message.id

    async def override_guard(self, ref: str, rule: str) -> GuardRecord:
        """The human's override: ``rule`` no longer refuses or asks in this run. The
        override is a ledger row of its own (evidence, like every decision), and the agent
        is told it may retry what the rule last refused. Returns that row."""
        run = await self.resolve_run(ref)
        if run.state.is_terminal:
            raise BadInput(f"run {run.id} is {run.state.value}; there is nothing left to allow")
        ledger = await self._store.guard_ledger(run.id)
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
        await self._store.record_guard(record)
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
        await self._store.request_cancel(run.id)
        # Executed here: ended, and its end recorded, once this returns.
        if not await self._scheduler.cancel(run.id):
            if run.state in (RunState.QUEUED, RunState.INTERRUPTED):
                await self._record_state(run, RunState.CANCELLED, "cancelled on request")
            else:
                await self._poke()  # its engine ends it
        return await self.resolve_run(run.id)

    async def resume(self, ref: str) -> Run:
        """Queue an interrupted (or failed) run again; it continues after its last turn."""
        await reap_orphans(self._store)
        await recover_decisions(_engine(self))
        run = await self.resolve_run(ref)
        if run.state not in (RunState.INTERRUPTED, RunState.FAILED):
            raise BadInput(
                f"run {run.id} is {run.state.value}; only interrupted or failed runs resume"
            )
        run.cancel_requested = False
        run.error = None
        await self._requeue(run, "resumed")
        return run

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
        await self._store.add_steering(run.id, message)
        if run.state is RunState.FINISHED:
            await self._requeue(run, "sent back with review comments")
            return run
        return await self.resume(run.id)

    async def remove_worktree(self, ref: str) -> Salvage | None:
        """Remove a run's worktree; unmerged work is salvaged first (never lost)."""
        run = await self.resolve_run(ref)
        if run.state.is_active or self._scheduler.is_executing(run.id):
            raise BadInput(f"run {run.id} is {run.state.value}; cancel it first")
        if run.worktree is None or run.base_sha is None:
            return None
        salvage_dir = self.workspace.salvage_dir / f"{run.id}-{utcnow():%Y%m%dT%H%M%S}"
        return await self._worktrees.remove(
            self.workspace.repo_path(run.repo), Path(run.worktree), salvage_dir, run.base_sha
        )

    async def end_run_processes(self, run_id: str) -> int:
        """End every live process of a run (none should be left when it is not
        executing: this makes sure); how many there were."""
        if self._end_processes is None or self._scheduler.is_executing(run_id):
            return 0
        return await self._end_processes(run_id)

    async def _requeue(self, run: Run, reason: str) -> None:
        """Put a run that had ended back in the queue, and wake whoever executes runs."""
        run.finished_at = None
        await self._record_state(run, RunState.QUEUED, reason)
        self._scheduler.expect(run.id)
        self._scheduler.wake()
        await self._poke()

    async def _record_state(self, run: Run, new: RunState, reason: str) -> None:
        """A state change of a run no engine is executing (queued, interrupted, failed)."""
        old = run.state
        run.state = transition(old, new)
        if new.is_terminal:
            run.finished_at = utcnow()
        # One transaction: an engine that claims the run as soon as it is queued numbers
        # its first event after this one, never the same.
        await self._store.save_run_with_events(
            run,
            lambda last: [
                RunStateChanged(run_id=run.id, seq=last + 1, old=old, new=new, reason=reason)
            ],
        )

    async def _poke(self) -> None:
        """Wake the other engines of the workspace (a run they execute changed)."""
        if self._notify is not None:
            await self._notify()

    # --- the workspace's rules --------------------------------------------------------
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
            verdict = dataclasses.replace(verdict, reason=self.redactor.text(verdict.reason))
        return verdict

    def _wanted_skills(self, repo: str, named: list[str]) -> list[str]:
        """The skills a run loads: the repo's configured ones, then those it names."""
        return [*self.workspace.repo(repo).skills, *named]

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
            diff = await self._worktrees.diff(tree, run.base_sha)
            results.append(secrets_verdict(diff, self.redactor))
        return tree, results

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


def _engine(commands: RunCommands) -> Engine:
    """The engine these commands are part of (recovery of decisions takes it whole)."""
    return cast("Engine", commands)  # mixed into Engine only
