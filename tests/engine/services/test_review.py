"""Approve and reject, on real runs of the scripted agent in real repos: the merge lands
on the base branch (a merge commit or a squash, the checkout fast-forwarded when clean),
and every refusal — a conflict, a dirty checkout, red gates — leaves both branches, the
index and the files exactly as they were."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from engine.bootstrap import open_engine
from engine.domain.errors import BadInput, ReviewRefused
from engine.domain.events import AgentText, ReviewDecided, RunStateChanged
from engine.domain.review import comments_message
from engine.domain.state import RunState
from engine.services.review import (
    Span,
    approve,
    reject,
    revert_parts,
    review_patch,
)
from engine.workspace import Workspace, open_workspace
from enginekit import git, running_engine, wait_for_state

WRITE_HELLO = '[[step]]\nwrite = { path = "hello.txt", content = "hi from the agent\\n" }\n'


async def finished_run(ws: Workspace, scenario: Callable[..., str], text: str = WRITE_HELLO):
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "say hello", "scripted", scenario(text))
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED)
    assert run.state is RunState.FINISHED, run.error
    return run


def snapshot(repo: Path) -> tuple[str, str, str]:
    """Every ref, the index and the working tree's status of ``repo``."""
    return (
        git(repo, "for-each-ref", "--format=%(refname) %(objectname)"),
        git(repo, "ls-files", "--stage"),
        git(repo, "status", "--porcelain", "--untracked-files=all"),
    )


@pytest.fixture
def repo(workspace_root: Path) -> Path:
    return workspace_root.parent / "repos" / "app"


@pytest.mark.parametrize("squash", [False, True])
async def test_approve_merges_into_the_checked_out_base_and_cleans_up(
    workspace_root: Path, scenario, repo: Path, squash: bool
) -> None:
    ws = open_workspace(workspace_root)
    run = await finished_run(ws, scenario)
    async with open_engine(ws, listen=False) as engine:
        done = await approve(engine, run.id, squash=squash)
        events = await engine._store.events_for(run.id)
    assert git(repo, "rev-parse", "main").strip() == done.sha
    parents = git(repo, "rev-list", "--parents", "-n1", "main").split()[1:]
    assert len(parents) == (1 if squash else 2)
    # main is checked out and was clean: the files and index follow the merge.
    assert (repo / "hello.txt").read_text() == "hi from the agent\n"
    assert git(repo, "status", "--porcelain") == ""
    message = git(repo, "log", "-1", "--format=%B", "main")
    assert run.id in message and "say hello" in message
    decided = [e for e in events if isinstance(e, ReviewDecided)]
    assert [(e.decision, e.sha, e.squash) for e in decided] == [("approved", done.sha, squash)]
    assert not Path(run.worktree or "").exists()
    assert git(repo, "branch", "--list", run.branch) == ""
    async with open_engine(ws, listen=False) as engine:
        with pytest.raises(BadInput, match="already approved"):
            await approve(engine, run.id)


async def test_a_base_not_checked_out_moves_without_touching_the_checkout(
    workspace_root: Path, scenario, repo: Path
) -> None:
    ws = open_workspace(workspace_root)
    run = await finished_run(ws, scenario)
    git(repo, "switch", "-q", "-c", "elsewhere")
    (repo / "notes.txt").write_text("the user's own uncommitted work\n")
    async with open_engine(ws, listen=False) as engine:
        done = await approve(engine, run.id)
    assert git(repo, "rev-parse", "main").strip() == done.sha
    assert git(repo, "branch", "--show-current").strip() == "elsewhere"
    assert not (repo / "hello.txt").exists()  # not this checkout's branch
    assert (repo / "notes.txt").exists()


async def test_a_conflict_is_found_before_anything_moves(
    workspace_root: Path, scenario, repo: Path
) -> None:
    ws = open_workspace(workspace_root)
    run = await finished_run(ws, scenario)
    (repo / "hello.txt").write_text("the human wrote this first\n")
    git(repo, "add", "hello.txt")
    git(repo, "commit", "-qm", "a hello of our own")
    before = snapshot(repo)
    async with open_engine(ws, listen=False) as engine:
        with pytest.raises(ReviewRefused, match=r"conflicts in hello\.txt; nothing was changed"):
            await approve(engine, run.id)
        events = await engine._store.events_for(run.id)
    assert snapshot(repo) == before
    assert Path(run.worktree or "").is_dir()  # the run's work is all still there
    assert not any(isinstance(e, ReviewDecided) for e in events)


async def test_a_dirty_checkout_of_the_base_refuses(
    workspace_root: Path, scenario, repo: Path
) -> None:
    ws = open_workspace(workspace_root)
    run = await finished_run(ws, scenario)
    (repo / "README.md").write_text("edited, not committed\n")
    before = snapshot(repo)
    async with open_engine(ws, listen=False) as engine:
        with pytest.raises(ReviewRefused, match=r"uncommitted changes \(README\.md\)"):
            await approve(engine, run.id)
    assert snapshot(repo) == before


