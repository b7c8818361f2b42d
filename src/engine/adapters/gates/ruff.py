"""ruff: ``check`` (lint) and ``format --check``, both read from ``--output-format json``.

``--no-cache``: a gate never writes a ``.ruff_cache`` into the tree it judges.
"""

from __future__ import annotations

from pathlib import Path

from engine.adapters.gates.base import Verdicts, check_with_tool, json_report
from engine.adapters.gates.tool import ToolRun, relative
from engine.domain.gates import Finding, GateResult, GateStatus
from engine.ports.gate import GateSpec

INSTALL = "pip install ruff (or set `command` in the gate)"


def read_ruff_json(ran: ToolRun, tree: Path) -> list[Finding] | None:
    """ruff's JSON diagnostics as findings; None when ruff did not judge (exit 2)."""
    items = json_report(ran)
    if items is None:
        return None
    findings = []
    for item in items:
        location = item.get("location") or {}
        findings.append(
            Finding(
                path=relative(item.get("filename", ""), tree),
                line=location.get("row"),
                column=location.get("column"),
                code=item.get("code") or item.get("name") or "ruff",
                message=item.get("message", ""),
                severity=item.get("severity") or "error",
                fix_available=bool(item.get("fix")),
            )
        )
    return findings


PYTHON = (".py", ".pyi")


def targets(spec: GateSpec, tree: Path) -> list[str] | None:
    """What ruff is asked to judge: the changed Python files that still exist (ruff
    judges file by file, so the others' verdict cannot change), or the whole tree when
    the changes are unknown. None: nothing to judge."""
    if spec.changed is None:
        return ["."]
    files = [f for f in spec.changed if f.endswith(PYTHON) and (tree / f).is_file()]
    return files or None


async def check_ruff(spec: GateSpec, tree: Path, command: list[str]) -> GateResult:
    """``ruff COMMAND... --output-format json`` on the spec's targets."""
    files = targets(spec, tree)
    if files is None:
        return Verdicts(spec)(GateStatus.PASSED, detail="no changed Python file")
    return await check_with_tool(
        spec,
        tree,
        tool="ruff",
        install_hint=INSTALL,
        # --force-exclude: files named explicitly still obey the project's excludes.
        argv=lambda ruff: [
            *ruff,
            *command,
            "--output-format",
            "json",
            "--no-cache",
            "--force-exclude",
            *spec.args,
            "--",
            *files,
        ],
        read=read_ruff_json,
    )


class RuffGate:
    """``ruff check``: lint findings with their rule code."""

    kind = "ruff"

    async def check(self, spec: GateSpec, tree: Path) -> GateResult:
        return await check_ruff(spec, tree, ["check"])


class RuffFormatGate:
    """``ruff format --check``: one finding per file that would be reformatted."""

    kind = "ruff-format"

    async def check(self, spec: GateSpec, tree: Path) -> GateResult:
        return await check_ruff(spec, tree, ["format", "--check"])
