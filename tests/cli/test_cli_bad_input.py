"""Bad input and a hostile machine, through the real CLI: one line on stderr, the right
exit code, no traceback, and nothing half-written (no run, no worktree, no branch)."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Generator
from pathlib import Path

import pytest
from clikit import COCKPIT, assert_one_line_error, cockpit

from enginekit import git

WRITE = '[[step]]\nwrite = { path = "hello.txt", content = "hi\\n" }\n'


def runs(workspace_root: Path) -> list[dict]:
    done = cockpit("runs", "--json", cwd=workspace_root)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_task_that_is_not_utf8_is_refused(workspace_root: Path, write_scenario) -> None:
    scenario = write_scenario(WRITE)
    # Bytes in argv, as a shell passes them: Python keeps the undecodable byte as a
    # surrogate, which SQLite cannot store.
    done = subprocess.run(
        [*COCKPIT, "run", "app", b"fix \xff bug", "--scenario", scenario],
        cwd=workspace_root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_one_line_error(done, "the task is not valid UTF-8", "byte 0xff at character 5")
    assert runs(workspace_root) == []


def test_a_priority_sqlite_cannot_hold_is_refused(workspace_root: Path, write_scenario) -> None:
    scenario = write_scenario(WRITE)
    huge = "99999999999999999999999"
    done = cockpit(
        "run", "app", "x", "--priority", huge, "--scenario", scenario, cwd=workspace_root
    )
    assert_one_line_error(done, f"priority {huge} is out of range")
    assert runs(workspace_root) == []


def test_a_task_over_64_kb_is_refused_with_the_limit(workspace_root: Path, write_scenario) -> None:
    scenario = write_scenario(WRITE)
    task = "fix it " * 14_629  # 102,403 bytes (one argument may hold at most 128 KiB)
    done = cockpit("run", "app", task, "--scenario", scenario, cwd=workspace_root)
    assert_one_line_error(done, "the task is 102,403 bytes; the limit is 65,536")
    assert runs(workspace_root) == []


def test_a_run_store_that_is_a_folder_is_one_line(workspace_root: Path, write_scenario) -> None:
    (workspace_root / ".cockpit" / "cockpit.db").mkdir(parents=True)
    scenario = write_scenario(WRITE)
    # Several times: the traceback came from a thread racing the end of the process.
    for args in [("runs",), ("run", "app", "x", "--scenario", scenario)] + [("cancel", "x")] * 4:
        done = cockpit(*args, cwd=workspace_root)
        assert_one_line_error(done, "cockpit.db is a folder, not a database file")


def test_repo_add_refuses_a_read_only_config(tmp_path: Path, make_repo) -> None:
    api = make_repo("api")
    ws = tmp_path / "ws"
    assert cockpit("init", str(ws), cwd=tmp_path).returncode == 0
    toml = ws / "cockpit.toml"
    before = toml.read_bytes()
    toml.chmod(0o444)
    done = cockpit("repo", "add", str(api), cwd=ws)
    assert_one_line_error(done, "cockpit.toml is read-only; nothing was changed")
    assert toml.read_bytes() == before
    assert toml.stat().st_mode & 0o777 == 0o444


# --- a read-only folder and a full disk: real mounts, root only -------------------------
def mount(*args: str) -> None:
    """``mount ARGS``, or skip the test (not root, or no right to mount here)."""
    if os.geteuid() != 0:
        raise pytest.skip.Exception("needs root to mount a tmpfs or a read-only bind mount")
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise pytest.skip.Exception(f"mount is not permitted here: {done.stderr.strip()}")


def unmount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True, check=False).returncode:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


@contextlib.contextmanager
def read_only(folder: Path) -> Generator[None]:
    """``folder`` read-only for everyone, root included (a read-only bind mount on itself)."""
    mount("--bind", str(folder), str(folder))
    try:
        mount("-o", "remount,bind,ro", str(folder))
        yield
    finally:
        unmount(folder)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Generator[Path]:
    """A 4 MiB tmpfs, unmounted afterwards."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk))
    try:
        yield disk
    finally:
        unmount(disk)


def test_a_read_only_state_folder_with_a_wal_is_one_line(
    workspace_root: Path, write_scenario
) -> None:
    scenario = write_scenario(WRITE)
    assert cockpit("runs", cwd=workspace_root).returncode == 0  # makes the store
    state = workspace_root / ".cockpit"
    # An open connection that wrote keeps cockpit.db-wal (and -shm) in the folder.
    writer = sqlite3.connect(state / "cockpit.db")
    try:
        writer.execute("UPDATE runs SET priority = priority")
        writer.commit()
        assert (state / "cockpit.db-wal").exists()
        with read_only(state):
            # The engine cannot start where it cannot hold its lock: said where and why.
            done = cockpit("run", "app", "x", "--scenario", scenario, cwd=workspace_root)
            assert_one_line_error(done, f"cannot write {state / 'engine.lock'}: Read-only")
            steered = cockpit("steer", "nope", "hello", cwd=workspace_root)
            assert_one_line_error(steered, f"cannot write {state / 'engine.lock'}: Read-only")
            # Reading needs no engine.
            assert cockpit("runs", cwd=workspace_root).returncode == 0
    finally:
        writer.close()
    assert runs(workspace_root) == []


