"""Diffs of a run's worktree and the status of a repo, as the UI shows them.

Pure values: the git adapter fills them in, nothing here does I/O. Text is for display, so
bytes that are not UTF-8 (in patches and in paths) arrive as U+FFFD.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: How a file changed: Added, Modified, Deleted, Renamed (possibly edited too), or Type
#: change — a file became a symlink (or back), or only its mode changed (e.g. +x).
FileStatus = Literal["A", "M", "D", "R", "T"]

#: A file's patch keeps at most this many lines, the marker line included.
MAX_PATCH_LINES = 2_000
#: Each patch line keeps at most this many characters, its marker included.
MAX_LINE_CHARS = 1_000
#: A diff lists at most this many files; the rest only add to the ``omitted_*`` counts.
MAX_FILES = 1_000


@dataclass(frozen=True, kw_only=True)
class FileDiff:
    """One changed file: what happened to it, its line counts and its patch."""

    #: Path relative to the worktree's top (the new path of a rename).
    path: str
    #: The path before a rename; None otherwise.
    old_path: str | None = None
    status: FileStatus
    #: Lines added / removed; both 0 for binary files.
    added: int = 0
    removed: int = 0
    binary: bool = False
    #: The file's unified diff, git headers included (``diff --git …``); "" for binary
    #: files. See ``truncated``.
    patch: str = ""
    #: Whether ``patch`` was shortened: a line cut at ``MAX_LINE_CHARS`` (ending in "…")
    #: or the patch cut at ``MAX_PATCH_LINES`` (ending in a line starting with "\\").
    truncated: bool = False


@dataclass(frozen=True, kw_only=True)
class WorktreeDiff:
    """Every change between a base commit and a worktree as it is now."""

    #: Changed files in git's order (by path), at most ``MAX_FILES`` of them.
    files: list[FileDiff] = field(default_factory=list)
    #: Changed files beyond ``MAX_FILES``: only their count and line counts are kept.
    omitted_files: int = 0
    omitted_added: int = 0
    omitted_removed: int = 0

    @property
    def added(self) -> int:
        """Lines added over the whole diff, omitted files included."""
        return sum(f.added for f in self.files) + self.omitted_added

    @property
    def removed(self) -> int:
        """Lines removed over the whole diff, omitted files included."""
        return sum(f.removed for f in self.files) + self.omitted_removed

    @property
    def file_count(self) -> int:
        """Changed files over the whole diff, omitted ones included."""
        return len(self.files) + self.omitted_files


@dataclass(frozen=True, kw_only=True)
class RepoStatus:
    """The state of the user's checkout of a repo: branch, upstream, uncommitted files."""

    #: The checked-out branch (short name, e.g. "main"); None when HEAD is detached.
    branch: str | None
    #: The commit HEAD points at; None in a repo without commits yet.
    head_sha: str | None
    #: The branch's upstream (e.g. "origin/main"); None when it has none.
    upstream: str | None = None
    #: Commits on the branch not on its upstream, and the reverse; 0 without an upstream
    #: (or when the upstream branch is gone).
    ahead: int = 0
    behind: int = 0
    #: Uncommitted files as (porcelain XY code, path): e.g. (".M", "a.py") for an unstaged
    #: edit, ("??", "new.txt") for an untracked file, ("UU", …) for a conflict. A rename
    #: lists its new path.
    dirty: list[tuple[str, str]] = field(default_factory=list)

    @property
    def untracked(self) -> int:
        """How many of the ``dirty`` entries are untracked files (or folders)."""
        return sum(1 for code, _ in self.dirty if code == "??")

    @property
    def clean(self) -> bool:
        """Whether nothing is uncommitted, untracked files included."""
        return not self.dirty
