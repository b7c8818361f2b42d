"""``cockpit approve`` and ``cockpit reject`` through the real CLI, as scripts use them:
the exit codes, the one-line refusals, and the salvage path on reject's last line."""

from __future__ import annotations

import json
from pathlib import Path

from clikit import assert_one_line_error, cockpit

from enginekit import git

WRITE = '[[step]]\nwrite = { path = "hello.txt", content = "hi\\n" }\n'


def finished_run(workspace_root: Path, write_scenario, scenario: str = WRITE) -> str:
    done = cockpit(
        "run", "app", "say hi", "--scenario", write_scenario(scenario), "--wait", "--json",
        cwd=workspace_root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["id"]


def test_approve_prints_the_merge_and_json_gives_its_fields(
    workspace_root: Path, write_scenario
) -> None:
    repo = workspace_root.parent / "repos" / "app"
    first = finished_run(workspace_root, write_scenario)
    done = cockpit("approve", first, cwd=workspace_root)
    assert done.returncode == 0, done.stderr
    sha = git(repo, "rev-parse", "main").strip()
    assert done.stdout.strip() == f"run {first} merged into main as {sha[:12]}"
    other = WRITE.replace("hello.txt", "other.txt")
    second = finished_run(workspace_root, write_scenario, other)
    report = json.loads(cockpit("approve", second, "--squash", "--json", cwd=workspace_root).stdout)
    assert report == {
        "run": second,
        "base": "main",
        "sha": git(repo, "rev-parse", "main").strip(),
        "squash": True,
        "gates_overridden": [],
        "merged": True,
    }
    assert len(git(repo, "rev-list", "--parents", "-n1", "main").split()) == 2  # squashed
    # The same file again: main already has it, so no empty merge commit is made.
    third = finished_run(workspace_root, write_scenario)
    head = git(repo, "rev-parse", "main")
    done = cockpit("approve", third, cwd=workspace_root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"run {third}: main already has its changes; nothing to merge"
    assert git(repo, "rev-parse", "main") == head
    assert_one_line_error(cockpit("approve", first, cwd=workspace_root), "already approved")
    assert_one_line_error(cockpit("approve", "nope", cwd=workspace_root), "no run 'nope'")


def test_a_conflict_exits_1_with_one_line_naming_the_files(
    workspace_root: Path, write_scenario
) -> None:
    repo = workspace_root.parent / "repos" / "app"
    run_id = finished_run(workspace_root, write_scenario)
    (repo / "hello.txt").write_text("ours\n")
    git(repo, "add", "hello.txt")
    git(repo, "commit", "-qm", "ours")
    head = git(repo, "rev-parse", "main")
    done = cockpit("approve", run_id, cwd=workspace_root)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stderr.strip().splitlines() == [
        f"cockpit: run {run_id}: merging cockpit/{run_id} into main conflicts in hello.txt;"
        " nothing was changed"
    ]
    assert git(repo, "rev-parse", "main") == head


def test_reject_prints_the_salvage_path_alone_on_its_last_line(
    workspace_root: Path, write_scenario
) -> None:
    run_id = finished_run(workspace_root, write_scenario)
    done = cockpit("reject", run_id, cwd=workspace_root)
    assert done.returncode == 0, done.stderr
    last = Path(done.stdout.strip().splitlines()[-1])
    assert last.is_absolute() and (last / "changes.patch").is_file()
    other = finished_run(workspace_root, write_scenario)
    report = json.loads(cockpit("reject", other, "--json", cwd=workspace_root).stdout)
    assert list(report) == ["salvage"] and Path(report["salvage"]).is_dir()
