"""tach: module boundaries from ``check --output json`` (needs the repo's tach.toml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.adapters.gates.base import check_with_tool, json_report
from engine.adapters.gates.tool import ToolRun, relative
from engine.domain.gates import Finding, GateResult
from engine.ports.gate import GateSpec


def _describe(kind: str, fields: dict[str, Any]) -> str:
    if kind == "UndeclaredDependency":
        return (
            f"{fields.get('usage_module')} uses {fields.get('dependency')!s} but does not"
            f" declare a dependency on {fields.get('definition_module')}"
        )
    details = ", ".join(f"{k}={v}" for k, v in fields.items())
    return f"{kind}: {details}" if details else kind


def read_tach_json(ran: ToolRun, tree: Path) -> list[Finding] | None:
    """tach's diagnostics as findings; None when it did not judge (no config, a crash)."""
    items = json_report(ran)
    if items is None:
        return None
    if ran.exit_code == 1 and not items:
        return None  # e.g. "Configuration file not found": the detail says so
    findings = []
    for item in items:
        located = item.get("Located")
        body = located or item.get("Global") or {}
        code = body.get("details", {}).get("Code") or body.get("details", {}) or {}
        kind, fields = next(iter(code.items())) if isinstance(code, dict) and code else ("tach", {})
        findings.append(
            Finding(
                path=relative(located["file_path"], tree) if located else ".",
                line=located.get("line_number") if located else None,
                code=kind,
                message=_describe(kind, fields if isinstance(fields, dict) else {}),
                severity=str(body.get("severity", "error")).lower(),
            )
        )
    return findings


class TachGate:
    """``tach check``: imports that cross undeclared module boundaries."""

    kind = "tach"

    async def check(self, spec: GateSpec, tree: Path) -> GateResult:
        return await check_with_tool(
            spec,
            tree,
            tool="tach",
            install_hint="pip install tach, and describe the modules in tach.toml",
            argv=lambda tach: [*tach, "check", "--output", "json", *spec.args],
            read=read_tach_json,
        )
