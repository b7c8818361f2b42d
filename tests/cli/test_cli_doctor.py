"""``cockpit doctor``: what is installed and enforced; exit 1 when something configured is
missing. And ``[sandbox] required = true`` where no sandbox can be had: runs refused."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from clikit import COCKPIT_WITHOUT_SANDBOX, cockpit


def without_sandbox(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COCKPIT_WITHOUT_SANDBOX, *args], cwd=cwd, capture_output=True, text=True
    )


def test_doctor_reports_the_sandbox_git_and_each_profile(workspace_root: Path):
    done = cockpit("doctor", "--json", cwd=workspace_root)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True
    assert report["sandbox"]["enforced"] is True
    assert report["sandbox"]["tool"].endswith("bwrap")
    assert report["sandbox"]["network"] == "off"
    names = {c["name"]: c for c in report["checks"]}
    assert names["git"]["ok"] and names["git"]["version"].startswith("git version")
    assert names["agent scripted (scripted)"]["ok"]
    text = cockpit("doctor", cwd=workspace_root)
    assert text.returncode == 0
    assert "✓ sandbox: enforced by bubblewrap" in text.stdout


def test_a_profile_whose_command_is_missing_fails_the_doctor(workspace_root: Path):
    config = workspace_root / "cockpit.toml"
    config.write_text(
        config.read_text() + '\n[agents.gone]\nbackend = "acp"\ncommand = "no-such-agent-cli"\n'
    )
    done = cockpit("doctor", cwd=workspace_root)
    assert done.returncode == 1
    assert "✗ agent gone (acp): no-such-agent-cli not found on PATH" in done.stdout
    report = json.loads(cockpit("doctor", "--json", cwd=workspace_root).stdout)
    assert report["ok"] is False


def test_without_bubblewrap_the_doctor_says_so_and_required_refuses_runs(
    workspace_root: Path, write_scenario
):
    done = without_sandbox("doctor", cwd=workspace_root)
    assert done.returncode == 0, done.stderr  # the guard alone is allowed by default
    assert "✗ sandbox: bubblewrap (bwrap) not found" in done.stdout
    config = workspace_root / "cockpit.toml"
    config.write_text(config.read_text() + "\n[sandbox]\nrequired = true\n")
    done = without_sandbox("doctor", cwd=workspace_root)
    assert done.returncode == 1
    assert "[sandbox] required = true: runs are refused" in done.stdout
    scenario = write_scenario('[[step]]\nsay = "hi"\n')
    # The run is refused by the engine, which must be one without bubblewrap too.
    engine = subprocess.Popen(
        [*COCKPIT_WITHOUT_SANDBOX, "engine", "start", "--foreground"],
        cwd=workspace_root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while cockpit("engine", "status", cwd=workspace_root).returncode != 0:
            assert engine.poll() is None and time.monotonic() < deadline, "no engine"
            time.sleep(0.1)
        refused = without_sandbox(
            "run", "app", "a task", "--scenario", scenario, cwd=workspace_root
        )
    finally:
        engine.terminate()
        engine.wait(30)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.strip().splitlines() == [
        "cockpit: [sandbox] required = true, but bubblewrap (bwrap) not found"
    ]
    assert "Traceback" not in refused.stderr
