"""kill -9 of the engine mid-run (the workspace's detached engine, which a ``run --wait``
started and follows): the run is reported interrupted and resumes."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from clikit import COCKPIT, cockpit, cockpit_json, engine_pid, kill_engine

from engine.adapters.process import run_processes


def test_kill_9_mid_run_then_resume(workspace_root: Path, write_scenario):
    path = write_scenario(
        '[[step]]\nwrite = { path = "one.txt", content = "1\\n" }\n'
        '[[step]]\nrun = "echo twice >> log.txt"\n'
        "[[step]]\nwait = 60\n"
        '[[step]]\nsay = "the end"\n'
    )
    proc = subprocess.Popen(
        [*COCKPIT, "run", "app", "crashy", "--scenario", path, "--wait"],
        cwd=workspace_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen.append(line)
        if "turn 2 finished" in line:
            break
    assert any("turn 2 finished" in line for line in seen), seen
    # The run executes in the engine the command started, not in the command.
    engine = engine_pid(workspace_root)
    assert engine is not None and engine != proc.pid
    kill_engine(workspace_root, engine)
    # The follower learns its engine is gone: it ends by itself, saying so in one line.
    rest, err = proc.communicate(timeout=30)
    seen += rest.splitlines(keepends=True)
    assert proc.returncode != 0, (proc.returncode, rest, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert engine_pid(workspace_root) is None  # nothing started another engine

    runs = cockpit_json("runs", cwd=workspace_root)
    assert len(runs) == 1
    run = runs[0]
    assert run["state"] == "interrupted"
    assert run["turns_completed"] == 2
    worktree = Path(run["worktree"])
    assert (worktree / "one.txt").read_text() == "1\n"
    assert (worktree / "log.txt").read_text() == "twice\n"
    assert run_processes(run["id"]) == []  # nothing of the run outlived its engine

    # Every event the subscriber (the --wait output) saw is in the database.
    printed = {int(m.group(1)) for line in seen if (m := re.search(r" #(\d+) ", line))}
    assert printed
    stored = {
        e["seq"] for e in cockpit_json("show", run["id"], "--events", cwd=workspace_root)["events"]
    }
    assert printed <= stored

    # Make the remaining wait short, then resume: it continues at turn 3.
    Path(path).write_text(Path(path).read_text().replace("wait = 60", "wait = 0"))
    done = cockpit("resume", run["id"], "--wait", cwd=workspace_root)
    assert done.returncode == 0, done.stdout + done.stderr
    final = cockpit_json("show", run["id"], cwd=workspace_root)
    assert final["state"] == "finished" and final["turns_completed"] == 4
    assert (worktree / "log.txt").read_text() == "twice\n"  # turn 2 was not replayed
