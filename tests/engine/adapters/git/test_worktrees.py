"""GitWorktrees against real git repositories in temporary folders."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from engine.adapters.git.worktrees import GitWorktrees
from engine.domain.errors import GitError

ENV_ID = {
    "GIT_AUTHOR_NAME": "T",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "T",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def sh(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` synchronously (test setup only) and return stdout."""
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **ENV_ID},
    )
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repo on ``main`` with one commit: README.md, src/app.py and an ignored pattern."""
    path = tmp_path / "repo"
    path.mkdir()
    sh(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("hello\n")
    (path / "src").mkdir()
    (path / "src" / "app.py").write_text("print('v1')\n")
    (path / ".gitignore").write_text("*.log\n")
    sh(path, "add", "-A")
    sh(path, "commit", "-q", "-m", "initial")
    return path


@pytest.fixture
def gw() -> GitWorktrees:
    return GitWorktrees()


@pytest.fixture
async def wt(repo: Path, gw: GitWorktrees, tmp_path: Path) -> tuple[Path, str]:
    """A worktree on branch ``cockpit/r1`` from main; returns (path, base sha)."""
    path = tmp_path / "wts" / "nested" / "r1"
    base = await gw.create(repo, path, "cockpit/r1", "main")
    return path, base


def dirty(worktree: Path) -> None:
    """Modify, delete, add untracked and ignored files in ``worktree``."""
    (worktree / "src" / "app.py").write_text("print('v2')\n")
    (worktree / "README.md").unlink()
    (worktree / "new.txt").write_text("brand new\n")
    (worktree / "deep" / "er").mkdir(parents=True)
    (worktree / "deep" / "er" / "bin.dat").write_bytes(bytes(range(256)))
    (worktree / "debug.log").write_text("ignored\n")


def tree_files(cwd: Path, rev: str) -> set[str]:
    return set(sh(cwd, "ls-tree", "-r", "--name-only", rev).split())


async def test_is_repo(repo: Path, gw: GitWorktrees, tmp_path: Path) -> None:
    assert await gw.is_repo(repo)
    assert await gw.is_repo(repo / "src")
    assert not await gw.is_repo(tmp_path / "missing")
    plain = tmp_path / "plain"
    plain.mkdir()
    assert not await gw.is_repo(plain)


async def test_resolve(repo: Path, gw: GitWorktrees) -> None:
    head = sh(repo, "rev-parse", "HEAD").strip()
    assert await gw.resolve(repo, "main") == head
    with pytest.raises(GitError, match="nope"):
        await gw.resolve(repo, "nope")


async def test_create(repo: Path, wt: tuple[Path, str]) -> None:
    path, base = wt
    assert base == sh(repo, "rev-parse", "main").strip()
    assert (path / "src" / "app.py").read_text() == "print('v1')\n"
    assert sh(path, "symbolic-ref", "HEAD").strip() == "refs/heads/cockpit/r1"
    assert sh(repo, "rev-parse", "cockpit/r1").strip() == base
    # The repo's own checkout is untouched.
    assert sh(repo, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert sh(repo, "status", "--porcelain") == ""


async def test_create_bad_base(repo: Path, gw: GitWorktrees, tmp_path: Path) -> None:
    with pytest.raises(GitError, match="base branch 'nope' not found"):
        await gw.create(repo, tmp_path / "wt", "b", "nope")
    assert not (tmp_path / "wt").exists()


async def test_create_twice_resumes(repo: Path, gw: GitWorktrees, wt: tuple[Path, str]) -> None:
    path, base = wt
    (path / "work.txt").write_text("in progress\n")
    # main moves on meanwhile: resume still reports the commit the branch started from.
    (repo / "other.txt").write_text("x\n")
    sh(repo, "add", "other.txt")
    sh(repo, "commit", "-q", "-m", "more")
    assert await gw.create(repo, path, "cockpit/r1", "main") == base
    assert (path / "work.txt").read_text() == "in progress\n"


async def test_create_reattaches_surviving_branch(
    repo: Path, gw: GitWorktrees, wt: tuple[Path, str]
) -> None:
    path, base = wt
    (path / "a.txt").write_text("a\n")
    sha = await gw.commit_work(path, "work")
    await gw.remove(repo, path, path.parent / "salvage", base)
    assert await gw.create(repo, path, "cockpit/r1", "main") == base
    assert sh(path, "rev-parse", "HEAD").strip() == sha
    assert (path / "a.txt").read_text() == "a\n"


async def test_snapshot_captures_everything_and_touches_nothing(
    gw: GitWorktrees, wt: tuple[Path, str]
) -> None:
    path, base = wt
    dirty(path)
    sh(path, "add", "src/app.py")  # something staged, to check the real index survives
    status = sh(path, "status", "--porcelain")
    index_before = sh(path, "ls-files", "-s")

    sha = await gw.snapshot(path, "refs/cockpit/runs/r1/turn-1", "turn 1")

    assert sh(path, "rev-parse", "refs/cockpit/runs/r1/turn-1").strip() == sha
    assert sh(path, "rev-parse", f"{sha}^").strip() == base
    files = tree_files(path, sha)
    assert files == {".gitignore", "src/app.py", "new.txt", "deep/er/bin.dat"}
    assert sh(path, "show", f"{sha}:src/app.py") == "print('v2')\n"
    assert sh(path, "rev-parse", "HEAD").strip() == base
    assert sh(path, "status", "--porcelain") == status
    assert sh(path, "ls-files", "-s") == index_before
    # No temporary index left behind.
    git_dir = Path(sh(path, "rev-parse", "--absolute-git-dir").strip())
    assert not list(git_dir.glob("cockpit-snapshot*"))


async def test_two_snapshots(gw: GitWorktrees, wt: tuple[Path, str]) -> None:
    path, _ = wt
    (path / "a.txt").write_text("1\n")
    first = await gw.snapshot(path, "refs/cockpit/runs/r1/turn-1", "turn 1")
    (path / "a.txt").write_text("2\n")
    second = await gw.snapshot(path, "refs/cockpit/runs/r1/turn-2", "turn 2")
    assert first != second
    assert sh(path, "show", "refs/cockpit/runs/r1/turn-1:a.txt") == "1\n"
    assert sh(path, "show", "refs/cockpit/runs/r1/turn-2:a.txt") == "2\n"


async def test_commit_work(gw: GitWorktrees, wt: tuple[Path, str]) -> None:
    path, base = wt
    assert await gw.commit_work(path, "nothing") is None
    dirty(path)
    sha = await gw.commit_work(path, "agent work")
    assert sha is not None
    assert sh(path, "rev-parse", "cockpit/r1").strip() == sha
    assert sh(path, "rev-parse", "HEAD^").strip() == base
    assert sh(path, "log", "-1", "--format=%s").strip() == "agent work"
    assert tree_files(path, sha) == {".gitignore", "src/app.py", "new.txt", "deep/er/bin.dat"}
    assert sh(path, "show", f"{sha}:src/app.py") == "print('v2')\n"
    assert sh(path, "status", "--porcelain") == ""
    assert (path / "debug.log").exists()  # files untouched, ignored ones included
    assert await gw.commit_work(path, "again") is None


async def test_a_same_size_edit_in_the_second_of_checkout_is_snapshotted(
    gw: GitWorktrees, repo: Path, tmp_path: Path
) -> None:
    """Racy git: an edit that keeps size and timestamps (to the second) of the checkout
    must still reach the snapshot, however late the snapshot is taken."""
    for attempt in range(5):
        path = tmp_path / f"racy{attempt}"
        await gw.create(repo, path, f"cockpit/racy{attempt}", "main")
        app = path / "src" / "app.py"
        before = app.stat()
        app.write_text("print('v2')\n")  # same size as v1
        after = app.stat()
        if (int(before.st_mtime), int(before.st_ctime)) == (
            int(after.st_mtime),
            int(after.st_ctime),
        ):
            break
    else:
        raise pytest.skip.Exception(
            "the machine never wrote the edit in the second of the checkout"
        )
    time.sleep(1.05 - time.time() % 1)  # the snapshot's index copy is made a second later
    sha = await gw.commit_work(path, "racy")
    assert sha is not None
    assert sh(path, "show", f"{sha}:src/app.py") == "print('v2')\n"


async def test_changed_files(gw: GitWorktrees, wt: tuple[Path, str]) -> None:
    path, base = wt
    assert await gw.changed_files(path, base) == []
    dirty(path)
    assert set(await gw.changed_files(path, base)) == {
        "src/app.py",
        "README.md",
        "new.txt",
        "deep/er/bin.dat",
    }


async def test_has_unmerged_work(gw: GitWorktrees, wt: tuple[Path, str], tmp_path: Path) -> None:
    path, base = wt
    assert not await gw.has_unmerged_work(path, base)
    (path / "debug.log").write_text("ignored\n")
    assert not await gw.has_unmerged_work(path, base)
    (path / "new.txt").write_text("x\n")
    assert await gw.has_unmerged_work(path, base)
    assert await gw.commit_work(path, "c")
    assert await gw.has_unmerged_work(path, base)
    # A commit that is later undone in the files still counts: the branch has history.
    (path / "new.txt").unlink()
    assert await gw.has_unmerged_work(path, base)
    assert not await gw.has_unmerged_work(tmp_path / "gone", base)


async def test_salvage_patch_restores_work(
    repo: Path, gw: GitWorktrees, wt: tuple[Path, str], tmp_path: Path
) -> None:
    path, base = wt
    (path / "committed.txt").write_text("committed\n")
    await gw.commit_work(path, "c")
    dirty(path)
    dest = tmp_path / "salvage" / "r1-20250101T000000Z"

    saved = await gw.salvage(path, base, dest)

    assert saved.path == dest
    assert saved.patch == dest / "changes.patch"
    assert sorted(saved.untracked) == ["deep/er/bin.dat", "new.txt"]
    assert (dest / "untracked" / "new.txt").read_text() == "brand new\n"
    assert (dest / "untracked" / "deep" / "er" / "bin.dat").read_bytes() == bytes(range(256))
    assert not (dest / "untracked" / "debug.log").exists()
    assert (dest / "branch.bundle").is_file()
    assert "git apply" in (dest / "README.txt").read_text()
    sh(repo, "bundle", "verify", str(dest / "branch.bundle"))

    fresh = tmp_path / "fresh"
    sh(repo, "worktree", "add", "-q", "--detach", str(fresh), base)
    sh(fresh, "apply", "--binary", str(saved.patch))
    assert (fresh / "src" / "app.py").read_text() == "print('v2')\n"
    assert not (fresh / "README.md").exists()
    assert (fresh / "new.txt").read_text() == "brand new\n"
    assert (fresh / "committed.txt").read_text() == "committed\n"
    assert (fresh / "deep" / "er" / "bin.dat").read_bytes() == bytes(range(256))


async def test_salvage_without_commits_has_no_bundle(
    gw: GitWorktrees, wt: tuple[Path, str], tmp_path: Path
) -> None:
    path, base = wt
    (path / "new.txt").write_text("x\n")
    saved = await gw.salvage(path, base, tmp_path / "s")
    assert not (saved.path / "branch.bundle").exists()
    assert saved.untracked == ["new.txt"]


async def test_remove_salvages_unmerged_work(
    repo: Path, gw: GitWorktrees, wt: tuple[Path, str], tmp_path: Path
) -> None:
    path, base = wt
    (path / "new.txt").write_text("precious\n")
    dest = tmp_path / "salvage" / "r1"
    saved = await gw.remove(repo, path, dest, base)
    assert saved is not None
    assert saved.path == dest
    assert "precious" in saved.patch.read_text()
    assert not path.exists()
    assert str(path) not in sh(repo, "worktree", "list")
    assert sh(repo, "rev-parse", "--verify", "cockpit/r1").strip() == base  # branch kept


async def test_remove_clean_worktree(
    repo: Path, gw: GitWorktrees, wt: tuple[Path, str], tmp_path: Path
) -> None:
    path, base = wt
    dest = tmp_path / "salvage" / "r1"
    assert await gw.remove(repo, path, dest, base) is None
    assert not path.exists()
    assert not dest.exists()
    # Removing again (folder already gone) is harmless.
    assert await gw.remove(repo, path, dest, base) is None


async def test_remove_keeps_worktree_when_salvage_fails(
    repo: Path, gw: GitWorktrees, wt: tuple[Path, str], tmp_path: Path
) -> None:
    path, base = wt
    (path / "new.txt").write_text("precious\n")
    dest = tmp_path / "salvage" / "taken"
    dest.mkdir(parents=True)
    (dest / "other").write_text("x")  # a non-empty folder is never overwritten
    with pytest.raises(GitError, match="kept"):
        await gw.remove(repo, path, dest, base)
    assert (path / "new.txt").read_text() == "precious\n"


async def test_identity_fallback_when_none_configured(
    gw: GitWorktrees, wt: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = wt
    # Hide every identity: no global config, no env vars.
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ENV_ID:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("EMAIL", raising=False)
    (path / "x.txt").write_text("x\n")
    sha = await gw.commit_work(path, "c")
    assert sha is not None
    assert sh(path, "log", "-1", "--format=%ae", sha).strip() == "cockpit@localhost"
