"""ty: ``check --output-format gitlab`` (GitLab code-quality JSON; ty has no ``json``)."""

from __future__ import annotations

from pathlib import Path

from engine.adapters.gates.base import check_with_tool, json_report
from engine.adapters.gates.tool import ToolRun, relative
from engine.domain.gates import Finding, GateResult
from engine.ports.gate import GateSpec

#: GitLab severities that are errors (the rest are warnings).
ERRORS = {"major", "critical", "blocker"}


def read_gitlab_json(ran: ToolRun, tree: Path) -> list[Finding] | None:
    """Code-quality JSON as findings; None when the tool did not judge (exit 2 and up)."""
    items = json_report(ran)
    if items is None:
        return None
    findings = []
    for item in items:
        location = item.get("location") or {}
        begin = (location.get("positions") or {}).get("begin") or {}
        line = begin.get("line") or (location.get("lines") or {}).get("begin")
        code = item.get("check_name") or "ty"
        message = item.get("description", "")
        findings.append(
            Finding(
                path=relative(location.get("path", ""), tree),
                line=line,
                column=begin.get("column"),
                code=code,
                # ty repeats the rule at the start of the description.
                message=message.removeprefix(f"{code}: "),
                severity="error" if item.get("severity") in ERRORS else "warning",
            )
        )
    return findings


class TyGate:
    """``ty check``: type errors with their rule name."""

    kind = "ty"

    async def check(self, spec: GateSpec, tree: Path) -> GateResult:
        return await check_with_tool(
            spec,
            tree,
            tool="ty",
            install_hint="pip install ty (or set `command` in the gate)",
            argv=lambda ty: [
                *ty,
                "check",
                "--output-format",
                "gitlab",
                "--no-progress",
                *spec.args,
            ],
            read=read_gitlab_json,
        )
