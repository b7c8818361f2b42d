"""secrets: credentials in what is new relative to the base — added lines of changed
files and whole new files (untracked ones included) — found by gitleaks or detect-secrets.

gitleaks is used when it is on the PATH (its report read from JSON), else detect-secrets,
a Python package ``make`` installs for the tests.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from engine.adapters.gates.base import Verdicts
from engine.adapters.gates.tool import find_tool, relative, run_tool
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
        gitleaks, detect = find_tool("gitleaks"), find_tool("detect-secrets")
        if gitleaks is None and detect is None:
            return result(
                GateStatus.UNAVAILABLE,
                detail="neither gitleaks nor detect-secrets is installed: pip install detect-secrets",
            )
        try:
            changed = await new_lines(tree, spec.base or "HEAD", spec.timeout)
        except OSError as exc:
            return result(GateStatus.ERROR, detail=f"git could not list the new lines: {exc}")
        if not changed:
            return result(GateStatus.PASSED)
        if gitleaks is not None:
            found, detail = await _gitleaks(gitleaks, spec, tree)
        else:
            assert detect is not None
            found, detail = await _detect_secrets(detect, spec, tree, sorted(changed))
        if found is None:
            return result(GateStatus.ERROR, detail=detail)
        findings = [f for f in found if _is_new(f, changed)]
        return result(GateStatus.FAILED if findings else GateStatus.PASSED, findings, detail)


def _is_new(finding: Finding, changed: dict[str, set[int] | None]) -> bool:
    """Whether the finding is in what the change added (a new file, or an added line)."""
    if finding.path not in changed:
        return False
    added = changed[finding.path]
    return added is None or finding.line in added


async def _detect_secrets(
    tool: str, spec: GateSpec, tree: Path, files: list[str]
) -> tuple[list[Finding] | None, str]:
    """detect-secrets on the new and changed files (the first MAX_FILES)."""
    scanned = files[:MAX_FILES]
    ran = await run_tool([tool, "scan", *spec.args, *scanned], tree, spec.timeout)
    if ran.timed_out:
        return None, f"detect-secrets timed out after {spec.timeout:g}s"
    try:
        report = json.loads(ran.stdout)
    except ValueError:
        return None, f"detect-secrets failed: {ran.tail()}"
    found = [
        Finding(path, secret.get("line_number"), kind, f"possible secret: {kind}")
        for path, secrets in sorted((report.get("results") or {}).items())
        for secret in secrets
        for kind in [secret.get("type", "secret")]
    ]
    skipped = len(files) - len(scanned)
    return found, f"{skipped} more new file(s) not scanned" if skipped > 0 else ""


def read_gitleaks(report: str, tree: Path) -> list[Finding]:
    """A gitleaks JSON report (``File``, ``StartLine``, ``RuleID``, ``Description``)."""
    return [
        Finding(
            relative(str(item.get("File", "")), tree).removeprefix("./"),
            item.get("StartLine"),
            str(item.get("RuleID") or "secret"),
            str(item.get("Description") or "possible secret"),
        )
        for item in json.loads(report or "[]")
    ]


async def _gitleaks(tool: str, spec: GateSpec, tree: Path) -> tuple[list[Finding] | None, str]:
    """``gitleaks dir`` over the tree (its own file walk), secrets redacted in the
    report, which is written outside the tree."""
    with tempfile.TemporaryDirectory(prefix="cockpit-gitleaks-") as scratch:
        report = Path(scratch) / "report.json"
        argv = [tool, "dir", ".", "--report-format", "json", "--report-path", str(report)]
        argv += ["--no-banner", "--redact", "--exit-code", "0", *spec.args]
        ran = await run_tool(argv, tree, spec.timeout)
        if ran.timed_out:
            return None, f"gitleaks timed out after {spec.timeout:g}s"
        try:
            return read_gitleaks(report.read_text(), tree), ""
        except (OSError, ValueError):
            return None, f"gitleaks failed: {ran.tail()}"
