"""Run the real ``cockpit`` command in a subprocess, as a user or a script would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

COCKPIT = [sys.executable, "-m", "cockpit"]
#: ``cockpit`` as on a machine where no sandbox can be had (bubblewrap reported missing).
COCKPIT_WITHOUT_SANDBOX = [
    sys.executable,
    "-c",
    "import sys, engine.adapters.sandbox as s, engine.ports.sandbox as p\n"
    "s.probe = lambda program=None: p.SandboxStatus(False, 'bubblewrap (bwrap) not found')\n"
    "from cockpit.main import main\n"
    "sys.exit(main(sys.argv[1:]))\n",
]


def cockpit(*args: str, cwd: Path, timeout: float = 60, env: dict | None = None):
    """Run ``cockpit ARGS`` in ``cwd``; returns the CompletedProcess (text)."""
    return subprocess.run(
        [*COCKPIT, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def cockpit_json(*args: str, cwd: Path) -> Any:
    done = cockpit(*args, "--json", cwd=cwd)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def wait_run(cwd: Path, run_id: str, *states: str, timeout: float = 30) -> dict:
    """Poll ``cockpit show --json`` until the run is in one of ``states``."""
    deadline = time.monotonic() + timeout
    while True:
        run = cockpit_json("show", run_id, cwd=cwd)
        if run["state"] in states:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} is {run['state']}, wanted {states}")
        time.sleep(0.2)


def assert_one_line_error(done: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit 2, one line on stderr containing every needle, no traceback."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
