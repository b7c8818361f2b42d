"""kill -9 of the engine mid-run: the run is reported interrupted and resumes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

from clikit import COCKPIT, cockpit, cockpit_json


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
        stderr=subprocess.DEVNULL,
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
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    runs = cockpit_json("runs", cwd=workspace_root)
    assert len(runs) == 1
    run = runs[0]
    assert run["state"] == "interrupted"
    assert run["turns_completed"] == 2
    worktree = Path(run["worktree"])
    assert (worktree / "one.txt").read_text() == "1\n"
    assert (worktree / "log.txt").read_text() == "twice\n"

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
