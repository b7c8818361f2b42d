"""Worktrees: isolation of each run in its own git worktree and branch, and its snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from engine.domain.diffs import RepoStatus, WorktreeDiff


@dataclass(frozen=True)
class Salvage:
    """Where a worktree's unmerged work was saved before removal."""

    path: Path
    patch: Path
    untracked: list[str]


class Worktrees(Protocol):
    """Git operations the engine needs. Every method is async and never blocks the loop."""

    async def is_repo(self, path: Path) -> bool:
        """Whether ``path`` is the top of (or inside) a git working tree."""

    async def resolve(self, repo: Path, rev: str) -> str:
        """The full sha of ``rev`` in ``repo``; raises GitError when unknown."""

    async def create(self, repo: Path, worktree: Path, branch: str, base: str) -> str:
        """Add ``worktree`` on a new ``branch`` from ``base``; return the base sha."""

    async def snapshot(self, worktree: Path, ref: str, message: str) -> str:
        """Commit every non-ignored file (untracked included) to ``ref`` without touching
        the branch, the index or the files; return the commit sha."""

    async def commit_work(self, worktree: Path, message: str) -> str | None:
        """Commit every non-ignored file to the worktree's branch; None when nothing changed."""

    async def changed_files(self, worktree: Path, base_sha: str) -> list[str]:
        """Files that differ between ``base_sha`` and the worktree (untracked included)."""

    async def diff(self, worktree: Path, base_sha: str) -> WorktreeDiff:
        """The worktree as it is now — untracked files included, ignored ones not — against
        ``base_sha``: per-file status, line counts and (capped) patches."""

    async def status(self, repo: Path) -> RepoStatus:
        """Branch, ahead/behind its upstream if any, dirty files of the user's checkout."""

    async def has_unmerged_work(self, worktree: Path, base_sha: str) -> bool:
        """Whether the worktree or its branch holds anything not in ``base_sha``."""

    async def salvage(self, worktree: Path, base_sha: str, dest: Path) -> Salvage:
        """Write a salvage bundle (patch + untracked files) of the worktree into ``dest``."""

    async def remove(
        self, repo: Path, worktree: Path, salvage_dir: Path, base_sha: str
    ) -> Salvage | None:
        """Remove the worktree; when it holds unmerged work, salvage it first and return where."""
