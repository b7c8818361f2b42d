"""A review's git decisions through the git command line: a merge worked out in memory
(``git merge-tree``) so a conflict is found before any ref moves, the merge commit made
from that tree, the checkout of the base (if any) brought to it, the base branch moved
with a compare-and-swap, and the run's worktree and branch removed; and what recovery
needs when one of those was killed half-way (see ``settle`` and ``leftovers``)."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncGenerator
from contextlib import AbstractContextManager, asynccontextmanager
from pathlib import Path

from engine.adapters.git.leftovers import end_marked, remove_stale_locks
from engine.adapters.git.lifeline import tied
from engine.adapters.git.runner import commit_tree, git, git_exit, split_z
from engine.adapters.git.settle import settle
from engine.domain.errors import GitError
from engine.ports.git import MergePreview


class GitMerges:
    """The ``Merges`` port over the git command line."""

    async def preview(self, repo: Path, base: str, branch: str) -> MergePreview:
        code, out, err = await git_exit(
            "merge-tree", "--write-tree", "--name-only", "--no-messages", base, branch, cwd=repo
        )
        lines = [line for line in out.splitlines() if line]
        if code == 0 and lines:
            base_tree = (await git("rev-parse", f"{base}^{{tree}}", cwd=repo)).strip()
            return MergePreview(tree=lines[0], conflicts=[], unchanged=lines[0] == base_tree)
        if code == 1 and lines:  # the tree (with conflict markers), then the files
            return MergePreview(tree=None, conflicts=sorted(set(lines[1:])))
        reason = (err.strip().splitlines() or [f"exit code {code}"])[0]
        raise GitError(f"git merge-tree {base} {branch} (in {repo}) failed: {reason}")

    async def commit(self, repo: Path, tree: str, parents: list[str], message: str) -> str:
        return await commit_tree(repo, tree, parents, message)

    async def checkout_of(self, repo: Path, branch: str) -> Path | None:
        out = await git("worktree", "list", "--porcelain", cwd=repo)
        path: Path | None = None
        for line in out.splitlines():
            if line.startswith("worktree "):
                path = Path(line[len("worktree ") :])
            elif line == f"branch refs/heads/{branch}":
                return path
        return None

    def tied(self, tag: str) -> AbstractContextManager[None]:
        return tied(tag)

    async def update_checkout(self, checkout: Path, old: str, new: str) -> None:
        head = (await git("rev-parse", "HEAD", cwd=checkout)).strip()
        if head != old:
            raise GitError(f"HEAD moved in {checkout} while the merge was made; approve again")
        # A two-tree read-tree changes the index and the files from old to new and
        # refuses, before writing anything, rather than overwrite an edit or an untracked
        # file; the branch itself is moved afterwards, by move_branch. Cut short, it leaves
        # the index old or new (it is replaced whole) and some files written: settle()
        # finishes or undoes that.
        # read-tree trusts the index's stat data (unlike merge, it does not refresh it
        # first): files merely touched, or copied, would count as edited.
        await git("update-index", "-q", "--refresh", cwd=checkout, check=False)
        await git("read-tree", "-m", "-u", old, new, cwd=checkout)

    async def move_branch(self, repo: Path, branch: str, new: str, old: str, why: str) -> None:
        # update-ref with the old value: refuses if someone moved the branch meanwhile.
        await git("update-ref", "-m", why, f"refs/heads/{branch}", new, old, cwd=repo)

    async def contains(self, repo: Path, rev: str, commit: str) -> bool:
        code, _, err = await git_exit("merge-base", "--is-ancestor", commit, rev, cwd=repo)
        if code not in (0, 1):
            raise GitError(f"git merge-base --is-ancestor (in {repo}) failed: {err.strip()}")
        return code == 0

    async def settle(
        self, checkout: Path, old: str, new: str, onto: str | None = None
    ) -> list[str]:
        return await settle(checkout, old, new, onto)

    async def clear_leftovers(
        self,
        repo: Path,
        tag: str,
        spare: str,
        branches: list[str],
        checkout: Path | None,
        worktree: Path,
    ) -> bool:
        if not await asyncio.to_thread(end_marked, tag, spare):
            return False
        common = Path(
            (await git("rev-parse", "--path-format=absolute", "--git-common-dir", cwd=repo)).strip()
        )
        places = [common, *await self._worktree_paths(repo)]
        locks = [common / "packed-refs.lock", common / "index.lock", common / "HEAD.lock"]
        locks += [common / "refs" / "heads" / f"{branch}.lock" for branch in branches]
        for tree in (checkout, worktree):
            git_dir = await self._git_dir(tree)
            if git_dir is not None:
                locks += [git_dir / "index.lock", git_dir / "HEAD.lock"]
        run_dir = await self._git_dir(worktree)
        if run_dir is not None:
            # The private index (and its lock) of a snapshot of the run's worktree that was
            # killed (GitWorktrees._work_tree): nobody else snapshots a run being decided.
            locks += await asyncio.to_thread(lambda: list(run_dir.glob("cockpit-snapshot-*")))
        return await asyncio.to_thread(remove_stale_locks, places, locks)

    async def _git_dir(self, tree: Path | None) -> Path | None:
        """The git dir of the working tree ``tree``, if it still is one."""
        if tree is None or not (tree / ".git").exists():
            return None
        out = await git("rev-parse", "--absolute-git-dir", cwd=tree, check=False)
        return Path(out.strip()) if out.strip() else None

    async def _worktree_paths(self, repo: Path) -> list[Path]:
        out = await git("worktree", "list", "--porcelain", cwd=repo)
        return [
            Path(line[len("worktree ") :])
            for line in out.splitlines()
            if line.startswith("worktree ")
        ]

    async def discard(self, repo: Path, worktree: Path, branch: str) -> None:
        if worktree.exists():
            code, _, _ = await git_exit(
                "worktree", "remove", "--force", "--", str(worktree), cwd=repo
            )
            if code != 0 and worktree.exists():
                # A removal cut short (its .git file already deleted, say) leaves a folder
                # git no longer accepts as a worktree: what is left of it goes the same way.
                await asyncio.to_thread(shutil.rmtree, worktree)
        await git("worktree", "prune", cwd=repo)
        await git("branch", "-D", "--", branch, cwd=repo, check=False)
        left = await git(
            "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", cwd=repo, check=False
        )
        if left.strip():
            raise GitError(f"git branch -D {branch} (in {repo}) left the branch in place")

    async def patch_between(self, repo: Path, old: str, new: str) -> str:
        # git writes the diff to a file, not a pipe: a big diff fills the pipe's buffer
        # whenever the event loop is busy (drawing the review screen, say) and git then
        # waits for it; a file lets git finish at its own speed meanwhile (a 20,000-line
        # diff was read 150 ms sooner).
        async with _patch_file() as output:
            # Fixed prefixes: a user's diff.noprefix or diff.mnemonicPrefix must not
            # change the text the parser and `git apply` read.
            await git(
                "diff", "--no-color", "--no-ext-diff", "-M", "--src-prefix=a/",
                "--dst-prefix=b/", f"--output={output}", old, new, "--", cwd=repo,
            )  # fmt: skip
            data = await asyncio.to_thread(output.read_bytes)
        return data.decode(errors="surrogateescape")

    async def revert(self, worktree: Path, patch: str) -> None:
        # Through a file: the patch may hold any bytes (surrogate escapes turn back into
        # them), and `git apply` checks every hunk before it changes any file.
        async with _patch_file() as path:
            await asyncio.to_thread(path.write_bytes, patch.encode(errors="surrogateescape"))
            await git("apply", "-R", "--whitespace=nowarn", str(path), cwd=worktree)

    async def restore(self, worktree: Path, rev: str, paths: list[str]) -> None:
        present = split_z(
            await git("ls-tree", "-z", "--name-only", rev, "--", *paths, cwd=worktree)
        )
        if present:
            await git("checkout", rev, "--", *present, cwd=worktree)
        for gone in set(paths) - set(present):
            await asyncio.to_thread((worktree / gone).unlink, missing_ok=True)


@asynccontextmanager
async def _patch_file() -> AsyncGenerator[Path]:
    """A new empty ``.patch`` file in the temp folder, removed when the block ends
    (however it ends)."""

    def make() -> Path:
        fd, name = tempfile.mkstemp(suffix=".patch")
        os.close(fd)
        return Path(name)

    path = await asyncio.to_thread(make)
    try:
        yield path
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)
