"""pytest: the test suite's verdict read from a JUnit XML report (written outside the
tree). No cache, no bytecode: the judged tree is left as it was."""

from __future__ import annotations

import asyncio
import re
import tempfile
from pathlib import Path

from engine.adapters.gates.base import Verdicts, check_with_tool
from engine.adapters.gates.tool import ToolRun, relative
from engine.domain.gates import Finding, GateResult, GateStatus
from engine.ports.gate import GateSpec

#: pytest's exit codes: tests failed, and no tests collected.
FAILED, NO_TESTS = 1, 5


def read_junit(report: Path, ran: ToolRun, tree: Path) -> list[Finding] | None:
    """The failed and erroring test cases as findings (the test id as the code)."""
    # Imported here: the cockpit's start-up imports every gate, and needs none of this.
    import xml.etree.ElementTree as ElementTree

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


#: Folders never searched for tests.
SKIP = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox"}


def is_test_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def touching_tests(tree: Path, changed: tuple[str, ...]) -> list[str]:
    """The test files that changed, and those that mention a changed module (by its
    dotted name or its file's stem, as a word). Blocking: call it in a thread."""
    modules: set[str] = set()
    for path in changed:
        if path.endswith(".py") and not is_test_file(path):
            parts = path[:-3].split("/")
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            modules |= {".".join(parts[i:]) for i in range(len(parts))}
    pattern = (
        re.compile(r"\b(" + "|".join(map(re.escape, sorted(modules))) + r")\b") if modules else None
    )
    selected = {p for p in changed if is_test_file(p) and (tree / p).is_file()}
    for candidate in tree.rglob("*.py"):
        relative_path = candidate.relative_to(tree)
        if SKIP & set(relative_path.parts) or not is_test_file(candidate.name):
            continue
        name = relative_path.as_posix()
        if name in selected or pattern is None:
            continue
        try:
            if pattern.search(candidate.read_text(encoding="utf-8", errors="replace")):
                selected.add(name)
        except OSError:
            continue
    return sorted(selected)


class PytestGate:
    """``pytest``: one finding per failing test, at its ``def`` line."""

    kind = "pytest"

    async def check(self, spec: GateSpec, tree: Path) -> GateResult:
        selected: list[str] = []
        if spec.changed_only and spec.changed is not None:
            selected = await asyncio.to_thread(touching_tests, tree, spec.changed)
            if not selected:
                return Verdicts(spec)(GateStatus.PASSED, detail="no test touches the change")
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
                    *selected,
                ],
                read=lambda ran, tree: read_junit(report, ran, tree),
                env={"PYTHONDONTWRITEBYTECODE": "1"},
            )
        return result
