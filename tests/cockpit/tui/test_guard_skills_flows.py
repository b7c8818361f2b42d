"""The guard and skills in the cockpit, driven by keys: a permission answered from the
inbox in one key, a run's guard ledger with a count per rule and the one-key override,
and the skills a run loaded (its header, ``/skills``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pilotkit import SIZE, header_text, make_app, ready, start_run, state_of, until, view_of
from textual.widgets import Input, OptionList, Static

from cockpit.tui.screens.guard import GuardScreen
from cockpit.tui.screens.inbox import InboxScreen
from cockpit.tui.screens.skills import SkillsScreen
from engine.bootstrap import open_engine
from engine.domain.state import RunState
from engine.workspace import Workspace, open_workspace
from enginekit import ASK_TOUCH, ESCAPE_THEN_RETRY, TWO_TOUCHES, git


async def open_first_inbox_item(pilot) -> None:
    await pilot.press("i")
    await until(pilot, lambda: isinstance(pilot.app.screen, InboxScreen))
    await pilot.press("1")
    await until(pilot, lambda: pilot.app.screen.query_one("#inbox-choices", OptionList).display)


async def ledger_of(ws: Workspace, run_id: str):
    async with open_engine(ws, listen=False) as engine:
        return await engine.guard_ledger(run_id)


@pytest.mark.parametrize(("key", "made_both"), [("a", True), ("y", False)])
async def test_a_permission_is_answered_in_the_inbox_with_one_key(
    workspace_root: Path, scenario, key: str, made_both: bool
) -> None:
    config = workspace_root / "cockpit.toml"
    config.write_text(config.read_text() + ASK_TOUCH + "\n[guard]\nask_timeout = 3\n")
    ws = open_workspace(workspace_root)
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await start_run(pilot, scenario(TWO_TOUCHES), "touch files")
        await until(pilot, lambda: state_of(app, run_id) is RunState.WAITING_FOR_HUMAN)
        await until(pilot, lambda: view_of(app, run_id).question_kind == "permission")
        # The model changed first; the header is drawn at the next render.
        await until(
            pilot, lambda: "y allow once · a always for this run · n deny" in header_text(app)
        )
        await open_first_inbox_item(pilot)
        await pilot.press(key)
        await until(pilot, lambda: not isinstance(app.screen, InboxScreen))
        # "a": the second touch goes through unasked; "y": it is asked again, and the
        # unanswered ask times out into a refusal.
        await until(pilot, lambda: state_of(app, run_id) is RunState.FINISHED, timeout=20)
    worktree = ws.worktrees_dir / "app" / run_id
    assert (worktree / "one.txt").exists()
    assert (worktree / "two.txt").exists() is made_both
    ledger = await ledger_of(ws, run_id)
    expected = (
        [("override", "overridden"), ("ask", "allowed"), ("ask", "allowed")]
        if made_both
        else [("ask", "allowed"), ("ask", "refused")]
    )
    assert [(r.decision, r.outcome) for r in ledger] == expected


async def test_deny_asks_for_the_reason_the_agent_is_told(workspace_root: Path, scenario) -> None:
    config = workspace_root / "cockpit.toml"
    config.write_text(config.read_text() + ASK_TOUCH)
    ws = open_workspace(workspace_root)
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await start_run(pilot, scenario('[[step]]\nrun = "touch one.txt"\n'), "touch")
        await until(pilot, lambda: view_of(app, run_id).question_kind == "permission")
        await until(pilot, lambda: state_of(app, run_id) is RunState.WAITING_FOR_HUMAN)
        await open_first_inbox_item(pilot)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.focused, Input))
        await pilot.press(*"use a fixture")
        await pilot.press("enter")
        await until(pilot, lambda: state_of(app, run_id) is RunState.FINISHED)
        guard_lines = [e for e in view_of(app, run_id).entries if e.kind == "guard"]
        assert guard_lines and guard_lines[-1].is_error
        assert "use a fixture" in guard_lines[-1].detail
    ledger = await ledger_of(ws, run_id)
    assert [(r.outcome, r.reason) for r in ledger] == [
        ("refused", "refused by the human: use a fixture")
    ]
    assert not (ws.worktrees_dir / "app" / run_id / "one.txt").exists()


async def test_the_guard_ledger_counts_per_rule_and_o_overrides(
    workspace_root: Path, scenario
) -> None:
    ws = open_workspace(workspace_root)
    outside = ws.worktrees_dir / "app" / "outside.txt"
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await start_run(pilot, scenario(ESCAPE_THEN_RETRY), "escape")
        await until(pilot, lambda: state_of(app, run_id) is RunState.WAITING_FOR_HUMAN)
        await until(pilot, lambda: view_of(app, run_id).guard_refusals() == 1)
        await until(pilot, lambda: "guard: 1 refused (l: ledger)" in header_text(app))
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, GuardScreen))
        screen = app.screen
        assert isinstance(screen, GuardScreen)
        await until(pilot, lambda: len(screen.rows) == 1)
        counts = screen.query_one("#guard-counts", Static)
        await until(
            pilot, lambda: "this run: write-outside-worktree 1 refused" in str(counts.render())
        )
        await pilot.press("o")
        await until(pilot, lambda: len(screen.rows) == 2)
        assert [r.outcome for r in screen.rows] == ["refused", "overridden"]
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, GuardScreen))
        # The agent was told (delivered with the answer), and its retry went through the
        # guard to the sandbox, which refused the write all the same.
        await pilot.press("s", *"yes", "enter")
        await until(pilot, lambda: state_of(app, run_id) is RunState.FINISHED)
        delivered = [e.text for e in view_of(app, run_id).entries if e.kind == "delivered"]
        assert any("lifted the guard rule 'write-outside-worktree'" in t for t in delivered)
    assert not outside.exists()


async def test_a_runs_skills_show_in_its_header_and_in_slash_skills(
    workspace_root: Path, scenario
) -> None:
    repo = workspace_root.parent / "repos" / "app"
    (repo / "AGENTS.md").write_text("Keep functions short.\n")
    skill = workspace_root / "skills" / "house-style"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text(
        "---\nname: house-style\ndescription: How code looks here.\napplies_to: [app]\n---\n"
        "Short functions.\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "agents")
    ws = open_workspace(workspace_root)
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        run_id = await start_run(pilot, scenario('[[step]]\nsay = "hello"\n'), "hello")
        await until(pilot, lambda: state_of(app, run_id) is RunState.FINISHED)
        loaded = view_of(app, run_id).skills
        assert loaded[0] == "AGENTS.md" and "house-style" in loaded
        await until(pilot, lambda: "skills: AGENTS.md" in header_text(app))
        await pilot.press("slash", "end", *"skills", "enter")
        await until(pilot, lambda: isinstance(app.screen, SkillsScreen))
        screen = app.screen
        assert isinstance(screen, SkillsScreen)
        assert screen.loaded is not None and "house-style" in screen.loaded
        names = {s.name for s in screen.available}
        # The repo's instructions, the workspace's skill and the shipped ones.
        assert {"AGENTS.md", "house-style", "python-gates", "multi-repo-changes"} <= names
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, SkillsScreen))


def test_no_pane_binding_shadows_a_cockpit_wide_key() -> None:
    """A focused pane's key wins over the app's: the same key in both would make a
    cockpit action unreachable from that pane (as ``g`` once was, taken by the list)."""
    from cockpit.tui.app import CockpitApp
    from cockpit.tui.widgets.diff_panel import DiffPanel
    from cockpit.tui.widgets.repo_pane import RepoPane
    from cockpit.tui.widgets.run_list import RunList
    from cockpit.tui.widgets.run_pane import RunPane, Transcript

    def keys(bindings) -> dict[str, str]:
        return {key: b.action for b in bindings for key in b.key.split(",")}

    cockpit = keys(CockpitApp.BINDINGS)
    assert cockpit["l"] == "guard"
    for pane in (RunList, Transcript, RunPane, DiffPanel, RepoPane):
        shadowed = set(keys(getattr(pane, "BINDINGS", []))) & set(cockpit)
        assert not shadowed, (pane.__name__, shadowed)
