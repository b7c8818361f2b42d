"""secrets: credentials in what is new relative to the base — added lines of changed
files and whole new files (untracked ones included) — found by detect-secrets.

(gitleaks is not used yet even when it is on the PATH: detect-secrets is a Python
package ``make`` installs, and its verdicts are what the tests pin down.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from engine.adapters.gates.base import Verdicts
from engine.adapters.gates.tool import find_tool, run_tool
from engine.domain.gates import Finding, GateResult, GateStatus
from engine.ports.gate import GateSpec

#: More new files than this are scanned in the first this many only (and the verdict says so).
MAX_FILES = 2000
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", re.MULTILINE)


async def new_lines(tree: Path, base: str, timeout: float) -> dict[str, set[int] | None]:
    """Per tree-relative path, the line numbers added since ``base`` (None: the whole
    file is new). Outside a git repository every file counts as new."""
    changed: dict[str, set[int] | None] = {}
    names = await run_tool(
        ["git", "diff", "--name-only", "--diff-filter=AMR", "-z", base], tree, timeout
    )
    if names.exit_code != 0:
        listed = [p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file()]
        return dict.fromkeys(listed)
    untracked = await run_tool(
        ["git", "ls-files", "--others", "--exclude-standard", "-z"], tree, timeout
    )
    for name in filter(None, untracked.stdout.split("\0")):
        changed[name] = None
    for name in filter(None, names.stdout.split("\0")):
        diff = await run_tool(["git", "diff", "-U0", base, "--", name], tree, timeout)
        lines: set[int] = set()
        for match in _HUNK.finditer(diff.stdout):
            start, count = int(match.group(1)), int(match.group(2) or "1")
            lines.update(range(start, start + count))
        if "new file mode" in diff.stdout:
            changed[name] = None
        elif lines:
            changed[name] = lines
    return changed


class SecretsGate:
    """Credentials (API keys, tokens, private keys) in new lines and new files."""

    kind = "secrets"

    async def check(self, spec: GateSpec, tree: Path) -> GateResult:
        result = Verdicts(spec)
        tool = find_tool("detect-secrets")
        if tool is None:
            return result(
                GateStatus.UNAVAILABLE,
                detail="detect-secrets is not installed: pip install detect-secrets",
            )
        try:
            changed = await new_lines(tree, spec.base or "HEAD", spec.timeout)
        except OSError as exc:
            return result(GateStatus.ERROR, detail=f"git could not list the new lines: {exc}")
        files = sorted(changed)[:MAX_FILES]
        if not files:
            return result(GateStatus.PASSED)
        ran = await run_tool([tool, "scan", *spec.args, *files], tree, spec.timeout)
        if ran.timed_out:
            return result(
                GateStatus.ERROR, detail=f"detect-secrets timed out after {spec.timeout:g}s"
            )
        try:
            report = json.loads(ran.stdout)
        except ValueError:
            return result(GateStatus.ERROR, detail=f"detect-secrets failed: {ran.tail()}")
        findings = []
        for path, secrets in sorted((report.get("results") or {}).items()):
            added = changed.get(path)
            for secret in secrets:
                line = secret.get("line_number")
                if added is not None and line not in added:
                    continue  # an old line: not this change's doing
                kind = secret.get("type", "secret")
                findings.append(Finding(path, line, kind, f"possible secret: {kind}"))
        skipped = len(changed) - len(files)
        detail = f"{skipped} more new file(s) not scanned" if skipped > 0 else ""
        return result(GateStatus.FAILED if findings else GateStatus.PASSED, findings, detail)
