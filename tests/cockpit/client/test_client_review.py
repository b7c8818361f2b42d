"""The contract of a client's review: the diff of a run (its worktree now, its branch,
its turns), approve and its refusals, reject, taking parts out, and whether the base
already has a run's changes; the gates a review checks, and the repo's checkout."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from clientkit import (
    TWO_FILES_AND_AN_EDIT,
    WRITE_HELLO,
    refused,
    run_to_end,
)

from cockpit.client import EngineClient
from engine.domain.errors import BadInput, ReviewRefused, UnknownRepo, UnknownRun
from engine.domain.gates import GateStatus
from engine.domain.review import WHOLE_RUN, Span

Scenario = Callable[[str], str]


def files_of(patch: str) -> list[str]:
    """The paths a diff text touches, in order (``diff --git a/X b/X``)."""
    return [line.split(" b/", 1)[1] for line in patch.splitlines() if line.startswith("diff --git")]


async def test_worktree_diff_shows_a_worktree_as_it_is_now(
    client: EngineClient, scenario: Scenario
) -> None:
    run = await run_to_end(client, scenario(WRITE_HELLO))
    assert run.worktree is not None and run.base_sha is not None
    worktree = Path(run.worktree)
    diff = await client.worktree_diff(worktree, run.base_sha)
    assert [(f.path, f.status, f.added, f.removed) for f in diff.files] == [
        ("hello.txt", "A", 1, 0)
    ]
    assert "+hi from the agent" in diff.files[0].patch
    (worktree / "notes.txt").write_text("an untracked note\nof two lines\n")
    (worktree / "README.md").write_text("# rewritten\n")
    diff = await client.worktree_diff(worktree, run.base_sha)
    assert [(f.path, f.status) for f in diff.files] == [
        ("README.md", "M"),
        ("hello.txt", "A"),
        ("notes.txt", "A"),
    ]
    assert (diff.file_count, diff.added) == (3, 4)


async def test_review_patch_shows_the_whole_run_or_its_turns(
    client: EngineClient, scenario: Scenario
) -> None:
    run = await run_to_end(client, scenario(TWO_FILES_AND_AN_EDIT))
    assert run.turns_completed == 3
    shown, whole = await client.review_patch(run.id)
    assert shown.id == run.id
    assert files_of(whole) == ["README.md", "a.txt", "b.txt"]
    assert "+# app, improved" in whole
    assert (await client.review_patch(run.id[:6], WHOLE_RUN))[1] == whole
    assert files_of((await client.review_patch(run.id, Span((1, 1))))[1]) == ["a.txt"]
    assert files_of((await client.review_patch(run.id, Span((2, 3))))[1]) == [
        "README.md",
        "b.txt",
    ]
    # Given the run as the caller knows it, the same diff.
    assert (await client.review_patch(run.id, WHOLE_RUN, known=run))[1] == whole
    with refused(BadInput, 2, "has turns 1–3"):
        await client.review_patch(run.id, Span((2, 4)))
    with refused(UnknownRun, 2):
        await client.review_patch("zzzzzzzz")


async def test_revert_parts_takes_rejected_hunks_and_files_out_of_the_branch(
    client: EngineClient, scenario: Scenario
) -> None:
    run = await run_to_end(client, scenario(TWO_FILES_AND_AN_EDIT))
    _, whole = await client.review_patch(run.id)
    readme = next(p for p in whole.split("diff --git")[1:] if "README.md" in p.split("\n")[0])
    assert await client.revert_parts(run.id, [], [], "nothing") is None
    sha = await client.revert_parts(
        run.id, ["diff --git" + readme], ["b.txt"], "1 hunk in README.md, b.txt"
    )
    assert isinstance(sha, str) and len(sha) == 40
    _, after = await client.review_patch(run.id)
    assert files_of(after) == ["a.txt"]
    assert not (Path(run.worktree or "") / "b.txt").exists()
    with refused(UnknownRun, 2):
        await client.revert_parts("zzzzzzzz", [], ["a.txt"], "a.txt")


async def test_approve_merges_and_the_base_checkout_follows(
    client: EngineClient, scenario: Scenario, repos: dict[str, Path]
) -> None:
    run = await run_to_end(client, scenario(WRITE_HELLO))
    before = await client.repo_status(repos["app"])
    assert (before.branch, before.head_sha, before.clean) == ("main", run.base_sha, True)
    assert not await client.already_merged(run)
    approval = await client.approve(run.id[:6], squash=True)
    assert (approval.run_id, approval.base, approval.squash) == (run.id, "main", True)
    assert approval.merged and approval.gates_overridden == []
    after = await client.repo_status(repos["app"])
    assert (after.branch, after.head_sha, after.clean) == ("main", approval.sha, True)
    assert (repos["app"] / "hello.txt").read_text() == "hi from the agent\n"
    decided = await client.resolve_run(run.id)
    assert (decided.decision, decided.merge_sha) == ("merged", approval.sha)
    assert not await client.already_merged(decided)  # decided: nothing left to merge
    # A decided run's review shows its last snapshot.
    assert files_of((await client.review_patch(run.id))[1]) == ["hello.txt"]
    with refused(BadInput, 2, "already approved"):
        await client.approve(run.id)
    with refused(BadInput, 2, "already approved"):
        await client.reject(run.id)
    with refused(UnknownRun, 2):
        await client.approve("zzzzzzzz")


async def test_a_dirty_base_checkout_refuses_approval_with_exit_code_1(
    client: EngineClient, scenario: Scenario, repos: dict[str, Path]
) -> None:
    run = await run_to_end(client, scenario(WRITE_HELLO))
    readme = repos["app"] / "README.md"
    original = readme.read_text()
    readme.write_text("edited, not committed\n")
    status = await client.repo_status(repos["app"])
    assert not status.clean and [path for _, path in status.dirty] == ["README.md"]
    with refused(ReviewRefused, 1, r"uncommitted changes \(README\.md\)"):
        await client.approve(run.id)
    assert (await client.repo_status(repos["app"])).head_sha == run.base_sha  # nothing moved
    undecided = await client.resolve_run(run.id)
    assert undecided.decision is None
    readme.write_text(original)
    approval = await client.approve(run.id)
    assert not approval.squash  # the repo's setting: a merge commit
    assert (await client.repo_status(repos["app"])).head_sha == approval.sha


async def test_red_blocking_gates_refuse_approval_unless_overridden(
    client: EngineClient, scenario: Scenario, repos: dict[str, Path]
) -> None:
    path = scenario('[[step]]\nwrite = { path = "blocked.txt", content = "no\\n" }\n')
    run = await run_to_end(client, path, repo="lib")
    tree, results = await client.check_gates(run.id)
    assert tree == Path(run.worktree or "")
    gate = next(r for r in results if r.name == "no-blocked")
    assert gate.status is GateStatus.FAILED and gate.holds_back
    with refused(ReviewRefused, 1, r"blocking gates are red \(no-blocked\)"):
        await client.approve(run.id)
    assert (await client.repo_status(repos["lib"])).head_sha == run.base_sha
    approval = await client.approve(run.id, override_gates=True)
    assert approval.gates_overridden == ["no-blocked"] and approval.merged
    assert (await client.repo_status(repos["lib"])).head_sha == approval.sha


async def test_reject_saves_the_work_and_decides_the_run(
    client: EngineClient, scenario: Scenario, repos: dict[str, Path]
) -> None:
    run = await run_to_end(client, scenario(WRITE_HELLO))
    saved = await client.reject(run.id)
    assert saved.is_absolute() and "hi from the agent" in (saved / "changes.patch").read_text()
    assert not Path(run.worktree or "").exists()
    decided = await client.resolve_run(run.id)
    assert decided.decision == "rejected" and decided.merge_sha is None
    assert (await client.repo_status(repos["app"])).head_sha == run.base_sha
    assert not (repos["app"] / "hello.txt").exists()
    with refused(BadInput, 2, "already rejected"):
        await client.reject(run.id)
    with refused(BadInput, 2, "already rejected"):
        await client.approve(run.id)
    with refused(UnknownRun, 2):
        await client.reject("zzzzzzzz")


async def test_already_merged_when_the_base_has_every_change(
    client: EngineClient, scenario: Scenario
) -> None:
    idle = await run_to_end(client, scenario('[[step]]\nsay = "nothing to change"\n'))
    busy = await run_to_end(client, scenario(WRITE_HELLO))
    assert await client.already_merged(idle)
    assert not await client.already_merged(busy)
    approval = await client.approve(idle.id)
    assert not approval.merged and approval.sha == idle.base_sha


async def test_gate_names_and_check_gates_on_a_repo(
    client: EngineClient, repos: dict[str, Path]
) -> None:
    assert await client.gate_names("lib") == ["no-blocked"]
    assert await client.gate_names("app") == []  # none configured, no pyproject.toml
    tree, results = await client.check_gates("lib")
    assert tree == repos["lib"]
    assert [(r.name, r.status, r.blocking) for r in results] == [
        ("no-blocked", GateStatus.PASSED, True)
    ]
    (repos["lib"] / "blocked.txt").write_text("now it is\n")  # the working tree, untracked too
    _, results = await client.check_gates("lib")
    assert [(r.name, r.status) for r in results] == [("no-blocked", GateStatus.FAILED)]
    with refused(UnknownRepo, 2, "neither a repo"):
        await client.check_gates("nope")
    with refused(UnknownRepo, 2):
        await client.gate_names("nope")


async def test_repo_status_of_a_checkout(client: EngineClient, repos: dict[str, Path]) -> None:
    status = await client.repo_status(repos["lib"])
    assert (status.branch, status.upstream, status.ahead, status.behind) == ("main", None, 0, 0)
    assert status.head_sha is not None and len(status.head_sha) == 40 and status.clean
    (repos["lib"] / "new.txt").write_text("untracked\n")
    status = await client.repo_status(repos["lib"])
    assert status.dirty == [("??", "new.txt")] and status.untracked == 1
