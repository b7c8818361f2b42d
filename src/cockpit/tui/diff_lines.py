"""A unified diff as display lines with a gutter: the new file's line number, and a mark
where a gate finding flags the line, its message on the line below."""

from __future__ import annotations

import re
from dataclasses import dataclass

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")

#: A finding as the gutter needs it: (gate, code, message).
Flag = tuple[str, str, str]


@dataclass(frozen=True)
class DiffLine:
    """One display line. ``kind``: file, hunk, add, del, context, finding."""

    kind: str
    text: str
    #: The new file's line number (added and context lines).
    number: int | None = None
    flagged: bool = False


def diff_lines(path: str, patch: str, flags: dict[int, list[Flag]]) -> list[DiffLine]:
    """``patch`` (one file's unified diff) as display lines; ``flags`` by new line number."""
    lines = [DiffLine("file", path)]
    number: int | None = None
    shown: set[int] = set()
    for raw in patch.splitlines():
        hunk = _HUNK.match(raw)
        if hunk:
            number = int(hunk.group(1))
            lines.append(DiffLine("hunk", raw))
            continue
        if raw.startswith(("---", "+++", "diff ", "index ", "new file", "deleted file")):
            continue
        if number is None or raw.startswith("\\"):
            continue
        if raw.startswith("-"):
            lines.append(DiffLine("del", raw))
            continue
        kind = "add" if raw.startswith("+") else "context"
        here = flags.get(number, [])
        lines.append(DiffLine(kind, raw, number, bool(here)))
        for gate, code, message in here:
            lines.append(DiffLine("finding", f"{gate} {code}: {message}", number, True))
        if here:
            shown.add(number)
        number += 1
    # Findings on lines the diff does not show (a file's untouched part) come last.
    for line in sorted(set(flags) - shown):
        for gate, code, message in flags[line]:
            lines.append(DiffLine("finding", f"line {line}: {gate} {code}: {message}", line, True))
    return lines


def flags_by_file(verdicts: list[tuple[str, list[dict]]]) -> dict[str, dict[int, list[Flag]]]:
    """``(gate name, finding dicts)`` pairs as flags by path, then by line (findings
    without a line are not drawn in a gutter)."""
    found: dict[str, dict[int, list[Flag]]] = {}
    for gate, findings in verdicts:
        for f in findings:
            line = f.get("line")
            if isinstance(line, int):
                found.setdefault(str(f.get("path", "")), {}).setdefault(line, []).append(
                    (gate, str(f.get("code", "")), str(f.get("message", "")))
                )
    return found
