"""The real ``cockpit`` in a real terminal (tmux), a client of the workspace's engine: it
opens on an engine that already runs a run, ``q`` leaves, the run goes on."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from detachedkit import as_json, cockpit, scenario_file

from e2e.tmuxkit import TMUX, Tmux, poll

pytestmark = pytest.mark.skipif(
    TMUX is None, reason="the tmux binary is not installed (it is on CI machines)"
)

#: The console script of this venv (not resolved: the venv's python is a symlink).
COCKPIT = Path(sys.executable).parent / "cockpit"

#: Eight one-second turns: still going when the cockpit leaves.
EIGHT = "".join(f'[[step]]\nsay = "step {n}"\nwait = 1\n' for n in range(1, 9))


def state(root: Path, run_id: str) -> str:
    runs = {run["id"]: run for run in as_json(cockpit(root, "runs", "--json"))}
    return runs[run_id]["state"]


@pytest.mark.timeout(180)
def test_cockpit_opens_on_the_running_engine_and_q_leaves_the_run_going(
    workspace_root: Path, tmp_path: Path
) -> None:
    assert COCKPIT.exists(), f"no console script at {COCKPIT}"
    assert cockpit(workspace_root, "engine", "start").returncode == 0
    path = scenario_file(tmp_path, EIGHT, "eight.toml")
    run_id = as_json(
        cockpit(workspace_root, "run", "app", "keep going", "--scenario", path, "--json")
    )["id"]
    tmux = Tmux(session="client")
    try:
        tmux.start([str(COCKPIT), "--workspace", str(workspace_root)])
        # The run's row, running, and the header's count: the engine's, read live.
        tmux.wait_for(run_id, "1 running", timeout=60)
        tmux.press("q")
        screen = tmux.wait_until(lambda _s: tmux.exited(), "the cockpit to exit", 30)
        assert tmux.exit_status() == 0, screen
        assert "1 run keeps going in the engine — cockpit to come back" in screen
        assert "Traceback" not in screen
        assert state(workspace_root, run_id) == "running"
        poll(lambda: state(workspace_root, run_id) == "finished", "the run to finish", 60)
    finally:
        tmux.kill()