async def test_red_blocking_gates_refuse_unless_overridden_which_is_recorded(
    workspace_root: Path, scenario, repo: Path
) -> None:
    config = workspace_root / "cockpit.toml"
    config.write_text(
        config.read_text()
        + '\n[[repos.app.gates]]\nname = "no-hello"\nkind = "command"\nwhen = "manual"\n'
        'command = "test ! -e hello.txt"\n'
    )
    ws = open_workspace(workspace_root)
    run = await finished_run(ws, scenario)
    before = snapshot(repo)
    async with open_engine(ws, listen=False) as engine:
        with pytest.raises(ReviewRefused, match=r"blocking gates are red \(no-hello\)"):
            await approve(engine, run.id)
        assert snapshot(repo) == before
        done = await approve(engine, run.id, override_gates=True)
        events = await engine._store.events_for(run.id)
    assert done.gates_overridden == ["no-hello"]
    decided = next(e for e in events if isinstance(e, ReviewDecided))
    assert decided.gates_overridden == ["no-hello"]
    assert "Gates overridden at approval: no-hello" in git(repo, "log", "-1", "--format=%B")


async def test_reject_saves_the_work_and_removes_worktree_and_branch(
    workspace_root: Path, scenario, repo: Path
) -> None:
    ws = open_workspace(workspace_root)
    run = await finished_run(ws, scenario)
    main_before = git(repo, "rev-parse", "main")
    async with open_engine(ws, listen=False) as engine:
        saved = await reject(engine, run.id)
        events = await engine._store.events_for(run.id)
        with pytest.raises(BadInput, match="already rejected"):
            await reject(engine, run.id)
    assert saved.is_absolute() and "hi from the agent" in (saved / "changes.patch").read_text()
    assert (saved / "branch.bundle").exists()
    assert not Path(run.worktree or "").exists()
    assert git(repo, "branch", "--list", run.branch) == ""
    assert git(repo, "rev-parse", "main") == main_before
    decided = next(e for e in events if isinstance(e, ReviewDecided))
    assert (decided.decision, decided.salvage) == ("rejected", str(saved))


async def test_only_a_finished_run_can_be_decided(workspace_root: Path, scenario) -> None:
    ws = open_workspace(workspace_root)
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "ask", "scripted", scenario('[[step]]\nask = "ok?"\n'))
        await wait_for_state(engine, run.id, RunState.WAITING_FOR_HUMAN)
        with pytest.raises(BadInput, match="is waiting for human; only a finished run"):
            await approve(engine, run.id)


TWO_FILES = (
    '[[step]]\nwrite = { path = "a.txt", content = "one\\ntwo\\nthree\\n" }\n'
    '[[step]]\nwrite = { path = "b.txt", content = "bee\\n" }\n'
    '[[step]]\nedit = { path = "README.md", old = "# app", new = "# app, improved" }\n'
)


async def test_rejected_parts_are_reverted_in_one_commit_that_says_so(
    workspace_root: Path, scenario, repo: Path
) -> None:
    ws = open_workspace(workspace_root)
    run = await finished_run(ws, scenario, TWO_FILES)
    async with open_engine(ws, listen=False) as engine:
        _, text = await review_patch(engine, run.id)
        readme = next(p for p in text.split("diff --git")[1:] if "README.md" in p.split("\n")[0])
        sha = await revert_parts(
            engine, run.id, ["diff --git" + readme], ["b.txt"], "1 hunk in README.md, b.txt"
        )
        _, after = await review_patch(engine, run.id)
    assert sha is not None
    branch = run.branch
    assert git(repo, "log", "-1", "--format=%s", branch).strip() == (
        "Review: rejected 1 hunk in README.md, b.txt"
    )
    assert git(repo, "show", f"{branch}:README.md") == "# app\n"
    assert "b.txt" not in git(repo, "ls-tree", "--name-only", branch)
    assert git(repo, "show", f"{branch}:a.txt") == "one\ntwo\nthree\n"  # accepted: kept
    assert "README.md" not in after and "b.txt" not in after and "a.txt" in after


async def test_a_turn_span_shows_only_that_turns_changes(workspace_root: Path, scenario) -> None:
    ws = open_workspace(workspace_root)
    run = await finished_run(ws, scenario, TWO_FILES)
    async with open_engine(ws, listen=False) as engine:
        _, second = await review_patch(engine, run.id, Span((2, 2)))
        _, first_two = await review_patch(engine, run.id, Span((1, 2)))
        with pytest.raises(BadInput, match="has turns 1–3"):
            await review_patch(engine, run.id, Span((4, 4)))
    assert "b.txt" in second and "a.txt" not in second and "README" not in second
    assert "a.txt" in first_two and "b.txt" in first_two and "README" not in first_two


async def test_comments_send_a_finished_run_back_to_its_agent(
    workspace_root: Path, scenario
) -> None:
    ws = open_workspace(workspace_root)
    run = await finished_run(ws, scenario)
    message = comments_message([("hello.txt", 1, "say hello properly"), ("x.py", None, "why?")])
    assert message.splitlines()[1:] == ["- hello.txt:1: say hello properly", "- x.py: why?"]
    async with running_engine(ws) as engine:
        await engine.send_back(run.id, message)
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED)
        events = await engine._store.events_for(run.id)
    said = [e.text for e in events if isinstance(e, AgentText)]
    assert said[-1] == f"Noted: {message}"
    states = [e.reason for e in events if isinstance(e, RunStateChanged)]
    assert "sent back with review comments" in states
