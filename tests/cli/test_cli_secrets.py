"""Keys and tokens in a task never reach the run store, the repo's history or the
command line's output: they are masked where they are written, as events are."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from clikit import cockpit

from enginekit import git

GITHUB = "ghp_" + "Zx9Qw2" * 6  # 36 characters after the prefix
ANTHROPIC = "sk-ant-api03-" + "Kp4Lm8Nq2Rs6" * 3
AWS = "AKIA" + "J7K3M9P2Q5R8T4V6"
SECRETS = (GITHUB, ANTHROPIC, AWS)
TASK = f"deploy with {GITHUB}, then {ANTHROPIC}, then {AWS}"

# The run tries to delete a folder named after a token, outside its worktree: the guard
# refuses, and its reason quotes the path; then it writes a file and finishes.
WORK = f"""
[[step]]
say = "cleaning up"
run = "rm -rf ../{GITHUB}"

[[step]]
write = {{ path = "hello.txt", content = "hi\\n" }}
"""
FAIL = f'[[step]]\nfail = "could not push with {GITHUB}"\n'


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret[:8]}… found in {where}"


def every_stored_text(db: Path) -> str:
    """Every value of every column of every table, as text."""
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        values = [
            str(value)
            for table in tables
            for row in conn.execute(f'SELECT * FROM "{table}"')
            for value in row
        ]
    finally:
        conn.close()
    return "\n".join(values)


def test_secrets_in_a_task_are_masked_everywhere(workspace_root: Path, write_scenario) -> None:
    repo = workspace_root.parent / "repos" / "app"
    scenario = write_scenario(WORK)
    done = cockpit("run", "app", TASK, "--scenario", scenario, "--wait", cwd=workspace_root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_no_secret(done.stdout + done.stderr, "run --wait")
    run_id = json.loads(cockpit("runs", "--json", cwd=workspace_root).stdout)[-1]["id"]
    failed = cockpit(
        "run", "app", TASK, "--scenario", write_scenario(FAIL, "fail.toml"), "--wait",
        cwd=workspace_root,
    )  # fmt: skip
    assert failed.returncode == 1
    last = failed.stdout.strip().splitlines()[-1]
    assert last.endswith("failed: could not push with [redacted]"), last
    assert_no_secret(failed.stdout + failed.stderr, "run --wait of a failed run")

    approved = cockpit("approve", run_id, cwd=workspace_root)
    assert approved.returncode == 0, approved.stderr
    command = f"rm -rf ../{GITHUB}"
    check = ("guard", "check", "--tool", "shell", "--command", command, "--repo", "app", "--json")
    check_output = cockpit(*check, cwd=workspace_root).stdout
    outputs = {
        "runs": cockpit("runs", cwd=workspace_root).stdout,
        "runs --json": cockpit("runs", "--json", cwd=workspace_root).stdout,
        "show": cockpit("show", run_id, "--events", cwd=workspace_root).stdout,
        "show --json": cockpit("show", run_id, "--events", "--json", cwd=workspace_root).stdout,
        "guard ledger": cockpit("guard", "ledger", cwd=workspace_root).stdout,
        "guard ledger --json": cockpit("guard", "ledger", "--json", cwd=workspace_root).stdout,
        "guard check": check_output,
        "git log": git(repo, "log", "--all", "-p"),
        "reflogs": git(repo, "log", "-g", "--all", "--format=%gs%n%B"),
    }
    for where, text in outputs.items():
        assert_no_secret(text, where)
    # What was masked is still there, masked: the task, and the guard's reason.
    shown = json.loads(outputs["show --json"])
    assert shown["task"] == "deploy with [redacted], then [redacted], then [redacted]"
    reasons = [d["reason"] for d in json.loads(outputs["guard ledger --json"])["decisions"]]
    assert any("../[redacted]" in reason for reason in reasons), reasons
    assert "../[redacted]" in json.loads(outputs["guard check"])["reason"]
    assert f"Merge cockpit run {run_id}: deploy with [redacted]" in outputs["git log"]

    db = workspace_root / ".cockpit" / "cockpit.db"
    assert_no_secret(every_stored_text(db), "the run store's columns")
    for path in db.parent.glob("cockpit.db*"):
        raw = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in raw, f"{secret[:8]}… found in {path.name}"
