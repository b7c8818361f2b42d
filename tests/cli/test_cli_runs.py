"""Runs through the real CLI: --wait, background engine, steer, cancel, show, errors."""

from __future__ import annotations

import json
from pathlib import Path

from clikit import assert_one_line_error, cockpit, cockpit_json, wait_run

SIMPLE = '[[step]]\nsay = "hello"\n[[step]]\nwrite = { path = "a.txt", content = "a\\n" }\n'


def test_run_wait_streams_and_exits_0(workspace_root: Path, write_scenario):
    path = write_scenario(SIMPLE)
    done = cockpit("run", "app", "write a", "--scenario", path, "--wait", cwd=workspace_root)
    assert done.returncode == 0, done.stderr
    assert "agent: hello" in done.stdout and "finished" in done.stdout

    runs = cockpit_json("runs", cwd=workspace_root)
    assert len(runs) == 1
    run = runs[0]
    assert {"id", "repo", "state", "branch", "worktree"} <= run.keys()
    assert run["state"] == "finished" and run["branch"] == f"cockpit/{run['id']}"
    assert Path(run["worktree"]).is_absolute()

    shown = cockpit_json("show", run["id"][:5], "--events", cwd=workspace_root)
    assert shown["id"] == run["id"]
    types = [e["type"] for e in shown["events"]]
    assert types[0] == "run_state_changed" and "turn_finished" in types
    assert all({"seq", "type", "at"} <= e.keys() for e in shown["events"])
    human = cockpit("show", run["id"], "--events", cwd=workspace_root)
    assert "turn 2 finished" in human.stdout


def test_run_wait_json_and_failure_exit_1(workspace_root: Path, write_scenario):
    path = write_scenario('[[step]]\nfail = "simulated crash"\n')
    done = cockpit(
        "run", "app", "crash", "--scenario", path, "--wait", "--json", cwd=workspace_root
    )
    assert done.returncode == 1
    run = json.loads(done.stdout)
    assert run["state"] == "failed" and run["error"] == "simulated crash"


def test_background_run_ask_steer_and_finish(workspace_root: Path, write_scenario):
    path = write_scenario('[[step]]\nask = "tests too?"\n[[step]]\nsay = "ok"\n')
    done = cockpit("run", "app", "ask", "--scenario", path, cwd=workspace_root)
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip()
    assert len(run_id) == 8
    wait_run(workspace_root, run_id, "waiting_for_human")
    steer = cockpit("steer", run_id, "yes", cwd=workspace_root)
    assert steer.returncode == 0, steer.stderr
    final = wait_run(workspace_root, run_id, "finished")
    assert final["turns_completed"] == 2


def test_cancel_a_background_run(workspace_root: Path, write_scenario):
    path = write_scenario("[[step]]\nwait = 60\n")
    run_id = cockpit("run", "app", "slow", "--scenario", path, cwd=workspace_root).stdout.strip()
    wait_run(workspace_root, run_id, "running")
    done = cockpit("cancel", run_id, cwd=workspace_root)
    assert done.returncode == 0, done.stderr
    assert "cancelled" in done.stdout
    assert cockpit_json("show", run_id, cwd=workspace_root)["state"] == "cancelled"


def test_run_bad_input(workspace_root: Path, write_scenario, tmp_path: Path):
    path = write_scenario(SIMPLE)
    ws = workspace_root
    assert_one_line_error(cockpit("run", "nope", "t", "--scenario", path, cwd=ws), "unknown repo")
    assert_one_line_error(
        cockpit("run", "app", "t", "--scenario", str(tmp_path / "x.toml"), cwd=ws), "not found"
    )
    bad = write_scenario("[[step]]\nsay = 3\n", "bad.toml")
    assert_one_line_error(cockpit("run", "app", "t", "--scenario", bad, cwd=ws), "bad.toml")
    assert_one_line_error(
        cockpit("run", "app", "t", "--agent", "ghost", "--scenario", path, cwd=ws), "ghost"
    )
    assert_one_line_error(cockpit("show", "zzzz", cwd=ws), "no run 'zzzz'")
    assert_one_line_error(cockpit("steer", "zzzz", "hi", cwd=ws), "no run")
    assert_one_line_error(cockpit("resume", "zzzz", cwd=ws), "no run")
    assert cockpit_json("runs", cwd=ws) == []  # nothing half-written


def test_run_on_a_repo_path_that_is_not_git(workspace_root: Path, write_scenario, tmp_path):
    import shutil

    shutil.rmtree(tmp_path / "repos" / "lib" / ".git")
    path = write_scenario(SIMPLE)
    done = cockpit("run", "lib", "t", "--scenario", path, cwd=workspace_root)
    assert_one_line_error(done, "lib", "not a git repository")


def test_a_broken_run_store_is_one_line_and_exit_2(workspace_root: Path) -> None:
    store = workspace_root / ".cockpit" / "cockpit.db"
    store.parent.mkdir(exist_ok=True)
    store.write_bytes(b"garbage" * 1000)
    done = cockpit("runs", cwd=workspace_root)
    assert_one_line_error(done, str(store), "file is not a database", "move it aside")
