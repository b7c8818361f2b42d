"""GitWorktrees.diff and .status against real git repositories in temporary folders."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from engine.adapters.git import worktrees as worktrees_module
from engine.adapters.git.worktrees import GitWorktrees
from engine.domain import codec
from engine.domain.diffs import MAX_LINE_CHARS, FileDiff, WorktreeDiff

ENV_ID = {
    "GIT_AUTHOR_NAME": "T",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "T",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


@pytest.fixture(autouse=True)
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commits made by the tests and by git itself get a fixed identity."""
    for key, value in ENV_ID.items():
        monkeypatch.setenv(key, value)


def sh(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` synchronously (test setup only) and return stdout."""
    done = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=os.environ
    )
    return done.stdout


def commit_all(cwd: Path, message: str) -> str:
    sh(cwd, "add", "-A")
    sh(cwd, "commit", "-q", "-m", message)
    return sh(cwd, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repo on ``main`` with one commit: a few text files and an ignored pattern."""
    path = tmp_path / "repo"
    path.mkdir()
    sh(path, "init", "-q", "-b", "main")
    (path / "keep.txt").write_text("one\ntwo\nthree\n")
    (path / "gone.txt").write_text("bye\nbye\n")
    (path / "moved.txt").write_text("".join(f"line {n}\n" for n in range(20)))
    (path / ".gitignore").write_text("*.log\nbuild/\n")
    commit_all(path, "initial")
    return path


@pytest.fixture
def gw() -> GitWorktrees:
    return GitWorktrees()


def head(repo: Path) -> str:
    return sh(repo, "rev-parse", "HEAD").strip()


def by_path(diff: WorktreeDiff) -> dict[str, FileDiff]:
    return {f.path: f for f in diff.files}


# -- diff ------------------------------------------------------------------------------------


async def test_diff_clean_is_empty(repo: Path, gw: GitWorktrees) -> None:
    diff = await gw.diff(repo, head(repo))
    assert diff.files == []
    assert (diff.added, diff.removed, diff.file_count) == (0, 0, 0)


async def test_diff_modified_added_deleted(repo: Path, gw: GitWorktrees) -> None:
    base = head(repo)
    (repo / "keep.txt").write_text("one\nTWO\nthree\nfour\n")  # 1 line changed, 1 added
    (repo / "new.txt").write_text("fresh\nlines\n")  # untracked
    (repo / "gone.txt").unlink()
    staged_before = sh(repo, "diff", "--cached", "--name-only")

    diff = await gw.diff(repo, base)

    files = by_path(diff)
    assert set(files) == {"keep.txt", "new.txt", "gone.txt"}
    keep, new, gone = files["keep.txt"], files["new.txt"], files["gone.txt"]
    assert (keep.status, keep.added, keep.removed) == ("M", 2, 1)
    assert "+TWO\n" in keep.patch and "-two\n" in keep.patch and "+four\n" in keep.patch
    assert keep.patch.startswith("diff --git a/keep.txt b/keep.txt\n")
    assert (new.status, new.added, new.removed) == ("A", 2, 0)
    assert "+fresh\n" in new.patch
    assert (gone.status, gone.added, gone.removed) == ("D", 0, 2)
    assert "-bye\n" in gone.patch
    assert all(not f.binary and not f.truncated and f.old_path is None for f in diff.files)
    assert (diff.added, diff.removed) == (4, 3)
    # The user's index is left alone: nothing got staged.
    assert sh(repo, "diff", "--cached", "--name-only") == staged_before == ""


async def test_diff_in_a_worktree_against_its_base(
    repo: Path, gw: GitWorktrees, tmp_path: Path
) -> None:
    wt = tmp_path / "wts" / "r1"
    base = await gw.create(repo, wt, "cockpit/r1", "main")
    (wt / "keep.txt").write_text("one\n")
    commit_all(wt, "agent commit")  # committed work counts too: the diff is against base
    (wt / "extra.txt").write_text("x\n")

    files = by_path(await gw.diff(wt, base))

    assert (files["keep.txt"].added, files["keep.txt"].removed) == (0, 2)
    assert files["extra.txt"].status == "A"


async def test_diff_binary(repo: Path, gw: GitWorktrees) -> None:
    base = head(repo)
    (repo / "blob.bin").write_bytes(b"\x00\x01\x02binary\x00" * 100)

    [blob] = (await gw.diff(repo, base)).files

    assert blob.path == "blob.bin"
    assert blob.binary
    assert (blob.status, blob.added, blob.removed, blob.patch) == ("A", 0, 0, "")


async def test_diff_rename(repo: Path, gw: GitWorktrees) -> None:
    base = head(repo)
    sh(repo, "mv", "moved.txt", "renamed.txt")
    (repo / "renamed.txt").write_text(
        (repo / "renamed.txt").read_text().replace("line 3\n", "line three\n")
    )

    [renamed] = (await gw.diff(repo, base)).files

    assert (renamed.status, renamed.path, renamed.old_path) == ("R", "renamed.txt", "moved.txt")
    assert (renamed.added, renamed.removed) == (1, 1)
    assert "rename from moved.txt\n" in renamed.patch
    assert "+line three\n" in renamed.patch


async def test_diff_untracked_move_of_identical_file(repo: Path, gw: GitWorktrees) -> None:
    base = head(repo)
    (repo / "moved.txt").rename(repo / "elsewhere.txt")  # plain mv: the new one is untracked

    [renamed] = (await gw.diff(repo, base)).files

    assert (renamed.status, renamed.path, renamed.old_path) == ("R", "elsewhere.txt", "moved.txt")
    assert (renamed.added, renamed.removed) == (0, 0)


async def test_diff_mode_and_type_change(repo: Path, gw: GitWorktrees) -> None:
    base = head(repo)
    (repo / "keep.txt").chmod(0o755)
    (repo / "gone.txt").unlink()
    (repo / "gone.txt").symlink_to("keep.txt")

    files = by_path(await gw.diff(repo, base))

    assert files["keep.txt"].status == "T"
    assert "new mode 100755" in files["keep.txt"].patch
    link = files["gone.txt"]
    assert link.status == "T"
    # git shows a type change as a deletion plus a creation; both belong to the one file.
    assert "-bye\n" in link.patch and "+keep.txt\n" in link.patch
    assert link.patch.count("diff --git ") == 2


async def test_diff_non_utf8(repo: Path, gw: GitWorktrees) -> None:
    base = head(repo)
    (repo / "latin1.txt").write_bytes("caf\xe9 cr\xe8me\n".encode("latin-1"))
    (repo / "keep.txt").write_bytes(b"one\n\xff\xfe broken \xc3\n")

    diff = await gw.diff(repo, base)

    files = by_path(diff)
    assert "+caf\ufffd cr\ufffdme" in files["latin1.txt"].patch
    assert "\ufffd broken" in files["keep.txt"].patch
    json.dumps(codec.encode(diff)).encode()  # no lone surrogates left: it serialises


async def test_diff_long_line_is_capped(repo: Path, gw: GitWorktrees) -> None:
    base = head(repo)
    (repo / "min.js").write_text("x" * 5_000 + "\nshort\n")

    [mini] = (await gw.diff(repo, base)).files

    assert mini.truncated
    assert (mini.added, mini.removed) == (2, 0)
    lines = mini.patch.splitlines()
    assert max(len(line) for line in lines) == MAX_LINE_CHARS
    assert lines[-2].endswith("…")
    assert lines[-1] == "+short"


async def test_diff_long_patch_is_capped(repo: Path, gw: GitWorktrees) -> None:
    base = head(repo)
    (repo / "big.txt").write_text("".join(f"{n}\n" for n in range(5_000)))

    [big] = (await gw.diff(repo, base)).files

    assert big.truncated
    assert big.added == 5_000  # counts stay exact
    lines = big.patch.splitlines()
    assert len(lines) == 2_000
    assert lines[-1].startswith("\\ ") and "more lines not shown" in lines[-1]


async def test_diff_too_many_files(
    repo: Path, gw: GitWorktrees, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = head(repo)
    monkeypatch.setattr(worktrees_module, "MAX_FILES", 3)
    for n in range(6):
        (repo / f"f{n}*.txt").write_text(f"{n}\n" * (n + 1))  # `*`: pathspecs must be literal

    diff = await gw.diff(repo, base)

    assert [f.path for f in diff.files] == ["f0*.txt", "f1*.txt", "f2*.txt"]
    assert all(f.patch and not f.truncated for f in diff.files)
    assert "+2\n" in diff.files[2].patch
    assert (diff.omitted_files, diff.omitted_added, diff.omitted_removed) == (3, 4 + 5 + 6, 0)
    assert diff.added == 21 and diff.file_count == 6


async def test_diff_ignores_ignored_files(repo: Path, gw: GitWorktrees) -> None:
    base = head(repo)
    (repo / "debug.log").write_text("noise\n")
    (repo / "build").mkdir()
    (repo / "build" / "out.o").write_bytes(b"\x00obj")
    (repo / "real.txt").write_text("real\n")

    diff = await gw.diff(repo, base)

    assert [f.path for f in diff.files] == ["real.txt"]


# -- status ----------------------------------------------------------------------------------


async def test_status_clean(repo: Path, gw: GitWorktrees) -> None:
    status = await gw.status(repo)

    assert status.branch == "main"
    assert status.head_sha == head(repo)
    assert status.upstream is None
    assert (status.ahead, status.behind) == (0, 0)
    assert status.dirty == []
    assert status.clean and status.untracked == 0


async def test_status_dirty(repo: Path, gw: GitWorktrees) -> None:
    (repo / "keep.txt").write_text("changed\n")
    (repo / "new file.txt").write_text("new\n")
    (repo / "debug.log").write_text("ignored\n")

    status = await gw.status(repo)

    assert sorted(status.dirty) == [(".M", "keep.txt"), ("??", "new file.txt")]
    assert status.untracked == 1 and not status.clean


async def test_status_staged_rename_and_subfolder(repo: Path, gw: GitWorktrees) -> None:
    (repo / "sub dir").mkdir()
    sh(repo, "mv", "moved.txt", "sub dir/renamed.txt")

    status = await gw.status(repo / "sub dir")  # from inside: paths stay repo-relative

    assert status.dirty == [("R.", "sub dir/renamed.txt")]


async def test_status_detached(repo: Path, gw: GitWorktrees) -> None:
    sha = head(repo)
    sh(repo, "checkout", "-q", "--detach", "HEAD")

    status = await gw.status(repo)

    assert status.branch is None
    assert status.head_sha == sha
    assert status.upstream is None


async def test_status_unborn(tmp_path: Path, gw: GitWorktrees) -> None:
    sh(tmp_path, "init", "-q", "-b", "trunk")

    status = await gw.status(tmp_path)

    assert (status.branch, status.head_sha) == ("trunk", None)


async def test_status_ahead_and_behind(repo: Path, gw: GitWorktrees, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    sh(tmp_path, "clone", "-q", str(repo), str(clone))

    status = await gw.status(clone)
    assert (status.branch, status.upstream) == ("main", "origin/main")
    assert (status.ahead, status.behind) == (0, 0)

    for n in range(2):
        (clone / f"local{n}.txt").write_text(f"{n}\n")
        commit_all(clone, f"local {n}")
    sh(clone, "fetch", "-q")
    status = await gw.status(clone)
    assert (status.ahead, status.behind) == (2, 0)

    (repo / "upstream.txt").write_text("u\n")
    commit_all(repo, "upstream")
    sh(clone, "fetch", "-q")
    status = await gw.status(clone)
    assert (status.ahead, status.behind) == (2, 1)
    assert status.clean


async def test_status_does_not_take_the_index_lock(repo: Path, gw: GitWorktrees) -> None:
    # Touch a tracked file so a plain `git status` would want to refresh the index.
    os.utime(repo / "keep.txt", (1, 1))
    index = repo / ".git" / "index"
    before = index.stat().st_mtime_ns

    await gw.status(repo)

    assert index.stat().st_mtime_ns == before


async def test_non_utf8_file_name(repo: Path, gw: GitWorktrees) -> None:
    base = head(repo)
    (repo / os.fsdecode(b"caf\xe9.txt")).write_text("x\n")

    [diff_file] = (await gw.diff(repo, base)).files
    status = await gw.status(repo)

    assert (diff_file.path, diff_file.added) == ("caf\ufffd.txt", 1)
    assert status.dirty == [("??", "caf\ufffd.txt")]
