"""The gate port: one kind of check, run on a tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from engine.domain.gates import GateResult


@dataclass(frozen=True)
class GateSpec:
    """One configured gate (``[[repos.NAME.gates]]``) as a gate adapter sees it."""

    name: str
    kind: str
    blocking: bool = True
    timeout: float = 60.0
    #: The tool's command line instead of the default one (``command`` gates: required).
    command: str | None = None
    args: list[str] = field(default_factory=list)
    #: ``command`` gates: a regex with named groups ``path``, ``line`` (optional),
    #: ``message`` (optional), ``code`` (optional) turning output lines into findings.
    pattern: str | None = None
    #: The commit the tree grew from (a run's base, or HEAD for a repo's working tree):
    #: what is new relative to it is what a ``secrets`` gate looks at.
    base: str | None = None
    #: The tree-relative files changed since ``base`` (None: unknown, judge everything).
    #: Gates whose tool judges files one by one (ruff) look at these only.
    changed: tuple[str, ...] | None = None
    #: ``pytest``: only the tests that touch ``changed`` (see GateConfig.changed_only).
    changed_only: bool = False


class Gate(Protocol):
    """Runs one kind of tool on a tree and reads its machine-readable output."""

    kind: str

    async def check(self, spec: GateSpec, tree: Path) -> GateResult:
        """The verdict on ``tree``. Never raises for the tool's sake: a missing tool is
        ``unavailable`` (with the install hint), a crash or a timeout ``error`` (with the
        stderr or the limit)."""
        ...
