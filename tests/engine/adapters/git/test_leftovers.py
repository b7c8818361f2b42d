"""What a killed git leaves, in real repos with real processes: a decision's git dies
with the process that started it; a lock file is removed only once no git works in the
repo; a checkout update cut short is finished or undone path by path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.adapters.git.leftovers import git_at_work, marked, remove_stale_locks
from engine.adapters.git.merges import GitMerges
from enginekit import git

#: Runs git on a fifo (it waits on it for good) with its processes tied to this one.
TIED_GIT = """
import asyncio, os, sys
from pathlib import Path
from engine.adapters.git.lifeline import tied
from engine.adapters.git.runner import git_exit

async def main():
    with tied("decision-test:" + str(os.getpid())):
        await git_exit("hash-object", sys.argv[1], cwd=Path(sys.argv[2]))

asyncio.run(main())
"""


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


def test_a_decisions_git_dies_with_it_and_carries_its_mark(make_repo, fifo: Path) -> None:
    repo = make_repo()
    parent = subprocess.Popen([sys.executable, "-c", TIED_GIT, str(fifo), str(repo)])
    _wait(lambda: bool(marked("decision-test:", "")), "the tied git")
    (child,) = marked("decision-test:", "")
    assert marked("decision-test:", f"decision-test:{parent.pid}") == []  # its own: spared
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    _wait(lambda: not marked("decision-test:", ""), "the git to die with its parent")
    assert not Path(f"/proc/{child}").exists() or child not in git_at_work([repo])


def test_a_lock_is_removed_only_once_no_git_works_in_the_repo(make_repo, fifo: Path) -> None:
    repo = make_repo()
    lock = repo / ".git" / "index.lock"
    lock.write_text("")
    busy = subprocess.Popen(["git", "hash-object", str(fifo)], cwd=repo)
    try:
        _wait(lambda: bool(git_at_work([repo])), "the live git")
        assert remove_stale_locks([repo], [lock]) is False
        assert lock.exists()
    finally:
        busy.kill()
        busy.wait()
    assert remove_stale_locks([repo], [lock]) is True
    assert not lock.exists()


@pytest.fixture
def two_commits(make_repo) -> tuple[Path, str, str]:
    """A repo checked out at ``old``; ``new`` adds, changes and deletes files."""
    repo = make_repo(files={"a.txt": "a\n", "gone.txt": "bye\n", "big.txt": "x" * 10_000})
    old = git(repo, "rev-parse", "HEAD").strip()
    (repo / "a.txt").write_text("a2\n")
    (repo / "gone.txt").unlink()
    (repo / "deep" / "er").mkdir(parents=True)
    (repo / "deep" / "er" / "new.txt").write_text("new\n")
    (repo / "big.txt").write_text("y" * 10_000)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "new")
    new = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "reset", "-q", "--hard", old)
    return repo, old, new


def cut_short(repo: Path) -> None:
    """What a read-tree killed half-way from old to new leaves: some files new, one
    half-written, the index still old."""
    (repo / "a.txt").write_text("a2\n")
    (repo / "deep" / "er").mkdir(parents=True)
    (repo / "deep" / "er" / "new.txt").write_text("new\n")
    (repo / "big.txt").write_text("y" * 4_000)  # the file git was writing


@pytest.mark.parametrize("head", ["old", "new"])
async def test_settle_brings_a_checkout_cut_short_to_its_head(
    two_commits: tuple[Path, str, str], head: str
) -> None:
    repo, old, new = two_commits
    cut_short(repo)
    if head == "new":  # the base moved before the kill
        git(repo, "update-ref", "refs/heads/main", new, old)
    kept = await GitMerges().settle(repo, old, new)
    assert kept == []
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert (repo / "deep").exists() is (head == "new")
    assert (repo / "gone.txt").exists() is (head == "old")


async def test_settle_leaves_someones_edit_alone(two_commits: tuple[Path, str, str]) -> None:
    repo, old, new = two_commits
    cut_short(repo)
    (repo / "a.txt").write_text("my own edit\n")
    kept = await GitMerges().settle(repo, old, new)
    assert kept == ["a.txt"]
    assert (repo / "a.txt").read_text() == "my own edit\n"
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == " M a.txt\n"
