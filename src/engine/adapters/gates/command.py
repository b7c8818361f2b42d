"""The generic ``command`` gate: any shell command; exit code 0 passes. With a
``pattern`` (a regex with named groups ``path``, and optionally ``line``, ``code``,
``message``), matching output lines become findings."""

from __future__ import annotations

import re
from pathlib import Path

from engine.adapters.gates.base import Verdicts
from engine.adapters.gates.tool import relative, run_tool
from engine.domain.gates import Finding, GateResult, GateStatus
from engine.ports.gate import GateSpec

#: The exit code of ``sh -c`` when the command was not found.
NOT_FOUND = 127


def read_findings(output: str, pattern: str | None, tree: Path) -> list[Finding]:
    """The output lines ``pattern`` matches, as findings."""
    if not pattern:
        return []
    found = []
    for match in re.finditer(pattern, output, re.MULTILINE):
        groups = match.groupdict()
        line = groups.get("line")
        found.append(
            Finding(
                path=relative(groups.get("path") or ".", tree),
                line=int(line) if line and line.isdigit() else None,
                code=groups.get("code") or "command",
                message=(groups.get("message") or match.group(0)).strip(),
            )
        )
    return found


class CommandGate:
    """Runs the spec's ``command`` with ``sh -c`` in the tree."""

    kind = "command"

    async def check(self, spec: GateSpec, tree: Path) -> GateResult:
        result = Verdicts(spec)
        command = " ".join([spec.command or "", *spec.args]).strip()
        ran = await run_tool(["sh", "-c", command], tree, spec.timeout)
        if ran.timed_out:
            return result(GateStatus.ERROR, detail=f"timed out after {spec.timeout:g}s")
        if ran.exit_code == 0:
            return result(GateStatus.PASSED)
        if ran.exit_code == NOT_FOUND:
            return result(GateStatus.UNAVAILABLE, detail=f"command not found: {ran.tail()}")
        findings = read_findings(ran.stdout + "\n" + ran.stderr, spec.pattern, tree)
        if not findings:  # nothing matched: the failure is the whole tree's
            findings = [Finding(".", None, f"exit {ran.exit_code}", ran.tail())]
        return result(GateStatus.FAILED, findings)
