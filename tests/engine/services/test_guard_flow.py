"""The guard's human side, through the engine with the scripted agent (which asks the
guard before each tool call like every backend): a permission ask with its three
answers, the ask's timeout, the one-key override of a refusal, per-repo rules, and the
guard's decisions as events."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.domain.errors import BadInput
from engine.domain.events import GuardDecided, HumanAsked, SteeringDelivered, ToolCallFinished
from engine.domain.guard import ALLOW_FOR_RUN, PERMISSION_CHOICES, read_permission
from engine.domain.state import RunState
from engine.workspace import Workspace, open_workspace
from enginekit import (
    ASK_TOUCH,
    ESCAPE_THEN_RETRY,
    TWO_TOUCHES,
    running_engine,
    wait_for_state,
)


def with_config(root: Path, extra: str) -> Workspace:
    config = root / "cockpit.toml"
    config.write_text(config.read_text() + extra)
    return open_workspace(root)


async def asked(engine, run_id: str, nth: int = 1) -> HumanAsked:
    """The run's ``nth`` question, once it waits on it."""
    for _ in range(400):
        run = await wait_for_state(engine, run_id, RunState.WAITING_FOR_HUMAN)
        events = await engine._store.events_for(run_id)
        questions = [e for e in events if isinstance(e, HumanAsked)]
        if len(questions) >= nth and run.state is RunState.WAITING_FOR_HUMAN:
            return questions[nth - 1]
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} never asked question {nth}")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("allow once", ("once", "allowed by the human")),
        ("yes", ("once", "allowed by the human")),
        ("Yes, go ahead", ("once", "allowed by the human")),
        (ALLOW_FOR_RUN, ("run", "allowed for the rest of this run by the human")),
        ("always", ("run", "allowed for the rest of this run by the human")),
        ("deny", ("deny", "refused by the human")),
        (
            "deny: use the fixture instead",
            ("deny", "refused by the human: use the fixture instead"),
        ),
        ("no, not that", ("deny", "refused by the human: not that")),
        ("you should not touch that", ("deny", "refused by the human: you should not touch that")),
    ],
)
def test_permission_answers_are_read_by_their_first_word(
    answer: str, expected: tuple[str, str]
) -> None:
    assert read_permission(answer) == expected


async def test_allow_always_lets_the_rule_through_for_the_rest_of_the_run(
    workspace_root: Path, scenario: Callable[..., str]
) -> None:
    ws = with_config(workspace_root, ASK_TOUCH)
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "touch two files", "scripted", scenario(TWO_TOUCHES))
        question = await asked(engine, run.id)
        assert question.kind == "permission" and question.choices == PERMISSION_CHOICES
        assert "touch one.txt" in question.question
        await engine.steer(run.id, ALLOW_FOR_RUN)
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED)
        ledger = await engine._store.guard_ledger(run.id)
        events = await engine._store.events_for(run.id)
    assert run.state is RunState.FINISHED, run.error
    worktree = ws.worktrees_dir / "app" / run.id
    assert (worktree / "one.txt").exists() and (worktree / "two.txt").exists()
    # Asked once only: the second touch went through on the earlier answer.
    assert sum(isinstance(e, HumanAsked) for e in events) == 1
    assert [(r.rule, r.decision, r.outcome, r.action) for r in ledger] == [
        ("ask-touch", "override", "overridden", "touch one.txt"),
        ("ask-touch", "ask", "allowed", "touch one.txt"),
        ("ask-touch", "ask", "allowed", "touch two.txt"),
    ]
    decided = [e for e in events if isinstance(e, GuardDecided)]
    assert [(e.rule, e.outcome) for e in decided] == [("ask-touch", "allowed")] * 2


async def test_allow_once_asks_again_and_deny_tells_the_agent_why(
    workspace_root: Path, scenario: Callable[..., str]
) -> None:
    ws = with_config(workspace_root, ASK_TOUCH)
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "touch two files", "scripted", scenario(TWO_TOUCHES))
        await asked(engine, run.id)
        await engine.steer(run.id, "allow once")
        second = await asked(engine, run.id, 2)
        assert "touch two.txt" in second.question
        await engine.steer(run.id, "deny: keep the tree clean")
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED)
        events = await engine._store.events_for(run.id)
        ledger = await engine._store.guard_ledger(run.id)
    worktree = ws.worktrees_dir / "app" / run.id
    assert (worktree / "one.txt").exists() and not (worktree / "two.txt").exists()
    refused = [e for e in events if isinstance(e, ToolCallFinished) and e.is_error]
    assert len(refused) == 1
    assert "ask-touch" in refused[0].output and "keep the tree clean" in refused[0].output
    assert [r.outcome for r in ledger] == ["allowed", "refused"]


