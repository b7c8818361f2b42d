"""Decided runs through the real CLI: ``decision``, ``merge_sha``, ``decided_at`` in
``runs --json`` and ``show --json``, branch and worktree null once removed, the words of
``runs`` and ``show``, and runs decided over a day ago hidden unless ``--all``."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from clikit import cockpit, cockpit_json

from enginekit import git

WRITE = '[[step]]\nwrite = { path = "hello.txt", content = "hi\\n" }\n'


def finished_run(workspace_root: Path, write_scenario, scenario: str = WRITE) -> str:
    done = cockpit(
        "run", "app", "say hi", "--scenario", write_scenario(scenario), "--wait", "--json",
        cwd=workspace_root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["id"]


def by_id(workspace_root: Path, *args: str) -> dict[str, dict]:
    return {r["id"]: r for r in cockpit_json("runs", *args, cwd=workspace_root)}


def test_decision_fields_of_merged_rejected_nothing_to_merge_and_undecided(
    workspace_root: Path, write_scenario
) -> None:
    repo = workspace_root.parent / "repos" / "app"
    merged = finished_run(workspace_root, write_scenario)
    undecided = finished_run(workspace_root, write_scenario, WRITE.replace("hello", "other"))
    rejected = finished_run(workspace_root, write_scenario, WRITE.replace("hello", "third"))
    same = finished_run(workspace_root, write_scenario)  # what `merged` merges, again
    worktrees = {r: cockpit_json("show", r, cwd=workspace_root)["worktree"] for r in (merged,)}

    assert cockpit("approve", merged, cwd=workspace_root).returncode == 0
    merge_sha = git(repo, "rev-parse", "main").strip()
    assert cockpit("reject", rejected, cwd=workspace_root).returncode == 0
    done = cockpit("approve", same, cwd=workspace_root)
    assert done.returncode == 0 and "nothing to merge" in done.stdout, done.stdout

    runs = by_id(workspace_root)
    for run_id in (merged, undecided, rejected, same):
        shown = cockpit_json("show", run_id, cwd=workspace_root)
        assert shown == runs[run_id]  # both commands give the same object
        assert {"decision", "merge_sha", "decided_at"} <= shown.keys()

    assert runs[merged]["decision"] == "merged"
    assert runs[merged]["merge_sha"] == merge_sha
    assert runs[merged]["branch"] is None and runs[merged]["worktree"] is None
    assert not Path(worktrees[merged]).exists()

    assert runs[rejected]["decision"] == "rejected"
    assert runs[rejected]["merge_sha"] is None
    assert runs[rejected]["branch"] is None and runs[rejected]["worktree"] is None

    # Nothing to merge: approved, "merged" with the base commit that already had it.
    assert runs[same]["decision"] == "merged"
    assert runs[same]["merge_sha"] == merge_sha
    assert runs[same]["branch"] is None and runs[same]["worktree"] is None

    for run_id in (merged, rejected, same):
        decided = datetime.fromisoformat(runs[run_id]["decided_at"])
        assert abs(datetime.now(UTC) - decided) < timedelta(minutes=5)

    assert runs[undecided]["decision"] is None
    assert runs[undecided]["merge_sha"] is None and runs[undecided]["decided_at"] is None
    assert runs[undecided]["branch"] == f"cockpit/{undecided}"
    assert Path(runs[undecided]["worktree"]).is_dir()

    # The words: `runs` and `show` say what was decided, not "finished".
    table = cockpit("runs", cwd=workspace_root).stdout
    words = {line.split()[0]: line for line in table.splitlines()[1:]}
    assert "merged" in words[merged] and "finished" not in words[merged]
    assert "rejected" in words[rejected]
    assert "nothing to merge" in words[same]
    assert "finished" in words[undecided]
    shown = cockpit("show", same, cwd=workspace_root).stdout
    assert "nothing to merge" in shown
    assert "worktree:" not in shown and "branch:" not in shown
    assert f"merge_sha:        {merge_sha}" in shown


def _age_decision(workspace_root: Path, run_id: str, days: float) -> None:
    """Move the run's decision ``days`` into the past (as if made then)."""
    at = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="microseconds")
    with sqlite3.connect(workspace_root / ".cockpit" / "cockpit.db") as db:
        db.execute(
            "UPDATE events SET at = ?, data = json_set(data, '$.at', ?)"
            " WHERE run_id = ? AND type = 'review_decided'",
            (at, at, run_id),
        )


def test_runs_decided_over_a_day_ago_are_hidden_unless_all(
    workspace_root: Path, write_scenario
) -> None:
    old = finished_run(workspace_root, write_scenario)
    recent = finished_run(workspace_root, write_scenario, WRITE.replace("hello", "other"))
    undecided = finished_run(workspace_root, write_scenario, WRITE.replace("hello", "third"))
    assert cockpit("reject", old, cwd=workspace_root).returncode == 0
    assert cockpit("approve", recent, cwd=workspace_root).returncode == 0
    _age_decision(workspace_root, old, days=1.5)
    _age_decision(workspace_root, recent, days=0.5)

    assert set(by_id(workspace_root)) == {recent, undecided}
    assert set(by_id(workspace_root, "--all")) == {old, recent, undecided}
    table = cockpit("runs", cwd=workspace_root).stdout
    assert old not in table and recent in table
    assert "1 run decided over a day ago not shown; --all shows them" in table
    assert old in cockpit("runs", "--all", cwd=workspace_root).stdout
    # `show` still finds it, with its decision.
    assert cockpit_json("show", old, cwd=workspace_root)["decision"] == "rejected"
