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
#: A ledger row's ``decision`` besides a rule's: the human lifted a rule for one run.
OVERRIDE = "override"
#: A ledger row's ``outcome`` for an :data:`OVERRIDE` row.
OVERRIDDEN = "overridden"

#: The answers the cockpit offers when the guard asks (``HumanAsked.choices``).
ALLOW_ONCE = "allow once"
ALLOW_FOR_RUN = "allow always for this run"
DENY = "deny"
PERMISSION_CHOICES = [ALLOW_ONCE, ALLOW_FOR_RUN, DENY]


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
    #: The rule's :data:`Decision`, or :data:`OVERRIDE`.
    decision: str
    outcome: str
    reason: str = ""


def read_permission(answer: str) -> tuple[str, str]:
    """The human's answer to a permission ask: (``once``, ``run`` or ``deny``, reason).

    The cockpit sends one of :data:`PERMISSION_CHOICES` (a denial may add ``: reason``);
    typed answers are read by their first word, so "yes" allows once and "always"
    allows for the run, while anything else ("no", "don't touch that") is a denial whose
    words become the reason the agent is told.
    """
    text = answer.strip()
    lowered = text.lower()
    first = lowered.split(maxsplit=1)[0].strip(".,!:;") if lowered else ""
    if lowered.startswith(ALLOW_FOR_RUN) or first == "always":
        return "run", "allowed for the rest of this run by the human"
    if lowered.startswith(ALLOW_ONCE) or first in ("y", "yes", "allow", "ok", "approve"):
        return "once", "allowed by the human"
    for prefix in (DENY, "no", "n"):
        if first == prefix:
            text = text[len(prefix) :].lstrip(" .,!:;-")
            break
    return "deny", f"refused by the human: {text}" if text else "refused by the human"
