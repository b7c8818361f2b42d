"""Nothing half-made: a run that ends before its agent starts leaves no worktree or
branch of its own, and what a run stores is masked where the store writes it."""

from __future__ import annotations

from pathlib import Path

from engine.adapters.store.sqlite import SqliteRunStore
from engine.domain.guard import GuardRecord
from engine.domain.models import Run, utcnow
from engine.domain.state import RunState
from engine.workspace import Workspace
from enginekit import git, running_engine, wait_for_state

WRITE = '[[step]]\nwrite = { path = "hello.txt", content = "hi\\n" }\n'
TOKEN = "ghp_" + "a1B2c3D4e5" * 4


async def test_a_run_failing_before_its_agent_starts_leaves_no_worktree(
    workspace: Workspace, scenario
) -> None:
    repo = workspace.repo_path("app")
    # The base commit holds a malformed skill, the checkout a fixed one: the submission
    # (judged on the checkout) passes, the run (on its worktree of the base) fails.
    skill = repo / ".claude" / "skills" / "broken" / "SKILL.md"
    skill.parent.mkdir(parents=True)
    skill.write_text("no front matter\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a broken skill")
    skill.write_text("---\nname: broken\ndescription: fixed, not committed\n---\nbody\n")
    async with running_engine(workspace) as engine:
        run = await engine.submit("app", "task", "scripted", scenario(WRITE))
        run = await wait_for_state(engine, run.id, RunState.FAILED, RunState.FINISHED)
    assert run.state is RunState.FAILED
    assert "no front matter" in (run.error or "")
    assert run.worktree is None
    assert not (workspace.worktrees_dir / "app" / run.id).exists()
    assert git(repo, "branch", "--list", f"cockpit/{run.id}") == ""
    assert f"cockpit/{run.id}" not in git(repo, "worktree", "list")


async def test_the_store_masks_free_text_where_it_writes_it(tmp_path: Path) -> None:
    store = SqliteRunStore(tmp_path / "cockpit.db")
    await store.open()
    try:
        run = Run(id="r1", repo="app", task=f"use {TOKEN}", agent="scripted")
        await store.insert_run(run)
        run.error = f"push failed for {TOKEN}"
        await store.save_run(run)
        await store.add_steering("r1", f"try {TOKEN} again")
        await store.record_guard(
            GuardRecord(
                "r1", utcnow(), "Bash", "shell", f"curl {TOKEN}", "secrets", "deny", "refused",
                f"{TOKEN} is a token",
            )
        )  # fmt: skip
        stored = await store.get_run("r1")
        assert stored is not None
        assert (stored.task, stored.error) == ("use [redacted]", "push failed for [redacted]")
        assert [m.text for m in await store.pending_steering("r1")] == ["try [redacted] again"]
        (row,) = await store.guard_ledger("r1")
        assert (row.action, row.reason) == ("curl [redacted]", "[redacted] is a token")
    finally:
        await store.close()
    for path in tmp_path.glob("cockpit.db*"):
        assert TOKEN.encode() not in path.read_bytes(), path.name


async def test_the_reserve_is_kept_aside_and_given_back(tmp_path: Path) -> None:
    store = SqliteRunStore(tmp_path / "cockpit.db")
    await store.open()
    try:
        assert store.reserve_path.stat().st_size == 256 * 1024
        assert await store.release_reserve()
        assert not store.reserve_path.exists()
        assert not await store.release_reserve()  # none left until the next open
    finally:
        await store.close()
    await store.open()  # made again where there is room
    await store.close()
    assert store.reserve_path.exists()
