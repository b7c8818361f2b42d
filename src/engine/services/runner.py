"""Executes one claimed run: worktree, agent, turn snapshots, final commit and state.

``RunExecution`` is the :class:`~engine.ports.agent.RunContext` a backend sees. It owns
every state change of its run; final writes happen under ``asyncio.shield`` so a
cancellation cannot leave a run half-recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import shutil
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from engine.disk import NO_SPACE, disk_full
from engine.domain.errors import CockpitError, DiskFull
from engine.domain.events import (
    ErrorOccurred,
    Event,
    GuardDecided,
    HumanAsked,
    ProcessesEnded,
    RunStateChanged,
    SkillsLoaded,
    SteeringDelivered,
    TurnFinished,
    WorkCommitted,
)
from engine.domain.gates import GateResult, GateStatus
from engine.domain.guard import (
    ALLOW,
    OVERRIDDEN,
    OVERRIDE,
    PERMISSION_CHOICES,
    GuardRecord,
    GuardVerdict,
    ToolRequest,
    read_permission,
)
from engine.domain.leaks import secrets_verdict
from engine.domain.models import Run, SteeringMessage, turn_ref, utcnow
from engine.domain.redact import Redactor
from engine.domain.skills import Skill
from engine.domain.state import RunState, transition
from engine.guard import Policy
from engine.ports.agent import AgentBackend, AgentOutcome
from engine.ports.gate import GateSpec
from engine.ports.git import Worktrees
from engine.ports.sandbox import RUN_MARK, Jail
from engine.ports.skills import SkillLibrary
from engine.ports.store import RunStore
from engine.services.bus import EventBus
from engine.services.claims import NO_CHANGES, ChangeClaims
from engine.services.gates import GatePlan, check_tree, fix_request, verdict_event

log = logging.getLogger(__name__)

#: Why the engine cancelled a run's task: the user asked, or the engine is shutting down.
CANCEL = "cancel"
SHUTDOWN = "shutdown"
#: Stderr lines of the agent's process kept for a failure's event, and their width.
STDERR_LINES = 40
STDERR_LINE_CHARS = 500
#: Characters of a tool call's command or path kept in the guard's ledger.
LEDGER_ACTION_CHARS = 500


class RunExecution:
    """One run being executed by this engine; the backend's view of the engine."""

    def __init__(
        self,
        run: Run,
        *,
        repo_path: Path,
        worktree: Path,
        profile: dict[str, Any],
        backend: AgentBackend,
        store: RunStore,
        bus: EventBus,
        worktrees: Worktrees,
        timeout: float | None,
        poll_interval: float,
        run_shell: Callable[..., Awaitable[tuple[int, str]]],
        state_dir: Path | None = None,
        skill_library: SkillLibrary | None = None,
        wanted_skills: list[str] | None = None,
        gates: Callable[[Path], GatePlan] | None = None,
        policy: Policy | None = None,
        ask_timeout: float = 600.0,
        redactor: Redactor | None = None,
        jail: Jail | None = None,
        command_env: dict[str, str] | None = None,
        end_processes: Callable[[str], Awaitable[int]] | None = None,
    ) -> None:
        #: Ends every live process marked as this run's (left by an earlier execution).
        self._end_processes = end_processes
        self.run = run
        #: Confines every process of the run (None: commands run as they are).
        self.jail = jail
        #: The environment of the run's commands (the engine's keys left out, the run's
        #: mark in): None inherits the engine's.
        self._command_env = command_env
        self._policy = policy
        self._ask_timeout = ask_timeout
        #: Rules the human lifted for this run (grows only; the ledger is the record).
        self._lifted_rules: set[str] = set()
        # The engine's redactor knows every profile's key; this profile's own is added so
        # a run made without one (a test) still masks it.
        key_env = profile.get("api_key_env")
        own_key = os.environ.get(key_env) if key_env else None
        self._redactor = Redactor([own_key, *(redactor.values if redactor else [])])
        #: Makes the run's gate plan from its worktree (the repo's pyproject there).
        self._plan_gates = gates
        self._gates: GatePlan | None = None
        self._fix_rounds_used = 0
        #: Set once the human was asked about gates still red after the fix rounds.
        self._gates_handed_over = False
        self.skills: list[Skill] = []
        self._skill_library = skill_library
        self._wanted_skills = list(wanted_skills or [])
        #: The backend's private folder for this run (kept across resumes).
        self.state_dir = state_dir or worktree.parent / f".{run.id}.agent"
        self.repo_path = repo_path
        self.worktree = worktree
        self.profile = profile
        self.turns_completed = run.turns_completed
        self._backend = backend
        self._store = store
        self._bus = bus
        self._git = worktrees
        self._timeout = timeout
        self._poll = poll_interval
        self._run_shell = run_shell
        #: Set when steering may have arrived (by this engine or a poke from another).
        self.steering_arrived = asyncio.Event()
        #: Why the task was cancelled (CANCEL or SHUTDOWN), set before ``task.cancel()``.
        self.stop_reason: str | None = None
        # For the idle watchdog: the last sign of life, and what is not idleness.
        self._last_activity = time.monotonic()
        self._waiting_for_human = False
        self._commands_running = 0
        #: Ids of steering messages that answer a question an earlier execution left open
        #: (sent while the run was interrupted): the agent, replaying that turn, asks again
        #: and gets them as the answer, not as notes. Released at the end of the turn.
        self._held_answers: set[int] = set()
        #: The agent process's last stderr lines (kept for a failure's event).
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES)
        #: The base sha of a worktree this execution made and the agent has not used yet.
        self._unstarted_worktree: str | None = None
        #: What the agent claims to have changed (flagged at the end if none of it is there).
        self._claims = ChangeClaims()

    # --- RunContext -------------------------------------------------------------------
    async def emit(self, event: Event) -> None:
        """Publish an event of this run."""
        self._last_activity = time.monotonic()
        self._claims.see(event)
        self._bus.emit(event)

    async def end_turn(self) -> None:
        """Snapshot the worktree on the next turn ref and record the turn."""
        await self._carry_back()
        turn = self.turns_completed + 1
        ref = turn_ref(self.run.id, turn)
        sha = await self._git.snapshot(self.worktree, ref, f"cockpit {self.run.id} turn {turn}")
        self.turns_completed = turn
        self.run.turns_completed = turn
        await self._store.save_run(self.run)
        self._bus.emit(TurnFinished(run_id=self.run.id, turn=turn, ref=ref, sha=sha))
        self._held_answers.clear()  # not asked again: they reach the agent as steering
        if self._gates is not None and self._gates.on_turn:
            await self._judge_turn(turn, sha)

    async def _judge(
        self, specs: list[GateSpec], tree: str | None, turn: int | None
    ) -> list[GateResult]:
        """Run ``specs`` on the worktree (whose commit is ``tree``): a ``running`` verdict
        for each first, so the cockpit shows them under way, then their verdicts."""
        plan = self._gates
        assert plan is not None
        changed: tuple[str, ...] | None = None
        if self.run.base_sha:
            changed = tuple(await self._git.changed_files(self.worktree, self.run.base_sha))
        based = [
            dataclasses.replace(s, base=s.base or self.run.base_sha, changed=changed) for s in specs
        ]
        for spec in based:
            running = GateResult(spec.name, spec.kind, GateStatus.RUNNING, spec.blocking)
            self._bus.emit(verdict_event(self.run.id, running, tree, turn))
        results = await check_tree(plan.adapters, based, self.worktree)
        for result in results:
            self._bus.emit(verdict_event(self.run.id, result, tree, turn))
        return results

    async def _judge_turn(self, turn: int, sha: str) -> None:
        """Run the turn's gates on the snapshot just taken (the agent's next turn waits
        for them, so a fix request reaches it at once). Blocking failures go back to the
        agent as a steering message, up to the repo's ``fix_rounds``; after that the run
        waits for the human."""
        plan = self._gates
        assert plan is not None
        results = await self._judge(plan.on_turn, sha, turn)
        failing = [r for r in results if r.holds_back and r.status is GateStatus.FAILED]
        if not failing or not plan.fix_rounds:
            return
        if self._fix_rounds_used < plan.fix_rounds:
            self._fix_rounds_used += 1
            text = fix_request(failing, self._fix_rounds_used, plan.fix_rounds)
            await self._store.add_steering(self.run.id, text)
            self.steering_arrived.set()
            return
        if self._gates_handed_over:
            return  # the human was asked once and answered: their word stands
        self._gates_handed_over = True
        names = ", ".join(r.name for r in failing)
        answer = await self.ask_human(
            f"blocking gates still fail after {plan.fix_rounds} fix round(s): {names}."
            " Tell the agent what to do."
        )
        # The answer is for the agent: it gets it as its next steering message.
        await self._store.add_steering(self.run.id, answer)

    async def take_steering(self) -> list[SteeringMessage]:
        """Deliver pending steering messages and emit their receipts (answers held for a
        question asked again stay pending: :meth:`ask_human` delivers them)."""
        pending = await self._store.pending_steering(self.run.id)
        return await self._deliver([m for m in pending if m.id not in self._held_answers])

    async def _deliver(self, messages: list[SteeringMessage]) -> list[SteeringMessage]:
        """Mark ``messages`` delivered and emit their receipts."""
        for message in messages:
            now = utcnow()
            await self._store.mark_delivered(message.id, now)
            message.delivered_at = now
            self._bus.emit(
                SteeringDelivered(run_id=self.run.id, steering_id=message.id, text=message.text)
            )
        if messages:
            await self._bus.flush()
        return messages

    async def ask_human(self, question: str) -> str:
        """Wait in ``waiting_for_human`` until a steering message answers the question.
        An answer sent while an earlier execution's question was open answers it at once."""
        if self._held_answers:
            held, self._held_answers = self._held_answers, set()
            pending = await self._store.pending_steering(self.run.id)
            messages = await self._deliver([m for m in pending if m.id in held])
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
        deadline = None if timeout is None else time.monotonic() + timeout
        answer: str | None = None
        while True:
            messages = await self.take_steering()
            if messages:
                answer = "\n".join(m.text for m in messages)
                break
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            self.steering_arrived.clear()
            # A poke from another process sets the event; the timeout covers a lost poke.
            wait = self._poll if left is None else min(self._poll, left)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.steering_arrived.wait(), wait)
        self._waiting_for_human = False
        self._last_activity = time.monotonic()
        reason = "answered" if answer is not None else f"no answer within {timeout:g}s"
        await self.set_state(RunState.RUNNING, reason=reason)
        return answer

    async def check_tool(self, request: ToolRequest) -> GuardVerdict:
        """The guard's verdict on a tool call, before it runs (no policy: allowed). An
        "ask" is put to the human here (the run waits in the inbox), so a backend only
        ever gets allow or deny. A rule the human lifted for this run allows."""
        verdict = ALLOW if self._policy is None else self._policy.decide(request)
        if verdict.rule is None:
            return verdict
        rule = verdict.rule
        shown = request.arguments.get("command") or request.arguments.get("path") or request.tool
        action = self._redactor.text(str(shown))[:LEDGER_ACTION_CHARS]
        final = verdict
        if not verdict.allowed and await self._lifted(rule):
            final = GuardVerdict("allow", rule=rule, reason=f"{rule} lifted for this run")
        elif verdict.decision == "ask":
            final = await self._ask_permission(request, verdict, action)
        # The ledger keeps every rule's decision as evidence for changing a rule or skill.
        row = await self._ledger(request, action, rule, verdict.decision, final)
        self._bus.emit(
            GuardDecided(
                run_id=self.run.id,
                rule=rule,
                tool=request.tool,
                action=action,
                decision=row.decision,
                outcome=row.outcome,
                reason=row.reason,
            )
        )
        return final

    async def _ask_permission(
        self, request: ToolRequest, verdict: GuardVerdict, action: str
    ) -> GuardVerdict:
        """Ask the human about a call; no answer in ``ask_timeout`` refuses it."""
        rule = verdict.rule
        assert rule is not None
        asked = HumanAsked(
            run_id=self.run.id,
            question=f"Allow {request.tool} {action}? ({verdict.reason or 'the guard asks'})",
            kind="permission",
            choices=PERMISSION_CHOICES,
        )
        answer = await self._wait_for_human(asked, self._ask_timeout)
        if answer is None:
            return GuardVerdict(
                "deny", rule=rule, reason=f"no answer from the human in {self._ask_timeout:g}s"
            )
        choice, reason = read_permission(answer)
        if choice == "run":
            self._lifted_rules.add(rule)
            await self._ledger(request, action, rule, OVERRIDE, GuardVerdict("allow", rule, reason))
        return GuardVerdict("deny" if choice == "deny" else "allow", rule=rule, reason=reason)

    async def _lifted(self, rule: str) -> bool:
        """Whether the human lifted ``rule`` for this run (from the inbox, or with the
        cockpit's override key, perhaps in another process: the ledger is asked)."""
        if rule not in self._lifted_rules:
            self._lifted_rules |= await self._store.guard_overrides(self.run.id)
        return rule in self._lifted_rules

    async def _ledger(
        self, request: ToolRequest, action: str, rule: str, decision: str, final: GuardVerdict
    ) -> GuardRecord:
        """Write a ledger row (the outcome worked out here only) and return it."""
        outcome = "allowed" if final.allowed else "refused"
        if decision == OVERRIDE:
            outcome = OVERRIDDEN
        row = GuardRecord(
            run_id=self.run.id,
            at=utcnow(),
            tool=request.tool,
            kind=request.kind,
            action=action,
            rule=rule,
            decision=decision,
            outcome=outcome,
            reason=self._redactor.text(final.reason) if final.reason else final.reason,
        )
        await self._store.record_guard(row)
        return row

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
            argv = ["/bin/sh", "-c", command]
            if self.jail is None:
                return await self._run_shell(argv, self.worktree, timeout, self._command_env)
            await self.jail.enter()
            try:
                argv = self.jail.wrap(argv, cwd=self.worktree)
                env = {**(self._command_env or os.environ), "TMPDIR": "/tmp"}  # the jail's own
                return await self._run_shell(argv, self.worktree, timeout, env)
            finally:
                await asyncio.shield(self._carry_back())
        finally:
            self._commands_running -= 1
            self._last_activity = time.monotonic()

    async def confine(
        self, argv: list[str], env: dict[str, str] | None = None
    ) -> tuple[list[str], dict[str, str]]:
        """An agent CLI's command line and environment: in the run's jail (network kept,
        its private folder writable), marked as the run's so no process of it outlives
        the run unnoticed."""
        env = dict(os.environ if env is None else env)
        env[RUN_MARK] = self.run.id
        argv = list(argv)
        if argv:
            # Found now, as the engine would: inside the jail the process starts in the
            # worktree, where a relative command (node_modules/.bin/…) is not.
            found = shutil.which(argv[0], path=env.get("PATH"))
            argv[0] = os.path.abspath(found) if found else argv[0]
        if self.jail is None:
            return argv, env
        if not _under_any(env.get("TMPDIR"), (self.state_dir, self.worktree)):
            env["TMPDIR"] = "/tmp"  # the jail's own: any other is read-only there
        await self.jail.enter()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        return self.jail.wrap(argv, cwd=self.worktree, network=True, writable=[self.state_dir]), env

    def shell_line(self, command: str) -> str:
        """``command`` for an agent CLI's own shell: without network when the run's
        commands have none (see :meth:`Jail.shell_line`)."""
        return command if self.jail is None else self.jail.shell_line(command)

    async def _carry_back(self) -> None:
        """Bring a commit made inside the jail to the run's branch (see the sandbox)."""
        if self.jail is None:
            return
        note = await self.jail.leave()
        if note is not None:
            self._bus.emit(ErrorOccurred(run_id=self.run.id, message=f"sandbox: {note}"))

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
        # Everything the run did before this change is stored before its row says so: a
        # reader who sees it finished finds all its events (it once missed the last ones).
        await self._bus.flush()
        await self._store.save_run(self.run)
        self._bus.emit(RunStateChanged(run_id=self.run.id, old=old, new=new, reason=reason))
        await self._bus.flush()

    async def execute(self) -> None:
        """Run the whole lifecycle from ``starting`` to a final state."""
        run = self.run
        await self._bus.track(run.id)
        self._bus.emit(RunStateChanged(run_id=run.id, old=RunState.QUEUED, new=RunState.STARTING))
        try:
            if run.cancel_requested:
                raise asyncio.CancelledError
            if self._end_processes is not None:
                # An earlier execution killed with its engine may have left commands
                # running: two copies of the agent must never work in one worktree.
                ended = await self._end_processes(run.id)
                if ended:
                    self._bus.emit(ProcessesEnded(run_id=run.id, count=ended))
            async with asyncio.timeout(self._timeout):
                fresh = not self.worktree.exists()
                base_sha = await self._git.create(
                    self.repo_path, self.worktree, run.branch, run.base_sha or run.base
                )
                # Made for this start: removed again should the run end before it runs.
                self._unstarted_worktree = base_sha if fresh else None
                if self._plan_gates is not None:
                    self._gates = await asyncio.to_thread(self._plan_gates, self.worktree)
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
                await self._hold_answers()
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

    async def _hold_answers(self) -> None:
        """When an earlier execution ended while the agent's question was open, hold the
        steering sent since then as its answer (see ``_held_answers``)."""
        open_question = False
        for event in await self._store.events_for(self.run.id):
            if isinstance(event, HumanAsked):
                open_question = event.kind == "question"
            elif isinstance(event, SteeringDelivered):
                open_question = False  # answered
        if open_question:
            pending = await self._store.pending_steering(self.run.id)
            self._held_answers = {m.id for m in pending}

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
        await self._carry_back()
        message = f"cockpit run {self.run.id}: {self.run.task}"
        sha = await self._git.commit_work(self.worktree, message)
        self._bus.emit(
            WorkCommitted(run_id=self.run.id, branch=self.run.branch, sha=sha, message=message)
        )
        await self._check_claims(sha)
        if self._gates is not None and self._gates.on_finish:
            await self._judge(self._gates.on_finish, sha, None)
        if self.run.base_sha:
            # The built-in secrets check, gates configured or not; said only when it
            # finds something (the run then shows red gates, and approve refuses it).
            leaks = secrets_verdict(
                await self._git.diff(self.worktree, self.run.base_sha), self._redactor
            )
            if leaks.findings:
                self._bus.emit(verdict_event(self.run.id, leaks, sha, None))
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


def _under_any(path: str | None, folders: tuple[Path, ...]) -> bool:
    """Whether ``path`` is one of ``folders`` or inside one."""
    return path is not None and any(Path(path).is_relative_to(f) for f in folders)
