"""Run the real ``cockpit`` command in a subprocess, as a user or a script would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from builders import alive

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


# --- the workspace's detached engine -----------------------------------------------------


def engine_pid(cwd: Path) -> int | None:
    """The pid of the workspace's running engine (``engine status --json``), None when
    none runs."""
    done = cockpit("engine", "status", "--json", cwd=cwd)
    status = json.loads(done.stdout)
    assert done.returncode == (0 if status["engine"] else 1), (done.stdout, done.stderr)
    return status["pid"] if status["engine"] else None


def start_engine(cwd: Path, env: dict | None = None) -> int:
    """Start the workspace's engine (``cockpit engine start``, with ``env`` added to its
    environment, which the engine inherits); its pid. Fails when one already runs: that
    one would not have ``env``."""
    assert engine_pid(cwd) is None, "an engine already runs: it would not have the env"
    done = cockpit("engine", "start", cwd=cwd, env=env)
    assert done.returncode == 0, (done.stdout, done.stderr)
    pid = engine_pid(cwd)
    assert pid is not None, "the started engine does not answer"
    return pid


def stop_engine(cwd: Path) -> None:
    """``cockpit engine stop``: afterwards no engine runs (none running is fine)."""
    done = cockpit("engine", "stop", cwd=cwd)
    assert done.returncode in (0, 1), (done.stdout, done.stderr)
    assert engine_pid(cwd) is None


def wait_dead(pid: int, timeout: float = 10) -> None:
    """Wait until ``pid`` no longer runs (see :func:`alive`)."""
    deadline = time.monotonic() + timeout
    while alive(pid):
        assert time.monotonic() < deadline, f"process {pid} still runs after {timeout} s"
        time.sleep(0.02)


def kill_engine(cwd: Path, pid: int | None = None) -> int:
    """``kill -9`` the workspace's engine (``pid``, else the one ``engine status`` names)
    and wait until it is dead; its pid."""
    if pid is None:
        pid = engine_pid(cwd)
        assert pid is not None, "no engine runs to kill"
    os.kill(pid, signal.SIGKILL)
    wait_dead(pid)
    return pid


def start_engine_process(
    cwd: Path, head: list[str] = COCKPIT, env: dict | None = None, timeout: float = 30
) -> subprocess.Popen[bytes]:
    """``HEAD --workspace CWD engine start --foreground`` as a child of this process, in a
    session of its own as a background engine is; returns once it answers. ``head``
    ``COCKPIT_WITHOUT_SANDBOX`` gives an engine that finds no bubblewrap. The caller
    waits for it (after :func:`kill_engine`, or ``cockpit engine stop``)."""
    assert engine_pid(cwd) is None, "an engine already runs"
    proc = subprocess.Popen(
        [*head, "--workspace", str(cwd), "engine", "start", "--foreground"],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while engine_pid(cwd) != proc.pid:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise AssertionError(f"the engine did not start (exit {proc.returncode})")
        time.sleep(0.1)
    return proc
