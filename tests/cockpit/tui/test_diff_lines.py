"""A diff with a findings gutter: line numbers follow the hunks; flagged lines carry
their findings below them."""

from __future__ import annotations

from cockpit.tui.diff_lines import diff_lines, flags_by_file

PATCH = "\n".join(
    [
        "diff --git a/app.py b/app.py",
        "--- a/app.py",
        "+++ b/app.py",
        "@@ -1,3 +1,4 @@",
        " import sys",
        "+import os",
        " ",  # a blank context line
        " def main():",
        "@@ -10,2 +11,2 @@ def main():",
        "-    return 1",
        "+    return 2",
        "     # end",
    ]
)


def test_new_line_numbers_follow_the_hunks_and_findings_sit_under_their_line() -> None:
    flags = flags_by_file(
        [
            ("lint", [{"path": "app.py", "line": 2, "code": "F401", "message": "unused"}]),
            ("lint", [{"path": "app.py", "line": 40, "code": "E1", "message": "far away"}]),
            ("tests", [{"path": "app.py", "line": None, "code": "t::x", "message": "no line"}]),
        ]
    )
    lines = diff_lines("app.py", PATCH, flags["app.py"])
    shown = [(line.kind, line.number, line.flagged) for line in lines]
    assert shown == [
        ("file", None, False),
        ("hunk", None, False),
        ("context", 1, False),
        ("add", 2, True),
        ("finding", 2, True),
        ("context", 3, False),
        ("context", 4, False),
        ("hunk", None, False),
        ("del", None, False),
        ("add", 11, False),
        ("context", 12, False),
        ("finding", 40, True),
    ]
    assert lines[4].text == "lint F401: unused"
    assert lines[-1].text == "line 40: lint E1: far away"
