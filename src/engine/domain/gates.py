"""Gates: deterministic checks Cockpit runs itself on a tree (a run's worktree, or a
repo's working tree), each giving a verdict with findings bound to that tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class GateStatus(StrEnum):
    """A gate's verdict. ``stale``: it judged an older tree than the current one."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    UNAVAILABLE = "unavailable"
    RUNNING = "running"
    STALE = "stale"


@dataclass(frozen=True)
class Finding:
    """One problem a gate found. ``path`` is relative to the tree's root; ``line`` and
    ``column`` are 1-based, None when the finding has none (a failing test, a whole file)."""

    path: str
    line: int | None
    code: str
    message: str
    severity: str = "error"
    column: int | None = None
    fix_available: bool = False

    def as_json(self) -> dict[str, Any]:
        """The finding as ``cockpit gates --json`` prints it."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "message": self.message,
            "severity": self.severity,
            "fix_available": self.fix_available,
        }


@dataclass(frozen=True)
class GateResult:
    """One gate's verdict on one tree."""

    name: str
    kind: str
    status: GateStatus
    blocking: bool
    findings: list[Finding] = field(default_factory=list)
    #: What the user should know beyond the findings: the install hint of an unavailable
    #: tool, the stderr of one that crashed, the timeout that stopped it.
    detail: str = ""
    seconds: float = 0.0
    #: The tree judged (a turn snapshot's commit, or None for a working tree).
    tree: str | None = None

    @property
    def holds_back(self) -> bool:
        """A blocking gate that did not pass: a run cannot be approved over it."""
        return self.blocking and self.status is not GateStatus.PASSED

    def as_json(self) -> dict[str, Any]:
        """The result as ``cockpit gates --json`` prints it."""
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status.value,
            "blocking": self.blocking,
            "findings": [f.as_json() for f in self.findings],
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
            "tree": self.tree,
        }
