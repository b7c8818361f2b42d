"""Git worktrees through the git CLI: one worktree and branch per run, snapshots, salvage.

Every git call is an ``asyncio`` subprocess (see ``runner``) so the event loop never
blocks. Snapshots and commits build their tree in a throw-away index file, so the agent's
own index, branch and files are never disturbed while it works. Reading git's diff and
status output into domain values is ``diff_parse``'s job.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import uuid
from collections.abc import AsyncGenerator
from pathlib import Path

from engine.adapters.git.diff_parse import file_diffs, parse_raw_numstat, parse_status, split_patch
from engine.adapters.git.runner import commit_tree, git, masked, split_z
from engine.disk import NEARLY_FULL, disk_full, free_space
from engine.domain.diffs import MAX_FILES, RepoStatus, WorktreeDiff
from engine.domain.errors import GitError
from engine.ports.git import Salvage

#: A checkout is measured against the free space first only below this much free space
#: (measuring reads the size of every file of the commit).
_MEASURE_BELOW = 2 * 1024**3

_README = """\
Cockpit saved this work before removing the worktree {worktree}
(branch {branch}, based on commit {base}).

changes.patch   every change from the base commit to the worktree's files, untracked
                files included. Restore it onto a checkout of the base commit with:
                    git checkout {base}        # or a new branch: git switch -c NAME {base}
                    git apply --binary {patch}
untracked/      plain copies of the files git was not tracking (already in the patch).
{bundle_note}"""

_BUNDLE_NOTE = """\
branch.bundle   the branch's own commits beyond the base. Fetch them back with:
                    git fetch {bundle} {branch_ref}:refs/heads/NAME
