"""The guard's answer about one tool call, before it runs.

Every backend asks :meth:`RunContext.check_tool` before running a tool; the policy that
decides (rules over commands and paths, the refusal ledger) is the guard's. Until rules
are configured the engine allows every call, but the hook point is already in each
backend's path, so a policy only has to be plugged in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Decision = Literal["allow", "ask", "deny"]


@dataclass(frozen=True)
class ToolRequest:
    """A tool call as the guard sees it: the kind (shell/read/write/edit/other), the
    backend's own tool name, and its arguments."""

    kind: str
    tool: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class GuardVerdict:
    """``decision`` with the rule that decided and a reason the agent is told."""

    decision: Decision
    rule: str | None = None
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"


ALLOW = GuardVerdict("allow")


@dataclass(frozen=True)
class GuardRecord:
    """One row of the guard's ledger: a rule's decision on a tool call, and the outcome
    (``allowed`` or ``refused``; an ``ask`` ends as either, after the human)."""

    run_id: str
    at: datetime
    tool: str
    kind: str
    action: str
    rule: str
    decision: Decision
    outcome: str
    reason: str = ""
