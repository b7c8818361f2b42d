"""The built-in secrets check: credential-shaped values a run's diff adds.

It runs on every run, gates configured or not: a key an agent writes into a file must
not reach the base branch unnoticed. Its findings are masked (the message shows where
and what kind, never the value), and it blocks approval like a red blocking gate.
"""

from __future__ import annotations

import re

from engine.domain.diffs import WorktreeDiff
from engine.domain.gates import Finding, GateResult, GateStatus
from engine.domain.redact import Redactor

#: The check's name, as verdicts and ``approve`` name it.
BUILTIN_SECRETS = "secrets (built in)"
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)")
#: Characters of a masked line kept in a finding's message.
SHOWN = 120


def added_credentials(diff: WorktreeDiff, redactor: Redactor) -> list[Finding]:
    """A finding for every added line holding a credential-shaped value (or the value
    of a workspace's key variable), at its line in the new file."""
    findings: list[Finding] = []
    for changed in diff.files:
        if changed.binary or not changed.patch:
            continue
        line: int | None = None  # None until the first hunk: the headers come first
        for raw in changed.patch.splitlines():
            hunk = _HUNK.match(raw)
            if hunk:
                line = int(hunk[1])
                continue
            if line is None:
                continue
            if raw.startswith("+"):
                text = raw[1:]
                masked = redactor.text(text)
                if masked != text:
                    column = next(
                        (i for i, (a, b) in enumerate(zip(text, masked, strict=False)) if a != b),
                        0,
                    )
                    findings.append(
                        Finding(
                            changed.path,
                            line,
                            "credential",
                            f"adds a credential-shaped value: {masked.strip()[:SHOWN]}",
                            column=column + 1,
                        )
                    )
                line += 1
            elif raw.startswith(" "):
                line += 1
    return findings


def secrets_verdict(diff: WorktreeDiff, redactor: Redactor) -> GateResult:
    """The built-in check's verdict on a run's diff: failed when it adds a credential."""
    findings = added_credentials(diff, redactor)
    return GateResult(
        BUILTIN_SECRETS,
        "secrets",
        GateStatus.FAILED if findings else GateStatus.PASSED,
        blocking=True,
        findings=findings,
        detail=(
            "the change adds what looks like a key or token: remove it (and revoke it)"
            if findings
            else ""
        ),
    )
