"""What every gate adapter does around its tool: find it, run it with the spec's timeout,
and turn "not installed", "timed out" and "crashed" into verdicts instead of exceptions."""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable
from pathlib import Path

from engine.adapters.gates.tool import ToolRun, find_tool, run_tool
from engine.domain.gates import Finding, GateResult, GateStatus
from engine.ports.gate import GateSpec

#: Reads a finished tool run: its findings, or None when the run was not a verdict (a
#: crash: the output is not what the tool prints when it has judged the tree).
Reader = Callable[[ToolRun, Path], list[Finding] | None]


def json_report(ran: ToolRun) -> list | None:
    """The JSON list a linter prints when it judged the tree (exit 0: clean, 1: findings);
    None when it did not (any other exit, or output that is not JSON)."""
    if ran.exit_code not in (0, 1):
        return None
    try:
        items = json.loads(ran.stdout or "[]")
    except ValueError:
        return None
    return items if isinstance(items, list) else None


class Verdicts:
    """Builds the verdicts of one gate run, timed from its creation."""

    def __init__(self, spec: GateSpec) -> None:
        self.spec = spec
        self.started = time.monotonic()

    def __call__(
        self, status: GateStatus, findings: list[Finding] | None = None, detail: str = ""
    ) -> GateResult:
        spec = self.spec
        seconds = time.monotonic() - self.started
        return GateResult(
            spec.name, spec.kind, status, spec.blocking, findings or [], detail, seconds
        )


async def check_with_tool(
    spec: GateSpec,
    tree: Path,
    *,
    tool: str,
    install_hint: str,
    argv: Callable[[list[str]], list[str]],
    read: Reader,
    env: dict[str, str] | None = None,
) -> GateResult:
    """Run ``argv(program)`` in ``tree`` and read its verdict with ``read``. ``program``
    is the tool found on the PATH, or the spec's ``command`` (its first word found)."""
    result = Verdicts(spec)
    words = shlex.split(spec.command) if spec.command else [tool]
    # A relative path (".venv/bin/pytest") is the tree's own tool.
    local = tree / words[0]
    path = str(local) if "/" in words[0] and local.is_file() else find_tool(words[0])
    if path is None:
        return result(GateStatus.UNAVAILABLE, detail=f"{words[0]} is not installed: {install_hint}")
    try:
        ran = await run_tool(argv([path, *words[1:]]), tree, spec.timeout, env)
    except OSError as exc:
        return result(GateStatus.ERROR, detail=f"{tool} could not start: {exc}")
    if ran.timed_out:
        return result(GateStatus.ERROR, detail=f"{tool} timed out after {spec.timeout:g}s")
    findings = read(ran, tree)
    if findings is None:
        return result(GateStatus.ERROR, detail=f"{tool} failed: {ran.tail()}")
    return result(judged(findings), findings)


def judged(findings: list[Finding]) -> GateStatus:
    """Failed when a finding is an error; warnings alone are shown but pass."""
    return GateStatus.FAILED if any(f.severity == "error" for f in findings) else GateStatus.PASSED
