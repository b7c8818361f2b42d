"""pytest: the test suite's verdict read from a JUnit XML report (written outside the
tree). No cache, no bytecode: the judged tree is left as it was."""

from __future__ import annotations

import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from engine.adapters.gates.base import check_with_tool
from engine.adapters.gates.tool import ToolRun, relative
from engine.domain.gates import Finding, GateResult
from engine.ports.gate import GateSpec

#: pytest's exit codes: tests failed, and no tests collected.
FAILED, NO_TESTS = 1, 5


def read_junit(report: Path, ran: ToolRun, tree: Path) -> list[Finding] | None:
    """The failed and erroring test cases as findings (the test id as the code)."""
    if ran.exit_code not in (0, FAILED, NO_TESTS):
        return None
    try:
        root = ElementTree.parse(report).getroot()
    except (OSError, ElementTree.ParseError):
        return None if ran.exit_code == FAILED else []
    findings = []
    for case in root.iter("testcase"):
        problem = next((c for c in case if c.tag in ("failure", "error")), None)
        if problem is None:
            continue
        path = case.get("file") or case.get("classname", "").replace(".", "/") + ".py"
        line = case.get("line")
        test_id = f"{path}::{case.get('name')}"
        message = (problem.get("message") or problem.text or "").strip().splitlines()
        findings.append(
            Finding(
                path=relative(path, tree),
                # JUnit lines are 0-based (the `def` line); findings are 1-based.
                line=int(line) + 1 if line and line.isdigit() else None,
                code=test_id,
                message=(message[0] if message else problem.tag)[:500],
            )
        )
    return findings


class PytestGate:
    """``pytest``: one finding per failing test, at its ``def`` line."""

    kind = "pytest"

    async def check(self, spec: GateSpec, tree: Path) -> GateResult:
        with tempfile.TemporaryDirectory(prefix="cockpit-pytest-") as scratch:
            report = Path(scratch) / "junit.xml"
            result = await check_with_tool(
                spec,
                tree,
                tool="pytest",
                install_hint="pip install pytest (or set `command` in the gate)",
                argv=lambda pytest: [
                    *pytest,
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    "-o",
                    "junit_family=xunit1",  # file and line on every test case
                    f"--junitxml={report}",
                    *spec.args,
                ],
                read=lambda ran, tree: read_junit(report, ran, tree),
                env={"PYTHONDONTWRITEBYTECODE": "1"},
            )
        return result