async def test_an_unanswered_ask_is_refused_after_the_timeout(
    workspace_root: Path, scenario: Callable[..., str]
) -> None:
    ws = with_config(workspace_root, ASK_TOUCH + "\n[guard]\nask_timeout = 0.5\n")
    async with running_engine(ws) as engine:
        run = await engine.submit(
            "app", "touch a file", "scripted", scenario('[[step]]\nrun = "touch one.txt"\n')
        )
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED)
        events = await engine._store.events_for(run.id)
        ledger = await engine._store.guard_ledger(run.id)
    assert run.state is RunState.FINISHED, run.error
    assert not (ws.worktrees_dir / "app" / run.id / "one.txt").exists()
    assert [(r.decision, r.outcome) for r in ledger] == [("ask", "refused")]
    assert "no answer from the human in 0.5s" in ledger[0].reason
    result = next(e for e in events if isinstance(e, ToolCallFinished))
    assert result.is_error and "no answer from the human" in result.output


async def test_an_override_lifts_a_refusing_rule_and_tells_the_agent(
    workspace_root: Path, scenario: Callable[..., str]
) -> None:
    ws = open_workspace(workspace_root)
    outside = ws.worktrees_dir / "app" / "outside.txt"
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "escape", "scripted", scenario(ESCAPE_THEN_RETRY))
        await wait_for_state(engine, run.id, RunState.WAITING_FOR_HUMAN)
        assert not outside.exists()
        with pytest.raises(BadInput, match="rule 'sudo' refused nothing"):
            await engine.override_guard(run.id, "sudo")
        record = await engine.override_guard(run.id, "write-outside-worktree")
        assert (record.decision, record.outcome, record.action) == (
            "override",
            "overridden",
            "touch ../outside.txt",
        )
        await engine.steer(run.id, "yes")
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED)
        ledger = await engine._store.guard_ledger(run.id)
        counts = await engine._store.guard_counts()
        events = await engine._store.events_for(run.id)
        with pytest.raises(BadInput, match="nothing left to allow"):
            await engine.override_guard(run.id, "write-outside-worktree")
    # The override let the second attempt through the guard, to the kernel's floor: the
    # sandbox refused the write all the same, and the agent was told why.
    assert not outside.exists()
    results = [e for e in events if isinstance(e, ToolCallFinished)]
    assert "Read-only file system" in results[-1].output, results[-1].output
    assert [(r.decision, r.outcome) for r in ledger] == [
        ("deny", "refused"),
        ("override", "overridden"),
        ("deny", "allowed"),
    ]
    assert counts["write-outside-worktree"] == {"refused": 1, "overridden": 1, "allowed": 1}
    told = [e.text for e in events if isinstance(e, SteeringDelivered)]
    assert any("lifted the guard rule 'write-outside-worktree'" in t for t in told), told


async def test_a_repos_own_rules_come_before_the_workspaces(
    workspace_root: Path, scenario: Callable[..., str]
) -> None:
    ws = with_config(
        workspace_root,
        '\n[[repos.lib.guard.rules]]\nname = "lib-no-touch"\ndecision = "deny"\n'
        'command = "^touch "\nreason = "lib is read-only"\n'
        '\n[repos.app.guard]\ndisable = ["write-outside-worktree"]\n',
    )
    steps = '[[step]]\nrun = "touch here.txt"\n'
    async with running_engine(ws) as engine:
        lib_run = await engine.submit("lib", "touch", "scripted", scenario(steps, "lib.toml"))
        app_run = await engine.submit("app", "touch", "scripted", scenario(steps, "app.toml"))
        lib_run = await wait_for_state(engine, lib_run.id, RunState.FINISHED, RunState.FAILED)
        app_run = await wait_for_state(engine, app_run.id, RunState.FINISHED, RunState.FAILED)
        lib_ledger = await engine._store.guard_ledger(lib_run.id)
        app_ledger = await engine._store.guard_ledger(app_run.id)
        app_policy = engine.policy_for("app", ws.repo_path("app"))
    assert [(r.rule, r.outcome) for r in lib_ledger] == [("lib-no-touch", "refused")]
    assert app_ledger == []
    assert not (ws.worktrees_dir / "lib" / lib_run.id / "here.txt").exists()
    assert (ws.worktrees_dir / "app" / app_run.id / "here.txt").exists()
    assert "write-outside-worktree" in app_policy.disabled
