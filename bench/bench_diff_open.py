"""diff_open: milliseconds to parse a big diff into files, hunks and lines.

The figure is the parse that opening the review screen does: ``parse_patch`` on the text
of ``git diff --no-color --no-ext-diff -M base HEAD``, taken once beforehand (git's own
time is not part of it).

The repo: FILES generated Python modules of LINES lines, one commit; a second commit
rewrites HUNKS blocks of CHANGED lines in every module, so the diff has FILES x HUNKS
hunks and FILES x HUNKS x CHANGED x 2 changed lines (20,000: half removed, half added),
each hunk with git's three lines of context on both sides.

The baseline: ``unidiff.PatchSet`` (the usual Python library for unified diffs) on the
same text. Goal: ratio <= 5; target: <= 300 ms. Medians of REPEATS runs of each, after
one untimed warm-up of both.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import unidiff

from common import emit, git, log, median, temp_dir
from engine.domain.patch import parse_patch

REPEATS = 15
FILES = 200
LINES = 300
HUNKS = 5
CHANGED = 10  # lines replaced per hunk: 10 removed + 10 added


def module(index: int, edited: bool) -> str:
    """The text of module ``index``: LINES numbered lines of code; ``edited`` rewrites
    CHANGED lines in each of HUNKS blocks spread over the file."""
    step = LINES // HUNKS
    lines = []
    for n in range(LINES):
        if edited and n % step >= step // 2 and n % step < step // 2 + CHANGED:
            lines.append(f"    result_{n} = compute(value_{index}, factor={n} * 2)  # edited\n")
        else:
            lines.append(f"    value_{n} = helper_{index}(argument_{n}, option={n})\n")
    return "".join(lines)


def make_diff(repo: Path) -> str:
    """Build the repo, commit the edits, and return the diff between the two commits."""
    repo.mkdir(parents=True)
    for i in range(FILES):
        (repo / f"mod{i:04d}.py").write_text(module(i, edited=False))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    for i in range(FILES):
        (repo / f"mod{i:04d}.py").write_text(module(i, edited=True))
    git(repo, "commit", "-q", "-am", "edit")
    return git(repo, "diff", "--no-color", "--no-ext-diff", "-M", "HEAD~", "HEAD")


def counts(text: str) -> tuple[int, int]:
    """(files, changed lines) of the diff, as parsed (the parse is not kept around)."""
    files = parse_patch(text)
    return len(files), sum(fp.added + fp.removed for fp in files)


def timed_ms(parse: Callable[[str], object], text: str) -> float:
    """Milliseconds for one ``parse(text)``. Its result is freed after the clock stops:
    the screen keeps what it parsed, so freeing it is no part of opening."""
    t0 = time.perf_counter()
    parsed = parse(text)
    elapsed = (time.perf_counter() - t0) * 1000
    del parsed
    return elapsed


def main() -> None:
    with temp_dir("diff-open") as tmp:
        text = make_diff(tmp / "repo")
    files, changed = counts(text)
    if files != FILES or changed != FILES * HUNKS * CHANGED * 2:
        raise RuntimeError(f"unexpected diff: {files} files, {changed} changed lines")
    ours: list[float] = []
    theirs: list[float] = []
    for rep in range(REPEATS + 1):
        parse = timed_ms(parse_patch, text)
        baseline = timed_ms(unidiff.PatchSet, text)
        log(f"diff_open rep {rep}: parse_patch {parse:.1f} ms; unidiff {baseline:.1f} ms")
        if rep:
            ours.append(parse)
            theirs.append(baseline)
    emit(
        "diff_open",
        median(ours),
        "ms",
        "unidiff.PatchSet on the same diff text",
        median(theirs),
        goal="<= 5",
        target="<= 300 ms",
        digits=1,
        files=files,
        lines=changed,
        repeats=REPEATS,
    )


if __name__ == "__main__":
    main()
