"""A run whose diff adds a credential-shaped value: a finding of the built-in secrets
check even with no gates configured, shown masked, and approve refuses it without
``--override-gates``."""

from __future__ import annotations

import json
from pathlib import Path

from clikit import cockpit, cockpit_json

TOKEN = "ghp_" + "Lk3Vb7" * 6
WRITES_A_KEY = f"""
[[step]]
write = {{ path = "notes.md", content = "# notes\\n" }}
[[step]]
write = {{ path = "src/settings.py", content = "DEBUG = True\\nTOKEN = '{TOKEN}'\\n" }}
"""
CLEAN = '[[step]]\nwrite = { path = "notes.md", content = "# notes\\n" }\n'


def _finished_run(root: Path, write_scenario, text: str) -> str:
    done = cockpit(
        "run", "app", "write settings", "--scenario", write_scenario(text), "--wait", "--json",
        cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return cockpit_json("runs", cwd=root)[-1]["id"]


def test_a_key_in_the_diff_is_a_finding_and_holds_approval_back(
    workspace_root: Path, write_scenario
) -> None:
    run_id = _finished_run(workspace_root, write_scenario, WRITES_A_KEY)
    gates = cockpit("gates", run_id, "--json", cwd=workspace_root)
    assert gates.returncode == 1, gates.stdout + gates.stderr
    assert TOKEN not in gates.stdout
    verdicts = {g["name"]: g for g in json.loads(gates.stdout)["gates"]}
    leak = verdicts["secrets (built in)"]
    assert (leak["status"], leak["blocking"]) == ("failed", True)
    [finding] = leak["findings"]
    assert (finding["path"], finding["line"], finding["code"]) == (
        "src/settings.py",
        2,
        "credential",
    )
    assert finding["message"] == "adds a credential-shaped value: TOKEN = '[redacted]'"

    # The run recorded it when it finished: shown with its events, masked.
    events = cockpit_json("show", run_id, "--events", cwd=workspace_root)["events"]
    decided = [e for e in events if e["type"] == "gate_decided"]
    assert [e["name"] for e in decided] == ["secrets (built in)"]
    assert TOKEN not in json.dumps(events)

    refused = cockpit("approve", run_id, cwd=workspace_root)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "secrets (built in)" in refused.stderr and "--override-gates" in refused.stderr
    assert cockpit_json("show", run_id, cwd=workspace_root)["state"] == "finished"

    approved = cockpit("approve", run_id, "--override-gates", cwd=workspace_root)
    assert approved.returncode == 0, approved.stdout + approved.stderr


def test_a_clean_diff_passes_the_built_in_check_quietly(
    workspace_root: Path, write_scenario
) -> None:
    run_id = _finished_run(workspace_root, write_scenario, CLEAN)
    gates = json.loads(cockpit("gates", run_id, "--json", cwd=workspace_root).stdout)["gates"]
    assert [(g["name"], g["status"]) for g in gates] == [("secrets (built in)", "passed")]
    events = cockpit_json("show", run_id, "--events", cwd=workspace_root)["events"]
    assert not [e for e in events if e["type"] == "gate_decided"]
    assert cockpit("approve", run_id, cwd=workspace_root).returncode == 0
