"""The gates of one run being executed: planned from its worktree as it starts, judged
on each turn's snapshot and on its final commit.

A blocking failure after a turn goes back to the agent as a steering message, up to the
repo's ``fix_rounds``; after that the human is asked once. A part of
:class:`~engine.services.runner.RunExecution`, kept apart so the runner holds the
lifecycle and this the verdicts.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path

from engine.domain.gates import GateResult, GateStatus
from engine.domain.leaks import secrets_verdict
from engine.domain.models import Run
from engine.domain.redact import Redactor
from engine.ports.gate import GateSpec
from engine.services.gates import GatePlan, check_tree, fix_request, verdict_event
from engine.services.run_setup import RunServices


class RunGates:
    """Judges one run's work with its repo's gates and the built-in secrets check."""

    def __init__(
        self,
        run: Run,
        worktree: Path,
        plan: Callable[[Path], GatePlan] | None,
        services: RunServices,
        *,
        redactor: Redactor,
        steering_arrived: asyncio.Event,
        ask_human: Callable[[str], Awaitable[str]],
    ) -> None:
        # The run object is the execution's own: its base_sha is read when judging, as
        # it is only known once the worktree exists.
        self._run = run
        self._worktree = worktree
        self._make_plan = plan
        self._plan: GatePlan | None = None
        self._store = services.store
        self._bus = services.bus
        self._git = services.worktrees
        self._redactor = redactor
        self._steering_arrived = steering_arrived
        self._ask_human = ask_human
        self._fix_rounds_used = 0
        #: Set once the human was asked about gates still red after the fix rounds.
        self._handed_over = False

    async def plan(self) -> None:
        """Work out the gates from the worktree (its pyproject: read in a thread)."""
        if self._make_plan is not None:
            self._plan = await asyncio.to_thread(self._make_plan, self._worktree)

    async def judge_turn(self, turn: int, sha: str) -> None:
        """Run the turn's gates on the snapshot just taken (the agent's next turn waits
        for them, so a fix request reaches it at once). Blocking failures go back to the
        agent as a steering message, up to the repo's ``fix_rounds``; after that the run
        waits for the human."""
        plan = self._plan
        if plan is None or not plan.on_turn:
            return
        results = await self._judge(plan, plan.on_turn, sha, turn)
        failing = [r for r in results if r.holds_back and r.status is GateStatus.FAILED]
        if not failing or not plan.fix_rounds:
            return
        if self._fix_rounds_used < plan.fix_rounds:
            self._fix_rounds_used += 1
            text = fix_request(failing, self._fix_rounds_used, plan.fix_rounds)
            await self._store.add_steering(self._run.id, text)
            self._steering_arrived.set()
            return
        if self._handed_over:
            return  # the human was asked once and answered: their word stands
        self._handed_over = True
        names = ", ".join(r.name for r in failing)
        answer = await self._ask_human(
            f"blocking gates still fail after {plan.fix_rounds} fix round(s): {names}."
            " Tell the agent what to do."
        )
        # The answer is for the agent: it gets it as its next steering message.
        await self._store.add_steering(self._run.id, answer)

    async def judge_finish(self, sha: str | None) -> None:
        """Run the finish gates on the final commit, then the built-in secrets check."""
        plan = self._plan
        if plan is not None and plan.on_finish:
            await self._judge(plan, plan.on_finish, sha, None)
        if self._run.base_sha:
            # The built-in secrets check, gates configured or not; said only when it
            # finds something (the run then shows red gates, and approve refuses it).
            diff = await self._git.diff(self._worktree, self._run.base_sha)
            leaks = secrets_verdict(diff, self._redactor)
            if leaks.findings:
                self._bus.emit(verdict_event(self._run.id, leaks, sha, None))

    async def _judge(
        self, plan: GatePlan, specs: list[GateSpec], tree: str | None, turn: int | None
    ) -> list[GateResult]:
        """Run ``specs`` on the worktree (whose commit is ``tree``): a ``running`` verdict
        for each first, so the cockpit shows them under way, then their verdicts."""
        run = self._run
        changed: tuple[str, ...] | None = None
        if run.base_sha:
            changed = tuple(await self._git.changed_files(self._worktree, run.base_sha))
        based = [
            dataclasses.replace(s, base=s.base or run.base_sha, changed=changed) for s in specs
        ]
        for spec in based:
            running = GateResult(spec.name, spec.kind, GateStatus.RUNNING, spec.blocking)
            self._bus.emit(verdict_event(run.id, running, tree, turn))
        results = await check_tree(plan.adapters, based, self._worktree)
        for result in results:
            self._bus.emit(verdict_event(run.id, result, tree, turn))
        return results
