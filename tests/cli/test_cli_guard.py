"""``cockpit guard check`` asks the policy without running anything; ``cockpit guard
ledger`` shows what the rules decided."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from clikit import assert_one_line_error, cockpit

from engine.bootstrap import open_engine
from engine.domain.guard import GuardRecord
from engine.domain.models import utcnow
from engine.domain.state import RunState
from engine.workspace import open_workspace
from enginekit import ESCAPE_THEN_RETRY, running_engine, wait_for_state


def check(workspace_root: Path, *args: str) -> dict:
    done = cockpit("guard", "check", *args, "--json", cwd=workspace_root)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_guard_check_decides_with_the_rule_and_reason(workspace_root: Path) -> None:
    denied = check(workspace_root, "--tool", "shell", "--command", "git push -f origin x")
    assert denied == {
        "decision": "deny",
        "rule": "force-push",
        "reason": "force pushes rewrite shared history",
    }
    # --repo: judged as a run on that repo (its base branch is the default branch).
    pushed = check(
        workspace_root, "--tool", "shell", "--command", "git push origin main", "--repo", "app"
    )
    assert pushed["rule"] == "push-default-branch"
    outside = check(workspace_root, "--tool", "write", "--path", "../x.txt", "--repo", "app")
    assert outside["decision"] == "deny" and outside["rule"] == "write-outside-worktree"
    assert check(workspace_root, "--tool", "shell", "--command", "pytest -q") == {
        "decision": "allow",
        "rule": None,
        "reason": "",
    }
    plain = cockpit("guard", "check", "--tool", "shell", "--command", "sudo ls", cwd=workspace_root)
    assert plain.returncode == 0 and plain.stdout.startswith("deny (sudo): ")


def test_guard_check_bad_input_is_one_line(workspace_root: Path) -> None:
    done = cockpit("guard", "check", "--tool", "shell", "--path", "x", cwd=workspace_root)
    assert_one_line_error(done, "--tool shell needs --command")
    done = cockpit(
        "guard", "check", "--tool", "read", "--path", "x", "--repo", "nope", cwd=workspace_root
    )
    assert_one_line_error(done, "unknown repo 'nope'")


def test_guard_ledger_lists_decisions_and_counts_per_rule(workspace_root: Path) -> None:
    ws = open_workspace(workspace_root)

    async def record() -> None:
        async with open_engine(ws, listen=False) as engine:
            for outcome in ("refused", "refused", "allowed"):
                await engine._store.record_guard(
                    GuardRecord(
                        "r1",
                        utcnow(),
                        "Bash",
                        "shell",
                        "git push -f",
                        "force-push",
                        "deny",
                        outcome,
                    )
                )

    asyncio.run(record())
    done = cockpit("guard", "ledger", "--json", cwd=workspace_root)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [d["outcome"] for d in report["decisions"]] == ["refused", "refused", "allowed"]
    assert report["rules"] == {"force-push": {"refused": 2, "allowed": 1}}
    text = cockpit("guard", "ledger", cwd=workspace_root).stdout
    assert "force-push: 1 allowed, 2 refused" in text


def test_guard_override_lifts_a_rule_for_a_live_run(workspace_root: Path, write_scenario) -> None:
    ws = open_workspace(workspace_root)

    async def refused_then_interrupted() -> str:
        # The run's first call is refused; it then waits on a question, and the engine
        # stops: an interrupted run is still live (resumable), so it can be overridden.
        async with running_engine(ws) as engine:
            run = await engine.submit(
                "app", "escape", "scripted", write_scenario(ESCAPE_THEN_RETRY)
            )
            await wait_for_state(engine, run.id, RunState.WAITING_FOR_HUMAN)
            return run.id

    run_id = asyncio.run(refused_then_interrupted())
    done = cockpit("guard", "override", run_id, "sudo", cwd=workspace_root)
    assert_one_line_error(done, "rule 'sudo' refused nothing in run")
    done = cockpit("guard", "override", run_id, "write-outside-worktree", cwd=workspace_root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"{run_id}: write-outside-worktree lifted for the rest of the run (touch ../outside.txt)"
    )
    report = json.loads(cockpit("guard", "ledger", run_id, "--json", cwd=workspace_root).stdout)
    assert [(d["decision"], d["outcome"]) for d in report["decisions"]] == [
        ("deny", "refused"),
        ("override", "overridden"),
    ]
