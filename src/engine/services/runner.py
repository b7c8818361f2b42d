"""Executes one claimed run: worktree, agent, turn snapshots, final commit and state.

``RunExecution`` is the :class:`~engine.ports.agent.RunContext` a backend sees. It owns
every state change of its run; final writes happen under ``asyncio.shield`` so a
cancellation cannot leave a run half-recorded.

It is built from a :class:`~engine.services.run_setup.RunSetup` and the engine's
:class:`~engine.services.run_setup.RunServices`, and hands four jobs to parts of its
own: steering and answers (:mod:`~engine.services.run_inbox`), tool calls judged by the
guard (:mod:`~engine.services.run_guard`), gates (:mod:`~engine.services.run_gates`),
and processes in the run's jail (:mod:`~engine.services.run_processes`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from pathlib import Path
from typing import Any

from engine.disk import NO_SPACE, disk_full
from engine.domain.errors import CockpitError, DiskFull
from engine.domain.events import (
    ErrorOccurred,
    Event,
    HumanAsked,
    ProcessesEnded,
    RunStateChanged,
    SkillsLoaded,
    TurnFinished,
    WorkCommitted,
)
from engine.domain.guard import GuardVerdict, ToolRequest
from engine.domain.models import Run, SteeringMessage, turn_ref, utcnow
from engine.domain.redact import Redactor
from engine.domain.skills import Skill
from engine.domain.state import RunState, transition
from engine.ports.agent import AgentOutcome
from engine.services.claims import NO_CHANGES, ChangeClaims
from engine.services.run_gates import RunGates
from engine.services.run_guard import RunGuard
from engine.services.run_inbox import RunInbox
from engine.services.run_processes import RunProcesses
from engine.services.run_setup import RunServices, RunSetup

log = logging.getLogger(__name__)

#: Why the engine cancelled a run's task: the user asked, or the engine is shutting down.
CANCEL = "cancel"
SHUTDOWN = "shutdown"
#: Stderr lines of the agent's process kept for a failure's event, and their width.
STDERR_LINES = 40
STDERR_LINE_CHARS = 500


class RunExecution:
    """One run being executed by this engine; the backend's view of the engine."""

    def __init__(self, run: Run, setup: RunSetup, services: RunServices) -> None:
        self.run = run
        #: Confines every process of the run (None: commands run as they are).
        self.jail = setup.jail
        # The engine's redactor knows every profile's key; this profile's own is added so
        # a run made without one (a test) still masks it.
        key_env = setup.profile.get("api_key_env")
        own_key = os.environ.get(key_env) if key_env else None
        engine_keys = services.redactor.values if services.redactor else []
        self._redactor = Redactor([own_key, *engine_keys])
        self.skills: list[Skill] = []
        self._skill_library = services.skill_library
        self._wanted_skills = list(setup.wanted_skills)
        #: The backend's private folder for this run (kept across resumes).
        self.state_dir = setup.state_dir or setup.worktree.parent / f".{run.id}.agent"
        self.repo_path = setup.repo_path
        self.worktree = setup.worktree
        self.profile = setup.profile
        self.turns_completed = run.turns_completed
        self._backend = setup.backend
        self._store = services.store
        self._bus = services.bus
        self._git = services.worktrees
        self._timeout = setup.timeout
        self._inbox = RunInbox(run.id, services)
        #: Set when steering may have arrived (by this engine or a poke from another).
        self.steering_arrived = self._inbox.arrived
        #: Why the task was cancelled (CANCEL or SHUTDOWN), set before ``task.cancel()``.
        self.stop_reason: str | None = None
        # For the idle watchdog: the last sign of life, and what is not idleness.
        self._last_activity = time.monotonic()
        self._waiting_for_human = False
        self._commands_running = 0
        #: The agent process's last stderr lines (kept for a failure's event).
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES)
        #: The base sha of a worktree this execution made and the agent has not used yet.
        self._unstarted_worktree: str | None = None
        #: What the agent claims to have changed (flagged at the end if none of it is there).
        self._claims = ChangeClaims()
        self._processes = RunProcesses(
            run.id, self.worktree, self.state_dir, setup.jail, setup.command_env, services
        )
        self._gates = RunGates(
            run,
            self.worktree,
            setup.gates,
            services,
            redactor=self._redactor,
            steering_arrived=self.steering_arrived,
            ask_human=self.ask_human,
        )
        self._guard = RunGuard(
            run.id,
            setup.policy,
            setup.ask_timeout,
            services,
            redactor=self._redactor,
            ask=self._wait_for_human,
        )

    # --- RunContext -------------------------------------------------------------------
    async def emit(self, event: Event) -> None:
        """Publish an event of this run."""
        self._last_activity = time.monotonic()
        self._claims.see(event)
        self._bus.emit(event)

    async def end_turn(self) -> None:
        """Snapshot the worktree on the next turn ref and record the turn."""
        await self._processes.carry_back()
        turn = self.turns_completed + 1
        ref = turn_ref(self.run.id, turn)
        sha = await self._git.snapshot(self.worktree, ref, f"cockpit {self.run.id} turn {turn}")
        self.turns_completed = turn
        self.run.turns_completed = turn
        await self._store.save_run(self.run)
        self._bus.emit(TurnFinished(run_id=self.run.id, turn=turn, ref=ref, sha=sha))
        self._inbox.release_held()  # not asked again: they reach the agent as steering
        await self._gates.judge_turn(turn, sha)

    async def take_steering(self) -> list[SteeringMessage]:
        """Deliver pending steering messages and emit their receipts (answers held for a
        question asked again stay pending: :meth:`ask_human` delivers them)."""
        return await self._inbox.take()

    async def ask_human(self, question: str) -> str:
        """Wait in ``waiting_for_human`` until a steering message answers the question.
        An answer sent while an earlier execution's question was open answers it at once."""
        messages = await self._inbox.take_held()
        if messages:
            return "\n".join(m.text for m in messages)
        answer = await self._wait_for_human(HumanAsked(run_id=self.run.id, question=question))
        assert answer is not None  # no timeout: only an answer ends the wait
        return answer

    async def _wait_for_human(self, asked: HumanAsked, timeout: float | None = None) -> str | None:
        """Put ``asked`` in the inbox and wait for the answer (None: ``timeout`` seconds
        passed first, and the run goes back to running)."""
        self._bus.emit(asked)
        await self.set_state(RunState.WAITING_FOR_HUMAN, reason=asked.question)
        self._waiting_for_human = True  # not idle: the human is the one to act
        answer = await self._inbox.wait_for_answer(timeout)
        self._waiting_for_human = False
        self._last_activity = time.monotonic()
        reason = "answered" if answer is not None else f"no answer within {timeout:g}s"
        await self.set_state(RunState.RUNNING, reason=reason)
        return answer

    async def check_tool(self, request: ToolRequest) -> GuardVerdict:
        """The guard's verdict on a tool call, before it runs (see :class:`RunGuard`):
        an "ask" is put to the human here, so a backend only gets allow or deny."""
        return await self._guard.check(request)

    async def load_state(self) -> dict[str, Any] | None:
        """The backend's saved state for this run, if any."""
        return await self._store.load_agent_state(self.run.id)

    async def save_state(self, data: dict[str, Any]) -> None:
        """Persist the backend's state for this run (keys and tokens masked: a resumed
        conversation shows the agent ``[redacted]`` where a key was)."""
        await self._store.save_agent_state(self.run.id, self._redactor.value(data))

    async def run_command(self, command: str, timeout: float | None = None) -> tuple[int, str]:
        """Run a shell command in the worktree, in its own process group, in the run's
        jail when there is one."""
        self._commands_running += 1  # a long test run is work, not a hang
        try:
            return await self._processes.run_command(command, timeout)
        finally:
            self._commands_running -= 1
            self._last_activity = time.monotonic()

    async def confine(
        self, argv: list[str], env: dict[str, str] | None = None
    ) -> tuple[list[str], dict[str, str]]:
        """An agent CLI's command line and environment, in the run's jail and marked as
        the run's (see :meth:`RunProcesses.confine`)."""
        return await self._processes.confine(argv, env)

    def shell_line(self, command: str) -> str:
        """``command`` for an agent CLI's own shell: without network when the run's
        commands have none (see :meth:`Jail.shell_line`)."""
        return self._processes.shell_line(command)

    # --- lifecycle --------------------------------------------------------------------
    async def set_state(self, new: RunState, reason: str | None = None, **fields: Any) -> None:
        """Move the run to ``new`` (checked), persist it, emit the change, flush."""
        old = self.run.state
        self.run.state = transition(old, new)
        for key, value in fields.items():
            setattr(self.run, key, value)
        if new is RunState.RUNNING and self.run.started_at is None:
            self.run.started_at = utcnow()
        if new.is_terminal or new is RunState.INTERRUPTED:
            self.run.finished_at = utcnow()
            self.run.owner = None
            self.run.lease_expires_at = None
        # Everything the run did before this change, the change and the row that says so
        # are stored together: a reader who sees it finished finds all its events.
        change = RunStateChanged(run_id=self.run.id, old=old, new=new, reason=reason)
        await self._bus.save_run_with(self.run, change)

    async def execute(self) -> None:
        """Run the whole lifecycle from ``starting`` to a final state."""
        run = self.run
        await self._bus.track(run.id)
        self._bus.emit(RunStateChanged(run_id=run.id, old=RunState.QUEUED, new=RunState.STARTING))
        try:
            if run.cancel_requested:
                raise asyncio.CancelledError
            # Before the worktree is touched: two copies of the agent must never work in
            # one worktree.
            ended = await self._processes.end_leftovers()
            if ended:
                self._bus.emit(ProcessesEnded(run_id=run.id, count=ended))
            async with asyncio.timeout(self._timeout):
                fresh = not self.worktree.exists()
                base_sha = await self._git.create(
                    self.repo_path, self.worktree, run.branch, run.base_sha or run.base
                )
                # Made for this start: removed again should the run end before it runs.
                self._unstarted_worktree = base_sha if fresh else None
                await self._gates.plan()
                if self._skill_library is not None:
                    # From the worktree: the run's own checkout of the repo's skills.
                    self.skills = await asyncio.to_thread(
                        self._skill_library.select, run.repo, self.worktree, self._wanted_skills
                    )
                    if self.skills:
                        self._bus.emit(
                            SkillsLoaded(run_id=run.id, names=[s.name for s in self.skills])
                        )
                await self.set_state(
                    RunState.RUNNING, worktree=str(self.worktree), base_sha=base_sha
                )
                self._unstarted_worktree = None
                await self._inbox.hold_answers()
                outcome = await self._run_backend()
            await asyncio.shield(self._conclude(outcome))
        except TimeoutError:
            await asyncio.shield(self._fail(f"timed out after {self._timeout:g}s"))
        except asyncio.CancelledError:
            if self.stop_reason == SHUTDOWN:
                await asyncio.shield(self._end(RunState.INTERRUPTED, "engine shut down"))
            else:
                await asyncio.shield(self._end(RunState.CANCELLED, "cancelled on request"))
        except CockpitError as exc:
            await asyncio.shield(self._fail(str(exc)))
        except OSError as exc:
            if exc.errno in NO_SPACE:  # not a bug: the disk is full (an agent's write, say)
                error = disk_full(Path(exc.filename or self.worktree))
            else:
                log.exception("run %s crashed", run.id)  # a bug, with its traceback
                error = f"internal error: {type(exc).__name__}: {exc}"
            await asyncio.shield(self._fail(str(error)))
        except Exception as exc:  # an adapter bug must fail the run, not the engine
            log.exception("run %s crashed", run.id)
            await asyncio.shield(self._fail(f"internal error: {type(exc).__name__}: {exc}"))

    async def _run_backend(self) -> AgentOutcome:
        """The backend's run, failed as hung when it is silent for the profile's
        ``idle_timeout`` (no event, not waiting for the human, no command running)."""
        idle = self.profile.get("idle_timeout")
        if not idle:
            return await self._backend.run(self)
        task = asyncio.ensure_future(self._backend.run(self))
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=min(idle / 4, 1.0))
                if done:
                    return task.result()
                busy = self._waiting_for_human or self._commands_running
                if not busy and time.monotonic() - self._last_activity > idle:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                    return AgentOutcome(
                        ok=False, error=f"the agent was silent for {idle:g}s (idle_timeout): hung"
                    )
        except asyncio.CancelledError:
            # Cancelled from outside: the backend's own cleanup (killing its process)
            # must run before this run is recorded as ended.
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise

    async def _conclude(self, outcome: AgentOutcome) -> None:
        if not outcome.ok:
            await self._fail(outcome.error or "the agent failed")
            return
        await self._processes.carry_back()
        message = f"cockpit run {self.run.id}: {self.run.task}"
        sha = await self._git.commit_work(self.worktree, message)
        self._bus.emit(
            WorkCommitted(run_id=self.run.id, branch=self.run.branch, sha=sha, message=message)
        )
        await self._check_claims(sha)
        await self._gates.judge_finish(sha)
        await self.set_state(RunState.FINISHED)

    async def _check_claims(self, sha: str | None) -> None:
        """Say so when the agent reported changes (a write/edit that succeeded, a file it
        said it changed) and the worktree has no difference from the base at all."""
        claimed = self._claims.paths
        if sha is not None or not claimed or not self.run.base_sha:
            return
        if await self._git.changed_files(self.worktree, self.run.base_sha):
            return
        shown = ", ".join(claimed[:10]) + (", …" if len(claimed) > 10 else "")
        self._bus.emit(
            ErrorOccurred(
                run_id=self.run.id, message=NO_CHANGES, detail=f"reported changed: {shown}"
            )
        )

    def agent_stderr(self, line: str) -> None:
        """Keep one stderr line of the agent's process (its API key masked)."""
        line = line.rstrip()
        if line:
            self._stderr.append(self._redactor.text(line)[:STDERR_LINE_CHARS])

    async def _fail(self, error: str) -> None:
        error = self._redactor.text(error)  # an error may quote the task, or a command
        detail = "\n".join(self._stderr) or None
        self._bus.emit(ErrorOccurred(run_id=self.run.id, message=error, detail=detail))
        await self._end(RunState.FAILED, error, error=error)

    async def _end(self, state: RunState, reason: str, **fields: Any) -> None:
        await self._discard_unstarted()
        try:
            await self.set_state(state, reason=reason, **fields)
        except DiskFull:
            # A run's end is stored even on a full disk (or it would show as running
            # until reaped): with the space the store keeps aside for this, its row (set
            # by set_state before any write) goes alone; its events wait in the bus, and
            # the error still goes up to be reported.
            await self._store.release_reserve()
            await self._store.save_run(self.run)
            raise

    async def _discard_unstarted(self) -> None:
        """A run ending before it ran (a full disk, a broken skill) leaves no worktree or
        branch of its own behind: a resume makes them again. On a full disk this is also
        what frees the space its end needs to be recorded."""
        base_sha, self._unstarted_worktree = self._unstarted_worktree, None
        if base_sha is None:
            return
        try:
            await self._git.discard(self.repo_path, self.worktree, self.run.branch, base_sha)
        except CockpitError as exc:
            # Info, not a warning: the CLI's one line on stderr is the run's own error.
            log.info("run %s: its unused worktree stays: %s", self.run.id, exc)
            return
        self.run.worktree = None
        self.run.base_sha = None
