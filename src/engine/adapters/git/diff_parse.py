"""Parsing git's output into the domain's diff and status values.

Pure text work, no git calls: :class:`~engine.adapters.git.worktrees.GitWorktrees` runs
``diff-tree`` and ``status`` and hands their output here. Paths arrive as git printed
them (non-UTF-8 bytes kept as surrogates, so they can be passed back to git) and leave as
display text.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.domain.diffs import MAX_LINE_CHARS, MAX_PATCH_LINES, FileDiff, FileStatus, RepoStatus
from engine.domain.errors import GitError


def _display(text: str) -> str:
    """``git`` output (bytes kept as surrogates) as display text: non-UTF-8 bytes → U+FFFD.

    Surrogates would make the text unencodable (e.g. to JSON for the UI).
    """
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


#: git's raw status letters as ``FileStatus``; C (a copy, only reported with -C) is a new
#: file, anything else (M, or U/X which a tree-to-tree diff never gives) is Modified.
_STATUS: dict[str, FileStatus] = {"A": "A", "D": "D", "R": "R", "T": "T", "C": "A"}


@dataclass
class DiffEntry:
    """One changed file as ``diff-tree --raw --numstat`` reports it."""

    path: str  # as git printed it (surrogateescape), so it can be passed back to git
    old_path: str | None
    status: FileStatus
    #: git's own status was T: its patch comes as a deletion plus a creation.
    split: bool
    added: int
    removed: int
    binary: bool


def parse_raw_numstat(out: str) -> list[DiffEntry]:
    """Parse ``diff-tree -r -M --raw --numstat -z``: every raw record, then as many numstat
    records in the same order.

    Read strictly in sequence, because a path may contain anything but NUL (even a
    leading ``:`` or a tab).
    """
    tokens = out.split("\0")
    i = 0
    raw: list[tuple[str, str | None, FileStatus, bool]] = []
    while i < len(tokens) and tokens[i].startswith(":"):
        old_mode, new_mode, old_sha, new_sha, letter = tokens[i][1:].split(" ")
        if letter[0] in "RC":
            old_path, path = tokens[i + 1], tokens[i + 2]
            i += 3
        else:
            old_path, path = None, tokens[i + 1]
            i += 2
        status = _STATUS.get(letter[0], "M")
        if letter[0] == "M" and old_sha == new_sha and old_mode != new_mode:
            status = "T"  # only the mode changed (e.g. chmod +x)
        raw.append((path, old_path, status, letter[0] == "T"))
    entries: list[DiffEntry] = []
    for path, old_path, status, split in raw:
        if i >= len(tokens):
            raise GitError("git diff-tree: fewer numstat records than changed files")
        added, removed, rest = tokens[i].split("\t", 2)
        i += 1 if rest else 3  # a rename's paths follow as two more tokens
        binary = added == "-"
        entries.append(
            DiffEntry(
                path=path,
                old_path=old_path,
                status=status,
                split=split,
                added=0 if binary else int(added),
                removed=0 if binary else int(removed),
                binary=binary,
            )
        )
    return entries


def split_patch(out: str) -> list[list[str]]:
    """Split ``diff-tree -p`` output into its per-file sections, as lists of lines.

    Every section starts with ``diff --git ``; no other line can, since content lines
    start with " ", "+", "-" or "\\".
    """
    sections: list[list[str]] = []
    # Only "\n" ends a line: a "\r" or form feed inside a line is content.
    lines = out.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for line in lines:
        if line.startswith("diff --git ") or not sections:
            sections.append([])
        sections[-1].append(line)
    return sections


def file_diffs(entries: list[DiffEntry], sections: list[list[str]]) -> list[FileDiff]:
    """Pair each entry with its patch section(s) — both come in git's order — and cap them.

    Should the two ever disagree (they come from two git runs), the patches are dropped
    and marked truncated rather than shown against the wrong file.
    """
    wanted = sum(2 if e.split else 1 for e in entries)
    aligned = len(sections) == wanted
    files: list[FileDiff] = []
    at = 0
    for e in entries:
        lines: list[str] = []
        if aligned:
            for section in sections[at : at + (2 if e.split else 1)]:
                lines += section
            at += 2 if e.split else 1
        patch, truncated = ("", False) if e.binary else _cap_patch(lines)
        files.append(
            FileDiff(
                path=_display(e.path),
                old_path=_display(e.old_path) if e.old_path is not None else None,
                status=e.status,
                added=e.added,
                removed=e.removed,
                binary=e.binary,
                patch=patch,
                truncated=truncated or not aligned,
            )
        )
    return files


def _cap_patch(lines: list[str]) -> tuple[str, bool]:
    """Join a file's patch lines, capped at ``MAX_PATCH_LINES`` lines (marker included) of
    ``MAX_LINE_CHARS`` characters; return the text and whether anything was cut."""
    truncated = False
    if len(lines) > MAX_PATCH_LINES:
        hidden = len(lines) - (MAX_PATCH_LINES - 1)
        # "\" starts git's own meta lines ("\ No newline at end of file"), so a viewer
        # that colours by the first character will not take this for content.
        lines = [*lines[: MAX_PATCH_LINES - 1], f"\\ … {hidden} more lines not shown"]
        truncated = True
    out: list[str] = []
    for line in lines:
        line = _display(line)
        if len(line) > MAX_LINE_CHARS:
            line = line[: MAX_LINE_CHARS - 1] + "…"
            truncated = True
        out.append(line)
    return ("\n".join(out) + "\n" if out else ""), truncated


def parse_status(out: str) -> RepoStatus:
    """Parse ``git status --porcelain=v2 --branch -z``: the branch (None when detached),
    its commit (None before the first), upstream and ahead/behind counts, and each dirty
    path with its two-letter XY status (``??`` for untracked)."""
    branch: str | None = None
    head_sha: str | None = None
    upstream: str | None = None
    ahead = behind = 0
    dirty: list[tuple[str, str]] = []
    tokens = out.split("\0")
    i = 0
    while i < len(tokens):
        record = tokens[i]
        i += 1
        kind = record[:1]
        if record.startswith("# branch.oid "):
            oid = record.removeprefix("# branch.oid ")
            head_sha = None if oid == "(initial)" else oid
        elif record.startswith("# branch.head "):
            head = record.removeprefix("# branch.head ")
            branch = None if head == "(detached)" else _display(head)
        elif record.startswith("# branch.upstream "):
            upstream = _display(record.removeprefix("# branch.upstream "))
        elif record.startswith("# branch.ab "):
            a, b = record.removeprefix("# branch.ab ").split(" ")
            ahead, behind = int(a.lstrip("+")), abs(int(b))
        elif kind == "1":  # 1 XY sub mH mI mW hH hI path
            parts = record.split(" ", 8)
            dirty.append((parts[1], _display(parts[8])))
        elif kind == "2":  # 2 XY sub mH mI mW hH hI Xscore path, then origPath
            parts = record.split(" ", 9)
            dirty.append((parts[1], _display(parts[9])))
            i += 1
        elif kind == "u":  # u XY sub m1 m2 m3 mW h1 h2 h3 path
            parts = record.split(" ", 10)
            dirty.append((parts[1], _display(parts[10])))
        elif kind == "?":
            dirty.append(("??", _display(record[2:])))
    return RepoStatus(
        branch=branch,
        head_sha=head_sha,
        upstream=upstream,
        ahead=ahead,
        behind=behind,
        dirty=dirty,
    )
