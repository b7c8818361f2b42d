"""Worktrees: isolation of each run in its own git worktree and branch, and its snapshots."""

from __future__ import annotations

from contextlib import AbstractContextManager
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

    async def discard(self, repo: Path, worktree: Path, branch: str, base_sha: str) -> None:
        """Remove a worktree no agent worked in, and its branch if it holds nothing beyond
        ``base_sha`` (no salvage: there is no work; needs no free space)."""

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


@dataclass(frozen=True)
class MergePreview:
    """What merging a branch into another would give, worked out without moving any
    ref or touching any checkout: the merged tree, or the files that conflict."""

    tree: str | None
    conflicts: list[str]
    #: The merged tree is the base's own: the base already has every change.
    unchanged: bool = False


class Merges(Protocol):
    """Git operations of a review's decision: merging a run's branch into its base, or
    throwing the run's worktree and branch away."""

    async def preview(self, repo: Path, base: str, branch: str) -> MergePreview:
        """Merge ``branch`` into ``base`` in memory (``git merge-tree``)."""

    async def commit(self, repo: Path, tree: str, parents: list[str], message: str) -> str:
        """A commit of ``tree`` with these parents (no hooks, no signing); its sha."""

    async def checkout_of(self, repo: Path, branch: str) -> Path | None:
        """The working tree (the repo's own or a linked one) with ``branch`` checked out."""

    def tied(self, tag: str) -> AbstractContextManager[None]:
        """Within the block, every git process Cockpit starts dies with this process and
        carries ``tag`` (for :meth:`clear_leftovers` to find one that did not)."""

    async def update_checkout(self, checkout: Path, old: str, new: str) -> None:
        """Change the index and files of ``checkout`` (clean, at ``old``: the caller
        checked) from ``old`` to ``new``, its branch left where it is. Refuses, writing
        nothing, rather than overwrite an edit or an untracked file."""

    async def move_branch(self, repo: Path, branch: str, new: str, old: str, why: str) -> None:
        """Move ``branch`` from ``old`` to ``new`` (compare-and-swap: fails, moving
        nothing, when it is no longer at ``old``); ``why`` goes to its reflog."""

    async def contains(self, repo: Path, rev: str, commit: str) -> bool:
        """Whether ``commit`` is ``rev`` or one of its ancestors."""

    async def settle(
        self, checkout: Path, old: str, new: str, onto: str | None = None
    ) -> list[str]:
        """After an update from ``old`` to ``new`` (or back) was cut short: make the
        paths differing between them, index and files, what ``onto`` (default ``HEAD``;
        one of the two) holds, leaving alone any file holding someone's edit; returns
        those."""

    async def clear_leftovers(
        self,
        repo: Path,
        tag: str,
        spare: str,
        branches: list[str],
        checkout: Path | None,
        worktree: Path,
    ) -> bool:
        """End git processes a dead decision left running (marked ``tag``…, except
        ``spare``, this process's own), then remove the lock files a killed git leaves
        (``index.lock`` and ``HEAD.lock`` of the ``checkout`` and the run's
        ``worktree``, the ``branches``' ref locks, ``packed-refs.lock``) and the
        worktree's unfinished snapshot index. False, leaving the locks, while a live git
        works in the repo: they may be its own."""

    async def discard(self, repo: Path, worktree: Path, branch: str) -> None:
        """Remove ``worktree`` and delete ``branch`` (save what matters first); works on
        what a removal cut short left too. GitError when the branch is still there."""

    async def patch_between(self, repo: Path, old: str, new: str) -> str:
        """``git diff -M old new`` as text (bytes that are not UTF-8 kept as surrogate
        escapes, so a part of it applies back exactly)."""

    async def revert(self, worktree: Path, patch: str) -> None:
        """Reverse-apply ``patch`` to the worktree's files (all or nothing)."""

    async def restore(self, worktree: Path, rev: str, paths: list[str]) -> None:
        """Make ``paths`` in the worktree what they are at ``rev`` (deleted where ``rev``
        has no such file)."""