def test_repo_add_in_a_read_only_workspace_is_one_line(tmp_path: Path, make_repo) -> None:
    api = make_repo("api")
    ws = tmp_path / "ws"
    assert cockpit("init", str(ws), cwd=tmp_path).returncode == 0
    assert cockpit("repo", "list", cwd=ws).returncode == 0  # makes .cockpit/ first
    before = (ws / "cockpit.toml").read_bytes()
    with read_only(ws):
        done = cockpit("repo", "add", str(api), cwd=ws)
    assert_one_line_error(done, "cockpit.toml is read-only; nothing was changed")
    assert (ws / "cockpit.toml").read_bytes() == before


def workspace_on(disk: Path, repo: Path) -> Path:
    """A workspace (and so its run store and worktrees) on ``disk``, its repo elsewhere."""
    root = disk / "ws"
    root.mkdir()
    (root / "cockpit.toml").write_text(
        f'[repos.app]\npath = "{repo}"\nbase = "main"\n\n[agents.scripted]\nbackend = "scripted"\n'
    )
    return root


def assert_nothing_half_made(root: Path, repo: Path) -> None:
    """No run left active; every worktree and run branch belongs to a run."""
    found = runs(root)
    assert all(r["state"] not in ("queued", "starting", "running") for r in found), found
    ids = {r["id"] for r in found}
    folder = root / ".cockpit" / "worktrees" / "app"
    made = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    assert made <= ids, made - ids
    branches = git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/cockpit")
    assert {b.removeprefix("cockpit/") for b in branches.split()} <= ids, branches


def fill(disk: Path) -> None:
    """Take every byte left on ``disk``."""
    with (disk / "filler").open("wb") as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * 65536)


def test_a_checkout_too_big_for_the_disk_fails_the_run_cleanly(
    tiny_disk: Path, make_repo, write_scenario
) -> None:
    repo = make_repo("app", {"big.bin": "x" * 5_000_000})  # more than the 4 MiB disk
    root = workspace_on(tiny_disk, repo)
    done = cockpit("run", "app", "task", "--scenario", write_scenario(WRITE), "--wait", cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert f"failed: no space left on tmpfs ({tiny_disk}) while writing {root}" in last, last
    assert "the checkout of" in last
    assert_nothing_half_made(root, repo)


def test_an_agent_filling_the_disk_still_ends_its_run(
    tiny_disk: Path, make_repo, write_scenario
) -> None:
    repo = make_repo("app")
    root = workspace_on(tiny_disk, repo)
    big = "x" * 6_000_000
    scenario = write_scenario(f'[[step]]\nwrite = {{ path = "fill.txt", content = "{big}" }}\n')
    done = cockpit("run", "app", "task", "--scenario", scenario, "--wait", cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"cockpit: no space left on tmpfs ({tiny_disk}) while writing")
    for leftover in (root / ".cockpit" / "worktrees" / "app").glob("*/fill.txt"):
        leftover.unlink()  # room again for the commands that check
    (run,) = runs(root)
    # Recorded by the run's own engine, not reaped later as interrupted.
    assert run["state"] == "failed", run
    assert run["error"].startswith(f"no space left on tmpfs ({tiny_disk}) while writing")
    assert_nothing_half_made(root, repo)


def test_a_full_disk_refuses_a_new_run_in_one_line(
    tiny_disk: Path, make_repo, write_scenario
) -> None:
    repo = make_repo("app")
    root = workspace_on(tiny_disk, repo)
    assert cockpit("runs", cwd=root).returncode == 0  # the store exists, then the disk fills
    fill(tiny_disk)
    done = cockpit("run", "app", "task", "--scenario", write_scenario(WRITE), cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"cockpit: no space left on tmpfs ({tiny_disk}) while writing {root}/.cockpit/cockpit.db"
    ], done.stderr
    (tiny_disk / "filler").unlink()
    assert runs(root) == []
    assert_nothing_half_made(root, repo)


def test_python_passes_bytes_arguments_as_they_are() -> None:
    """The non-UTF-8 test relies on this: bytes in argv reach the CLI undecoded."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys; print(ascii(sys.argv[1]))", b"a\xffb"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "'a\\udcffb'"
