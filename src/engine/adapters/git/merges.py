"""A review's git decisions through the git command line: a merge worked out in memory
(``git merge-tree``) so a conflict is found before any ref moves, the merge commit made
from that tree, the base branch moved with a compare-and-swap (or fast-forwarded where it
is checked out), and a rejected run's worktree and branch removed."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path

from engine.adapters.git.worktrees import _git, _split_z, commit_tree, git_exit
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
            base_tree = (await _git("rev-parse", f"{base}^{{tree}}", cwd=repo)).strip()
            return MergePreview(tree=lines[0], conflicts=[], unchanged=lines[0] == base_tree)
        if code == 1 and lines:  # the tree (with conflict markers), then the files
            return MergePreview(tree=None, conflicts=sorted(set(lines[1:])))
        reason = (err.strip().splitlines() or [f"exit code {code}"])[0]
        raise GitError(f"git merge-tree {base} {branch} (in {repo}) failed: {reason}")

    async def commit(self, repo: Path, tree: str, parents: list[str], message: str) -> str:
        return await commit_tree(repo, tree, parents, message)

    async def checkout_of(self, repo: Path, branch: str) -> Path | None:
        out = await _git("worktree", "list", "--porcelain", cwd=repo)
        path: Path | None = None
        for line in out.splitlines():
            if line.startswith("worktree "):
                path = Path(line[len("worktree ") :])
            elif line == f"branch refs/heads/{branch}":
                return path
        return None

    async def advance(
        self, repo: Path, branch: str, new: str, old: str, checkout: Path | None
    ) -> None:
        if checkout is None:
            # update-ref with the old value: refuses if someone moved the branch meanwhile.
            await _git("update-ref", f"refs/heads/{branch}", new, old, cwd=repo)
            return
        head = (await _git("rev-parse", "HEAD", cwd=checkout)).strip()
        if head != old:
            raise GitError(f"{branch} moved in {checkout} while the merge was made; approve again")
        # A fast-forward moves the branch, the index and the files together, and refuses
        # rather than overwrite anything.
        await _git("merge", "--ff-only", "--no-edit", new, cwd=checkout)

    async def discard(self, repo: Path, worktree: Path, branch: str) -> None:
        if worktree.exists():
            await _git("worktree", "remove", "--force", "--", str(worktree), cwd=repo)
        await _git("worktree", "prune", cwd=repo)
        await _git("branch", "-D", "--", branch, cwd=repo, check=False)

    async def patch_between(self, repo: Path, old: str, new: str) -> str:
        # git writes the diff to a file, not a pipe: a big diff fills the pipe's buffer
        # whenever the event loop is busy (drawing the review screen, say) and git then
        # waits for it; a file lets git finish at its own speed meanwhile (a 20,000-line
        # diff was read 150 ms sooner).
        async with _patch_file() as output:
            # Fixed prefixes: a user's diff.noprefix or diff.mnemonicPrefix must not
            # change the text the parser and `git apply` read.
            await _git(
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
            await _git("apply", "-R", "--whitespace=nowarn", str(path), cwd=worktree)

    async def restore(self, worktree: Path, rev: str, paths: list[str]) -> None:
        present = _split_z(
            await _git("ls-tree", "-z", "--name-only", rev, "--", *paths, cwd=worktree)
        )
        if present:
            await _git("checkout", rev, "--", *present, cwd=worktree)
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
