"""Review decisions stopped part-way (``COCKPIT_TEST_PAUSE``), through the real CLI: a
live decision is never touched by another command, a crashed one is finished or undone
without losing an edit someone made meanwhile, a base moved under an approval refuses it
cleanly, and a reject killed after it was recorded is finished by the next command."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from clikit import (
    COCKPIT,
    alive,
    cockpit,
    engine_pid,
    kill_engine,
    start_engine,
    stop_engine,
)
from test_cli_review import finished_run

from enginekit import git

TWO_FILES = (
    '[[step]]\nwrite = { path = "hello.txt", content = "hi\\n" }\n'
    '[[step]]\nwrite = { path = "src/app.py", content = "x = 2\\n" }\n'
)


def paused(root: Path, phase: str, *args: str) -> tuple[subprocess.Popen, Path]:
    """``cockpit ARGS`` stopped at ``phase``: the command, and the marker file to delete
    to let it go on. The decision is made by the workspace's engine: one is started for
    it with ``COCKPIT_TEST_PAUSE`` in its environment (an engine already running, which
    would not pause, is stopped first); the marker holds the engine's pid."""
    stop_engine(root)
    marker = root / f"paused-{phase}"
    engine = start_engine(root, env={"COCKPIT_TEST_PAUSE": f"{phase}@{marker}"})
    proc = subprocess.Popen(
        [*COCKPIT, *args],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert alive(engine), "the engine died"
        assert time.monotonic() < deadline, f"never reached {phase}"
        time.sleep(0.02)
    deadline = time.monotonic() + 5
    while not marker.read_text():  # written, then filled with the pausing pid
        assert time.monotonic() < deadline, "the marker stays empty"
        time.sleep(0.01)
    assert int(marker.read_text()) == engine  # the engine decides, not the command
    return proc, marker


def kill(root: Path, proc: subprocess.Popen) -> None:
    """kill -9 the engine making the decision; the command waiting on it ends by itself
    (failing, in one line), and nothing starts another engine."""
    kill_engine(root)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert engine_pid(root) is None


def journals(root: Path) -> list[Path]:
    return list((root / ".cockpit" / "journal").glob("*.json"))


def decision(root: Path, run_id: str) -> str | None:
    events = json.loads(cockpit("show", run_id, "--events", "--json", cwd=root).stdout)["events"]
    decided = [e["decision"] for e in events if e["type"] == "review_decided"]
    return decided[0] if decided else None


def test_a_live_approval_is_left_alone_and_a_second_one_refused(
    workspace_root: Path, write_scenario
) -> None:
    repo = workspace_root.parent / "repos" / "app"
    run_id = finished_run(workspace_root, write_scenario)
    old = git(repo, "rev-parse", "main").strip()
    proc, marker = paused(workspace_root, "checkout-updated", "approve", run_id)
    second = cockpit("approve", run_id, cwd=workspace_root)
    assert second.returncode == 2, second.stderr
    assert "being decided by another Cockpit" in second.stderr
    # Another command recovers only dead decisions: this one's half-updated checkout stays.
    assert cockpit("runs", cwd=workspace_root).returncode == 0
    assert journals(workspace_root)
    assert (repo / "hello.txt").exists()
    assert git(repo, "rev-parse", "main").strip() == old
    marker.unlink()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert git(repo, "rev-parse", "main").strip() != old
    assert git(repo, "status", "--porcelain") == ""
    assert not journals(workspace_root)


def test_undoing_a_killed_approval_keeps_an_edit_made_meanwhile(
    workspace_root: Path, write_scenario
) -> None:
    repo = workspace_root.parent / "repos" / "app"
    run_id = finished_run(workspace_root, write_scenario, TWO_FILES)
    old = git(repo, "rev-parse", "main").strip()
    proc, _ = paused(workspace_root, "checkout-updated", "approve", run_id)
    kill(workspace_root, proc)  # the checkout holds the merge, the base has not moved
    (repo / "src" / "app.py").write_text("x = 3  # mine\n")
    done = cockpit("runs", cwd=workspace_root)
    assert done.returncode == 0, done.stderr
    assert "src/app.py" in done.stderr  # said to be left as it is
    assert git(repo, "rev-parse", "main").strip() == old
    assert not (repo / "hello.txt").exists()
    assert (repo / "src" / "app.py").read_text() == "x = 3  # mine\n"
    assert git(repo, "status", "--porcelain") == " M src/app.py\n"
    assert decision(workspace_root, run_id) is None
    assert not journals(workspace_root)


def test_a_base_moved_during_the_approval_refuses_and_puts_the_checkout_back(
    workspace_root: Path, write_scenario
) -> None:
    repo = workspace_root.parent / "repos" / "app"
    run_id = finished_run(workspace_root, write_scenario, TWO_FILES)
    old = git(repo, "rev-parse", "main").strip()
    proc, marker = paused(workspace_root, "checkout-updated", "approve", run_id)
    # Someone moves main meanwhile (a commit of the same tree, made without the checkout).
    elsewhere = git(repo, "commit-tree", f"{old}^{{tree}}", "-p", old, "-m", "elsewhere").strip()
    git(repo, "update-ref", "refs/heads/main", elsewhere, old)
    marker.unlink()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, (out, err)
    assert "main moved while the merge was made; nothing was merged" in err
    assert git(repo, "rev-parse", "main").strip() == elsewhere
    assert not (repo / "hello.txt").exists()
    assert (repo / "src" / "app.py").read_text() == "x = 1\n"
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert decision(workspace_root, run_id) is None
    assert not journals(workspace_root)
    stop_engine(workspace_root)  # the next approval, in an engine that does not pause
    again = cockpit("approve", run_id, cwd=workspace_root)
    assert again.returncode == 0, again.stderr
    assert git(repo, "rev-parse", "main^1").strip() == elsewhere


def test_a_reject_killed_after_it_was_recorded_is_finished_by_the_next_command(
    workspace_root: Path, write_scenario
) -> None:
    repo = workspace_root.parent / "repos" / "app"
    run_id = finished_run(workspace_root, write_scenario)
    worktree = workspace_root / ".cockpit" / "worktrees" / "app" / run_id
    proc, _ = paused(workspace_root, "recorded", "reject", run_id)
    kill(workspace_root, proc)
    assert worktree.exists() and git(repo, "branch", "--list", f"cockpit/{run_id}").strip()
    assert cockpit("runs", cwd=workspace_root).returncode == 0
    assert decision(workspace_root, run_id) == "rejected"
    assert not worktree.exists()
    assert git(repo, "branch", "--list", f"cockpit/{run_id}").strip() == ""
    assert list((workspace_root / ".cockpit" / "salvage").glob(f"{run_id}-rejected-*"))
    assert not journals(workspace_root)
