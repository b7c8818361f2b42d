"""The guard over one run's tool calls: the policy's verdict, an "ask" put to the human,
rules the human lifted for the run, and the ledger row every rule's decision leaves.

A part of :class:`~engine.services.runner.RunExecution`, kept apart so the runner holds
the lifecycle and this the judging of tool calls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from engine.domain.events import GuardDecided, HumanAsked
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
from engine.domain.models import utcnow
from engine.domain.redact import Redactor
from engine.guard import Policy
from engine.services.run_setup import RunServices

#: Characters of a tool call's command or path kept in the guard's ledger.
LEDGER_ACTION_CHARS = 500

#: Puts a question in the inbox and waits (up to the timeout) for the answer; None when
#: none came in time.
AskHuman = Callable[[HumanAsked, float], Awaitable[str | None]]


class RunGuard:
    """Decides one run's tool calls before they run, and records every rule's word."""

    def __init__(
        self,
        run_id: str,
        policy: Policy | None,
        ask_timeout: float,
        services: RunServices,
        *,
        redactor: Redactor,
        ask: AskHuman,
    ) -> None:
        self._run_id = run_id
        self._policy = policy
        self._ask_timeout = ask_timeout
        self._store = services.store
        self._bus = services.bus
        self._redactor = redactor
        self._ask = ask
        #: Rules the human lifted for this run (grows only; the ledger is the record).
        self._lifted_rules: set[str] = set()

    async def check(self, request: ToolRequest) -> GuardVerdict:
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
                run_id=self._run_id,
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
            run_id=self._run_id,
            question=f"Allow {request.tool} {action}? ({verdict.reason or 'the guard asks'})",
            kind="permission",
            choices=PERMISSION_CHOICES,
        )
        answer = await self._ask(asked, self._ask_timeout)
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
            self._lifted_rules |= await self._store.guard_overrides(self._run_id)
        return rule in self._lifted_rules

    async def _ledger(
        self, request: ToolRequest, action: str, rule: str, decision: str, final: GuardVerdict
    ) -> GuardRecord:
        """Write a ledger row (the outcome worked out here only) and return it."""
        outcome = "allowed" if final.allowed else "refused"
        if decision == OVERRIDE:
            outcome = OVERRIDDEN
        row = GuardRecord(
            run_id=self._run_id,
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
