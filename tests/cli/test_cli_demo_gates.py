"""The demo ships gates: ruff on its repos (blocking with fix rounds on api, advisory on
shared, the pyproject defaults on cli), run for real even when the venv's bin is not on
the PATH (``make demo`` runs ``.venv/bin/cockpit`` without it); and its seeded api run
fails lint in one turn and fixes it in the next."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.demo import build_demo_workspace

#: As under ``make demo``: the system's tools, not the venv's bin.
PATH = "/usr/bin:/bin"
ENV = {**os.environ, "PATH": PATH}


@pytest.fixture(autouse=True)
def _no_ruff_on_the_path() -> None:
    # The premise: ruff is only found beside the interpreter running Cockpit.
    assert shutil.which("ruff", path=PATH) is None, f"a ruff on {PATH} would hide the lookup"


def cockpit(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cockpit", "--workspace", str(root), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
    )


def gates(root: Path, repo: str) -> tuple[int, dict[str, dict]]:
    done = cockpit(root, "gates", repo, "--json")
    assert done.returncode in (0, 1), done.stderr
    report = json.loads(done.stdout)
    return done.returncode, {g["name"]: g for g in report["gates"]}


def test_the_demo_repos_gates_run_ruff_for_real(tmp_path: Path) -> None:
    root = build_demo_workspace(tmp_path / "demo")
    repos = root / "repos"
    for repo in ("api", "cli", "shared"):
        assert "[tool.ruff]" in (repos / repo / "pyproject.toml").read_text()
        code, found = gates(root, repo)
        assert code == 0, (repo, found)
        assert {"lint"} <= set(found), found
        assert all(g["status"] == "passed" for g in found.values()), (repo, found)
    assert {"lint", "format"} <= set(gates(root, "cli")[1])  # the pyproject's defaults

    # An unused import: api's blocking lint fails (exit 1), shared's advisory one fails
    # without changing the exit code.
    (repos / "api" / "api" / "extra.py").write_text("import os\n")
    (repos / "shared" / "shared" / "extra.py").write_text("import os\n")
    (repos / "cli" / "cli" / "extra.py").write_text("X=[1,\n2]\n")
    code, api = gates(root, "api")
    assert code == 1
    assert (api["lint"]["status"], api["lint"]["blocking"]) == ("failed", True)
    lint = api["lint"]["findings"]
    assert [(f["path"], f["line"], f["code"]) for f in lint] == [("api/extra.py", 1, "F401")]
    code, shared = gates(root, "shared")
    assert code == 0
    assert (shared["lint"]["status"], shared["lint"]["blocking"]) == ("failed", False)
    code, cli = gates(root, "cli")
    assert code == 1
    assert cli["format"]["status"] == "failed" and cli["lint"]["status"] == "passed"
    assert [f["path"] for f in cli["format"]["findings"]] == ["cli/extra.py"]


def test_the_seeded_api_run_fails_lint_then_fixes_it(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    # How `make demo` seeds: the venv's interpreter, its bin not on the PATH.
    seed = f"from cockpit.tui.demo import prepare_demo; prepare_demo({str(root)!r})"
    done = subprocess.run(
        [sys.executable, "-c", seed], env=ENV, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    runs = json.loads(cockpit(root, "runs", "--json").stdout)
    (api,) = [r for r in runs if r["repo"] == "api"]
    assert api["state"] == "finished", api
    shown = cockpit(root, "show", api["id"], "--events", "--json")
    events = json.loads(shown.stdout)["events"]

    verdicts = [
        e
        for e in events
        if e["type"] == "gate_decided" and e["name"] == "lint" and e["status"] != "running"
    ]
    statuses = [(v["turn"], v["status"]) for v in verdicts]
    assert statuses[:3] == [(1, "passed"), (2, "failed"), (3, "passed")], statuses
    assert all(status == "passed" for _, status in statuses[2:]), statuses  # ends green
    assert len(statuses) == api["turns_completed"]  # every turn judged
    red = verdicts[1]
    assert red["blocking"] and red["detail"] == ""
    assert [(f["path"], f["line"], f["code"]) for f in red["findings"]] == [
        ("api/limiter.py", 3, "F401")
    ]

    # The findings went back to the agent (a fix round) before its next turn, which
    # removed the import.
    order = [e["type"] for e in events]
    fix = next(e for e in events if e["type"] == "steering_delivered")
    assert "fix round 1 of 2" in fix["text"] and "F401" in fix["text"]
    assert events.index(red) < events.index(fix)
    turn3 = next(e for e in events if e["type"] == "turn_finished" and e["turn"] == 3)
    between = events[events.index(fix) : events.index(turn3)]
    edits = [e for e in between if e["type"] == "tool_call_requested"]
    assert [e["tool"] for e in edits] == ["edit_file"], between
    assert edits[0]["arguments"]["path"] == "api/limiter.py"
    assert order[-1] == "run_state_changed"

    repo = root / "repos" / "api"
    limiter = subprocess.run(
        ["git", "show", f"{api['branch']}:api/limiter.py"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "import os" not in limiter and "import time" in limiter
