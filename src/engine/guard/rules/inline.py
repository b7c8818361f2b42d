"""The inline-code rule, asked about: inline code that runs a command it builds, or deletes
and writes files whose names it works out at run time."""

from __future__ import annotations

import re

from engine.guard.command import Simple
from engine.guard.paths import Call

#: Inline code that names places beyond the worktree without naming them literally.
_CODE_ELSEWHERE = re.compile(
    r"expanduser|Path\.home|os\.environ|getenv|process\.env|homedir|\$ENV\{|ENV\[|Dir\.home"
    r"|['\"`](?:/(?!tmp/|dev/null)|~|\.\./)|\$HOME|\bglob\s*\(\s*['\"]/"
)


def _inline_code(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        code = s.code
        if code is None:
            continue
        if code.runs_unknown:
            return f"{s.program} code runs a command it builds: it cannot be judged beforehand"
        if code.touches_files and _CODE_ELSEWHERE.search(code.text):
            return f"{s.program} code deletes or writes files it names at run time, perhaps outside the worktree"
    return None
