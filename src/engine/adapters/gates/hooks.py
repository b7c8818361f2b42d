"""hooks: the repo's pre-commit hooks (prek, or pre-commit) run on every file.

Hooks may fix files (formatters, whitespace fixers), so they run on a scratch copy of
the tree — its non-ignored files, untracked ones included, in a fresh git repository —
never on the agent's worktree behind its back. There is no machine-readable output:
the ``NAME.....Passed/Failed/Skipped`` lines and the details under them are read.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from engine.adapters.gates.base import Verdicts
from engine.adapters.gates.tool import ToolRun, find_tool, run_tool
from engine.domain.gates import Finding, GateResult, GateStatus
from engine.ports.gate import GateSpec

CONFIG = ".pre-commit-config.yaml"
_RESULT = re.compile(r"^(?P<name>.+?)\.{3,}(?:\(.*\))?(?P<status>Passed|Failed|Skipped)\s*$")


def read_hooks(output: str) -> list[Finding]:
    """One finding per failed hook: its id, and what it said (or that it fixed files)."""
    findings: list[Finding] = []
    name = hook_id = None
    said: list[str] = []
    modified = False

    def close() -> None:
        if name is None:
            return
        first = next((line.strip() for line in said if line.strip()), "")
        message = "files were modified by this hook" if modified and not first else first
        text = f"{name}: {message or 'failed'}"
        # A hook that modified files can fix them: running it is the fix.
        findings.append(Finding(".", None, hook_id or name, text, fix_available=modified))

    for line in output.splitlines():
        match = _RESULT.match(line)
        if match:
            close()
            failed = match.group("status") == "Failed"
            name = match.group("name").strip() if failed else None
            hook_id, said, modified = None, [], False
        elif name is not None:
            if line.startswith("- hook id:"):
                hook_id = line.split(":", 1)[1].strip()
            elif line.startswith("- files were modified"):
                modified = True
            elif not line.startswith("- "):
                said.append(line)
    close()
    return findings


async def scratch_copy(tree: Path, into: Path, timeout: float) -> None:
    """The tree's non-ignored files (untracked included) as a new git repo at ``into``."""
    listed = await run_tool(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], tree, timeout
    )
    if listed.exit_code == 0:
        names = [n for n in listed.stdout.split("\0") if n]
    else:  # not a git repo: every file
        names = [p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file()]
    into.mkdir(parents=True)
    for name in names:
        source = tree / name
        if source.is_file():  # listed but deleted in the working tree: skipped
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name, follow_symlinks=False)
    await run_tool(["git", "init", "-q"], into, timeout)
    await run_tool(["git", "add", "-A"], into, timeout)


class HooksGate:
    """``prek run --all-files`` (or ``pre-commit``) on a scratch copy of the tree."""

    kind = "hooks"

    async def check(self, spec: GateSpec, tree: Path) -> GateResult:
        result = Verdicts(spec)
        tool = find_tool(spec.command or "prek") or (
            None if spec.command else find_tool("pre-commit")
        )
        if tool is None:
            return result(GateStatus.UNAVAILABLE, detail="prek is not installed: pip install prek")
        if not (tree / CONFIG).is_file():
            return result(GateStatus.ERROR, detail=f"no {CONFIG} in the tree")
        with tempfile.TemporaryDirectory(prefix="cockpit-hooks-") as scratch:
            copy = Path(scratch) / "tree"
            await scratch_copy(tree, copy, spec.timeout)
            home = str(Path(scratch) / "home")  # hook environments, never the user's
            ran: ToolRun = await run_tool(
                [tool, "run", "--all-files", "--color", "never", *spec.args],
                copy,
                spec.timeout,
                env={"PREK_HOME": home, "PRE_COMMIT_HOME": home},
            )
        if ran.timed_out:
            return result(GateStatus.ERROR, detail=f"hooks timed out after {spec.timeout:g}s")
        findings = read_hooks(ran.stdout)
        if ran.exit_code == 0:
            return result(GateStatus.PASSED)
        if not findings:
            return result(GateStatus.ERROR, detail=f"hooks failed: {ran.tail()}")
        return result(GateStatus.FAILED, findings)