"""


class GitWorktrees:
    """The ``Worktrees`` port over the git command line."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    async def is_repo(self, path: Path) -> bool:
        """Whether ``path`` is the top of (or inside) a git working tree; never raises."""
        try:
            if not path.is_dir():
                return False
            out = await git("rev-parse", "--is-inside-work-tree", cwd=path, check=False)
        except Exception:
            return False
        return out.strip() == "true"

    async def resolve(self, repo: Path, rev: str) -> str:
        """The full sha of commit ``rev`` in ``repo``; raises GitError when unknown."""
        out = await git(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}",
            cwd=repo, check=False,
        )  # fmt: skip
        sha = out.strip()
        if not sha:
            raise GitError(f"revision '{rev}' not found in {repo}")
        return sha

    async def create(self, repo: Path, worktree: Path, branch: str, base: str) -> str:
        """Add ``worktree`` on a new ``branch`` from ``base``; return the base sha.

        Resuming is idempotent: when ``worktree`` already is this repo's worktree on
        ``branch`` nothing is created. When only the branch survives (its worktree folder
        was deleted) the worktree is re-attached to it, keeping its commits.
        """
        try:
            base_sha = await self.resolve(repo, base)
        except GitError:
            raise GitError(f"base branch '{base}' not found in {repo}") from None
        if worktree.exists() and await self._is_worktree_on(repo, worktree, branch):
            return await self._fork_point(worktree, base_sha)
        await asyncio.to_thread(worktree.parent.mkdir, parents=True, exist_ok=True)
        async with self._admin_lock(repo):
            # Forget registrations whose folders were deleted, or `worktree add` refuses the path.
            await git("worktree", "prune", cwd=repo)
            exists = await git(
                "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", cwd=repo, check=False
            )
            if exists.strip():
                await self._room_for(repo, branch, worktree)
                await git("worktree", "add", "--", str(worktree), branch, cwd=repo)
                return await self._fork_point(worktree, base_sha)
            await self._room_for(repo, base_sha, worktree)
            try:
                await git("worktree", "add", "-b", branch, "--", str(worktree), base_sha, cwd=repo)
            except GitError:
                # git removes a checkout it could not finish but keeps the branch it made
                # for it: nothing of a failed add is left behind.
                await git("worktree", "prune", cwd=repo, check=False)
                await git("branch", "-D", branch, cwd=repo, check=False)
                raise
        return base_sha

    async def discard(self, repo: Path, worktree: Path, branch: str, base_sha: str) -> None:
        """Remove a worktree made for a run that never started, and its branch when the
        branch holds nothing beyond ``base_sha``: no salvage (there is no work), and no
        space needed, so it works on a full disk."""
        async with self._admin_lock(repo):
            if worktree.exists():
                await git("worktree", "remove", "--force", "--", str(worktree), cwd=repo)
            await git("worktree", "prune", cwd=repo)
            tip = await git(
                "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", cwd=repo, check=False
            )
            if tip.strip() == base_sha:
                await git("branch", "-D", branch, cwd=repo)

    async def _room_for(self, repo: Path, rev: str, worktree: Path) -> None:
        """Refuse, before anything is written, a checkout of ``rev`` that cannot fit where
        ``worktree`` goes: git's own failure would not say the disk is full, and a
        half-written checkout could take the last space the run's record needed."""
        space = await asyncio.to_thread(free_space, worktree)
        if space is None or space[0] > _MEASURE_BELOW:
            return
        free, block = space
        listing = await git("ls-tree", "-r", "-l", "-z", rev, cwd=repo)
        # Room is kept for the run's own records (the run store is often on this disk).
        needed = NEARLY_FULL
        for entry in split_z(listing):
            size = entry.split("\t", 1)[0].split()[-1]  # "-" for a submodule
            # A file takes whole blocks, and its entry in the worktree's index ~100 bytes.
            needed += -(-int(size) // block) * block + 100 if size.isdigit() else 100
        if needed > free:
            raise disk_full(
                worktree, f"the checkout of {rev[:12]} needs {needed:,} bytes, {free:,} are free"
            )

    async def snapshot(self, worktree: Path, ref: str, message: str) -> str:
        """Commit every non-ignored file (untracked included) to ``ref`` without touching
        the branch, the index or the files; return the commit sha."""
        tree = await self._work_tree(worktree)
        sha = await self._commit_tree(worktree, tree, message)
        await git("update-ref", "-m", masked(message), ref, sha, cwd=worktree)
        return sha

    async def commit_work(self, worktree: Path, message: str) -> str | None:
        """Commit every non-ignored file to the worktree's branch; None when nothing changed.

        Runs no hooks (it is built from plumbing); the real index is reset to the new
        commit afterwards, the files are left as they are.
        """
        head = (await git("rev-parse", "--verify", "HEAD", cwd=worktree)).strip()
        tree = await self._work_tree(worktree)
        head_tree = (await git("rev-parse", "--verify", "HEAD^{tree}", cwd=worktree)).strip()
        if tree == head_tree:
            return None
        sha = await self._commit_tree(worktree, tree, message)
        # HEAD is symbolic, so this moves the branch; the old value guards against a race
        # with a commit the agent made meanwhile.
        await git("update-ref", "-m", masked(message), "HEAD", sha, head, cwd=worktree)
        await git("reset", "-q", cwd=worktree)
        return sha

    async def changed_files(self, worktree: Path, base_sha: str) -> list[str]:
        """Files that differ between ``base_sha`` and the worktree (untracked included).

        A rename lists both the old and the new path.
        """
        tree = await self._work_tree(worktree)
        out = await git(
            "diff-tree", "-r", "--name-only", "-z", "--no-renames", base_sha, tree, cwd=worktree
        )
        return split_z(out)

    async def diff(self, worktree: Path, base_sha: str) -> WorktreeDiff:
        """The worktree as it is now — untracked files included, ignored ones not — against
        ``base_sha``: per-file status, line counts and patches.

        Renames are detected (``-M``). Patches are capped (``MAX_PATCH_LINES`` lines of at
        most ``MAX_LINE_CHARS`` characters) and only the first ``MAX_FILES`` files are
        listed; the rest are summed into ``omitted_*``. Binary files have counts 0 and no
        patch. Neither the agent's index nor its files are touched.
        """
        tree = await self._work_tree(worktree)
        meta = await git(
            "diff-tree", "-r", "-M", "--raw", "--numstat", "-z", base_sha, tree, cwd=worktree
        )
        entries = parse_raw_numstat(meta)
        shown, rest = entries[:MAX_FILES], entries[MAX_FILES:]
        sections: list[list[str]] = []
        if shown:
            # Plumbing with explicit flags: user config (colour, external diff tools,
            # textconv filters) cannot change the format parsed below.
            args = ["diff-tree", "-r", "-M", "-p", "--no-color", "--no-ext-diff",
                    "--no-textconv", base_sha, tree]  # fmt: skip
            env = None
            if rest:
                # Only patch the files that are listed: a huge diff (say a vendored folder
                # nobody ignored) would otherwise be read whole just to be thrown away.
                # Literal pathspecs, so names with `*` or `:` match only themselves.
                env = {"GIT_LITERAL_PATHSPECS": "1"}
                args += ["--", *(p for e in shown for p in (e.old_path, e.path) if p)]
            sections = split_patch(await git(*args, cwd=worktree, env=env))
        return WorktreeDiff(
            files=file_diffs(shown, sections),
            omitted_files=len(rest),
            omitted_added=sum(e.added for e in rest),
            omitted_removed=sum(e.removed for e in rest),
        )

    async def status(self, repo: Path) -> RepoStatus:
        """Branch, ahead/behind its upstream if any, dirty files of the user's checkout.

        Untracked files are listed as git's config shows them (by default an untracked
        folder is one entry ``dir/``); ignored files never are.
        """
        out = await git(
            "status", "--porcelain=v2", "--branch", "-z",
            # The UI polls this on the user's own checkout: never take index.lock just to
            # refresh stat data, or the user's own git commands could fail on the lock.
            cwd=repo, env={"GIT_OPTIONAL_LOCKS": "0"},
        )  # fmt: skip
        return parse_status(out)

    async def has_unmerged_work(self, worktree: Path, base_sha: str) -> bool:
        """Whether the worktree or its branch holds anything not in ``base_sha``."""
        if not worktree.is_dir():
            return False
        tree = await self._work_tree(worktree)
        base_tree = (
            await git("rev-parse", "--verify", f"{base_sha}^{{tree}}", cwd=worktree)
        ).strip()
        return tree != base_tree or await self._has_commits_beyond(worktree, base_sha)

    async def salvage(self, worktree: Path, base_sha: str, dest: Path) -> Salvage:
        """Write a salvage bundle (patch + untracked files) of the worktree into ``dest``.

        ``changes.patch`` alone restores the files (untracked included) with ``git apply``
        onto ``base_sha``; ``branch.bundle`` is added when the branch has its own commits.
        """
        if dest.exists() and any(dest.iterdir()):
            raise GitError(f"salvage folder {dest} already exists and is not empty")
        await asyncio.to_thread(dest.mkdir, parents=True, exist_ok=True)
        tree = await self._work_tree(worktree)
        patch = dest / "changes.patch"
        # diff-tree is plumbing: user config such as diff.external, color or noprefix
        # cannot change the patch format.
        await git(
            "diff-tree", "-r", "-p", "--binary", "--full-index", f"--output={patch}",
            base_sha, tree, cwd=worktree,
        )  # fmt: skip
        untracked = split_z(
            await git("ls-files", "--others", "--exclude-standard", "-z", cwd=worktree)
        )
        await asyncio.to_thread(_copy_untracked, worktree, untracked, dest / "untracked")

        branch_ref = (await git("symbolic-ref", "-q", "HEAD", cwd=worktree, check=False)).strip()
        branch_ref = branch_ref or "HEAD"
        bundle_note = ""
        if await self._has_commits_beyond(worktree, base_sha):
            bundle = dest / "branch.bundle"
            await git(
                "bundle", "create", "-q", str(bundle), f"{base_sha}..{branch_ref}", cwd=worktree
            )
            bundle_note = _BUNDLE_NOTE.format(bundle=bundle, branch_ref=branch_ref)
        readme = _README.format(
            worktree=worktree,
            branch=branch_ref.removeprefix("refs/heads/"),
            base=base_sha,
            patch=patch,
            bundle_note=bundle_note,
        )
        await asyncio.to_thread((dest / "README.txt").write_text, readme)
        return Salvage(path=dest, patch=patch, untracked=untracked)

    async def remove(
        self, repo: Path, worktree: Path, salvage_dir: Path, base_sha: str
    ) -> Salvage | None:
        """Remove the worktree; when it holds unmerged work, salvage it first and return where.

        The branch is kept. If salvaging fails nothing is removed (GitError is raised), so
        work is never lost.
        """
        saved: Salvage | None = None
        if worktree.exists():
            try:
                if await self.has_unmerged_work(worktree, base_sha):
                    saved = await self.salvage(worktree, base_sha, salvage_dir)
            except (GitError, OSError) as exc:
                raise GitError(f"worktree {worktree} kept: salvage failed: {exc}") from exc
        async with self._admin_lock(repo):
            if worktree.exists():
                await git("worktree", "remove", "--force", "--", str(worktree), cwd=repo)
            await git("worktree", "prune", cwd=repo)
        return saved

    @contextlib.asynccontextmanager
    async def _admin_lock(self, repo: Path) -> AsyncGenerator[None]:
        """Serialise `git worktree add/remove/prune` on one repo, across engines too.

        Concurrent adds in one repo fail now and then in git 2.39 ("failed to read
        .git/worktrees/X/commondir"), and a prune can delete the admin folder of an add
        still in progress. An asyncio lock orders this engine's calls; an flock on a file in
        the common git dir orders other processes'.
        """
        common = Path((await git("rev-parse", "--git-common-dir", cwd=repo)).strip())
        common = common if common.is_absolute() else (repo / common).resolve()
        lock = self._locks.setdefault(str(common), asyncio.Lock())
        async with lock:
            fd = await asyncio.to_thread(
                os.open, common / "cockpit-worktrees.lock", os.O_CREAT | os.O_RDWR, 0o644
            )
            try:
                while True:  # non-blocking tries keep the wait cancellable
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        await asyncio.sleep(0.01)
                yield
            finally:
                os.close(fd)  # closing releases the flock

    # -- helpers ---------------------------------------------------------------------------

    async def _work_tree(self, worktree: Path) -> str:
        """Write a tree of every non-ignored file in ``worktree`` and return its sha.

        Uses a private index file in the worktree's git dir so the agent's index is never
        touched.
        """
        git_dir = Path((await git("rev-parse", "--absolute-git-dir", cwd=worktree)).strip())
        # Unique per call: two snapshots of one worktree may overlap.
        index = git_dir / f"cockpit-snapshot-{uuid.uuid4().hex}.index"
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            seeded = False
            real_index = git_dir / "index"
            if real_index.is_file():
                # Seeding from the real index keeps its stat cache, so `add -A` only rehashes
                # files that changed instead of the whole tree; `read-tree -m HEAD` then
                # drops anything merely staged. Fall back to a plain read when it refuses
                # (e.g. unresolved conflicts). The copy keeps the index's mtime: git trusts
                # an entry's stat data only when the file is older than the index, and a copy
                # stamped "now" would pass off a same-size edit made in the second the index
                # was written as unchanged (racy git) and leave it out of the snapshot.
                with contextlib.suppress(OSError, GitError):
                    await asyncio.to_thread(shutil.copy2, real_index, index)
                    await git("read-tree", "-m", "HEAD", cwd=worktree, env=env)
                    seeded = True
            if not seeded:
                index.unlink(missing_ok=True)
                await git("read-tree", "HEAD", cwd=worktree, env=env)
            await git("add", "-A", cwd=worktree, env=env)
            return (await git("write-tree", cwd=worktree, env=env)).strip()
        finally:
            index.unlink(missing_ok=True)
            Path(f"{index}.lock").unlink(missing_ok=True)

    async def _commit_tree(self, worktree: Path, tree: str, message: str) -> str:
        """Commit ``tree`` with parent HEAD (see :func:`commit_tree`)."""
        return await commit_tree(worktree, tree, ["HEAD"], message)

    async def _has_commits_beyond(self, worktree: Path, base_sha: str) -> bool:
        """Whether the worktree's HEAD has commits not reachable from ``base_sha``."""
        out = await git("rev-list", "--count", f"{base_sha}..HEAD", cwd=worktree)
        return int(out.strip() or "0") > 0

    async def _is_worktree_on(self, repo: Path, worktree: Path, branch: str) -> bool:
        """Whether ``worktree`` is the top of a worktree of ``repo`` with ``branch`` out."""
        try:
            top = await git("rev-parse", "--show-toplevel", cwd=worktree)
            common = await git("rev-parse", "--path-format=absolute", "--git-common-dir",
                                cwd=worktree)  # fmt: skip
            repo_common = await git(
                "rev-parse", "--path-format=absolute", "--git-common-dir", cwd=repo
            )
            head = await git("symbolic-ref", "-q", "HEAD", cwd=worktree, check=False)
        except GitError:
            return False
        return (
            Path(top.strip()).resolve() == worktree.resolve()
            and Path(common.strip()).resolve() == Path(repo_common.strip()).resolve()
            and head.strip() == f"refs/heads/{branch}"
        )

    async def _fork_point(self, worktree: Path, base_sha: str) -> str:
        """Where the worktree's branch left ``base_sha``'s history.

        On resume the base branch may have moved on since the worktree was made; the merge
        base is the commit the branch actually started from.
        """
        out = await git("merge-base", base_sha, "HEAD", cwd=worktree, check=False)
        return out.strip() or base_sha


def _copy_untracked(worktree: Path, paths: list[str], dest: Path) -> None:
    """Copy untracked ``paths`` (relative to ``worktree``) into ``dest``, keeping links."""
    for rel in paths:
        src = worktree / rel
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir() and not src.is_symlink():
            # A nested repository is listed as one folder ("sub/").
            shutil.copytree(src, target, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(src, target, follow_symlinks=False)
