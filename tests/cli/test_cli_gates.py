"""``cockpit gates REPO|RUN [--json]``: the repo's gates on its working tree (untracked
files included) or on a run's worktree; exit 0 / 1 / 2."""

from __future__ import annotations

import json
from pathlib import Path

from clikit import assert_one_line_error, cockpit, cockpit_json, wait_run

GATES = """
[[repos.app.gates]]
name = "lint"
kind = "ruff"

[[repos.app.gates]]
name = "todo"
kind = "command"
command = "grep -rn TODO --include=*.py . ; test $? -eq 1"
pattern = '^\\./(?P<path>[^:]+):(?P<line>\\d+):(?P<message>.*)$'
blocking = false

[[repos.app.gates]]
name = "lint-elsewhere"
kind = "ruff"
command = "no-such-ruff-here"
blocking = false
"""


def with_gates(workspace_root: Path) -> Path:
    config = workspace_root / "cockpit.toml"
    config.write_text(config.read_text() + GATES)
    return workspace_root.parent / "repos" / "app"


def test_gates_on_a_repo_working_tree(workspace_root: Path) -> None:
    repo = with_gates(workspace_root)
    # Untracked files are judged too: the tree as it is, not as committed.
    (repo / "new.py").write_text("import os\n# TODO: tidy\n")
    done = cockpit("gates", "app", "--json", cwd=workspace_root)
    assert done.returncode == 1, done.stderr  # the blocking lint gate failed
    report = json.loads(done.stdout)
    gates = {g["name"]: g for g in report["gates"]}
    assert [g["name"] for g in report["gates"]] == ["lint", "todo", "lint-elsewhere"]
    assert gates["lint"]["status"] == "failed"
    lint = gates["lint"]["findings"]
    assert [(f["path"], f["line"], f["code"]) for f in lint] == [("new.py", 1, "F401")]
    assert set(lint[0]) >= {"path", "line", "code", "message", "severity"}
    todo = gates["todo"]
    assert (todo["status"], todo["blocking"]) == ("failed", False)
    assert [(f["path"], f["line"]) for f in todo["findings"]] == [("new.py", 2)]
    missing = gates["lint-elsewhere"]
    assert missing["status"] == "unavailable" and "not installed" in missing["detail"]

    # Fixed: the blocking gate passes; the failing advisory one does not change the exit.
    (repo / "new.py").write_text("# TODO: tidy\n")
    done = cockpit("gates", "app", cwd=workspace_root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✓ lint: passed" in done.stdout
    assert "✗ todo (advisory): failed, 1 finding (" in done.stdout


def test_gates_on_a_runs_worktree(workspace_root: Path, write_scenario) -> None:
    with_gates(workspace_root)
    scenario = write_scenario('[[step]]\nwrite = { path = "made.py", content = "import sys\\n" }\n')
    run = cockpit_json(
        "run", "app", "make a file", "--scenario", str(scenario), "--wait", cwd=workspace_root
    )
    wait_run(workspace_root, run["id"], "finished")
    done = cockpit("gates", run["id"], "--json", cwd=workspace_root)
    assert done.returncode == 1
    lint = json.loads(done.stdout)["gates"][0]
    assert [(f["path"], f["code"]) for f in lint["findings"]] == [("made.py", "F401")]


def test_an_unknown_target_is_one_clear_line(workspace_root: Path) -> None:
    done = cockpit("gates", "nope", cwd=workspace_root)
    assert_one_line_error(done, "'nope' is neither a repo (app, lib) nor a run")


def test_a_bad_pattern_is_a_config_error(workspace_root: Path) -> None:
    config = workspace_root / "cockpit.toml"
    config.write_text(
        config.read_text()
        + '[[repos.app.gates]]\nname = "x"\nkind = "command"\ncommand = "true"\npattern = "("\n'
    )
    assert_one_line_error(cockpit("gates", "app", cwd=workspace_root), "pattern")


def test_no_gates_configured_names_the_run_and_its_repo(
    workspace_root: Path, write_scenario
) -> None:
    scenario = write_scenario('[[step]]\nwrite = { path = "made.txt", content = "hi\\n" }\n')
    run = cockpit_json(
        "run", "app", "make a file", "--scenario", str(scenario), "--wait", cwd=workspace_root
    )
    wait_run(workspace_root, run["id"], "finished")
    prefix = run["id"][:4]
    done = cockpit("gates", prefix, cwd=workspace_root)
    assert done.returncode == 0, done.stderr
    # The built-in secrets check passed: not a gate of the repo's, and not said.
    assert done.stdout.splitlines() == [
        f"no gates configured for run {run['id']} of repo app ([[repos.app.gates]] in cockpit.toml)"
    ]
    report = json.loads(cockpit("gates", prefix, "--json", cwd=workspace_root).stdout)
    assert (report["run"], report["repo"]) == (run["id"], "app")

    done = cockpit("gates", "lib", cwd=workspace_root)
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.strip()
        == "no gates configured for repo lib ([[repos.lib.gates]] in cockpit.toml)"
    )


def test_a_repo_that_is_no_git_repo_exits_2(workspace_root: Path) -> None:
    plain = workspace_root.parent / "plain"
    plain.mkdir()
    gone = workspace_root.parent / "gone"
    config = workspace_root / "cockpit.toml"
    text = config.read_text().replace('path = "../repos/app"', f'path = "{plain}"')
    config.write_text(text.replace('path = "../repos/lib"', f'path = "{gone}"'))
    done = cockpit("gates", "app", cwd=workspace_root)
    assert_one_line_error(done, f"repo 'app': {plain} is not a git repository")
    assert done.stdout == ""
    assert_one_line_error(cockpit("gates", "lib", cwd=workspace_root), f"{gone} does not exist")
