"""A decided run's review is read-only and true: `/review` of a run approved (merged),
rejected, or approved with nothing to merge opens on its decision, its merge commit and
its diff from the turn snapshots, with no key that would decide it again; a finished run
whose changes the base already has says so as the review opens."""

from __future__ import annotations

from pathlib import Path

from pilotkit import SIZE, make_app, start_run, state_of, type_text, until, view_of
from textual.pilot import Pilot
from textual.widgets import Static

from cockpit.tui.app import CockpitApp
from cockpit.tui.screens.confirm import ConfirmScreen
from cockpit.tui.screens.review import DECIDING, ReviewScreen
from engine.domain.state import RunState
from engine.workspace import Workspace
from enginekit import git

TWO_FILES = (
    '[[step]]\nwrite = { path = "a.txt", content = "one\\ntwo\\n" }\n'
    '[[step]]\nedit = { path = "README.md", old = "# app", new = "# app, improved" }\n'
)


async def finished(pilot: Pilot, scenario) -> str:
    run_id = await start_run(pilot, scenario(TWO_FILES), "two files")
    await until(pilot, lambda: state_of(cockpit(pilot), run_id) is RunState.FINISHED)
    return run_id


async def review(pilot: Pilot, run_id: str) -> ReviewScreen:
    """`/review RUN` from the prompt bar; the screen once its files are read."""
    app = pilot.app
    await pilot.press("slash", "end")
    await type_text(pilot, f"review {run_id}")
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, ReviewScreen))
    screen = app.screen
    assert isinstance(screen, ReviewScreen)
    await until(pilot, lambda: len(screen.files) == 2)
    return screen


def title(screen: ReviewScreen) -> str:
    return str(screen.query_one("#review-title", Static).content)


def cockpit(pilot: Pilot) -> CockpitApp:
    app = pilot.app
    assert isinstance(app, CockpitApp)
    return app


def errors(pilot: Pilot) -> list[str]:
    return [n.message for n in pilot.app._notifications if n.severity == "error"]


async def decide(pilot: Pilot, run_id: str, key: str) -> None:
    screen = await review(pilot, run_id)
    assert not screen.decided
    await pilot.press(key)
    await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
    await pilot.press("y")
    await until(pilot, lambda: view_of(cockpit(pilot), run_id).review is not None)
    await until(pilot, lambda: not isinstance(pilot.app.screen, (ReviewScreen, ConfirmScreen)))


async def assert_read_only(pilot: Pilot, screen: ReviewScreen) -> None:
    """No deciding key is offered, and pressing them decides nothing."""
    for action in DECIDING:
        assert screen.check_action(action, ()) is False, action
    offered = {
        b.binding.key
        for b in screen.active_bindings.values()
        if b.node is screen and b.enabled and b.binding.action.split("(")[0] in DECIDING
    }
    assert not offered, offered
    await pilot.press("M", "D", "a", "C")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ReviewScreen)
    assert "read-only" in str(screen.query_one("#review-keys", Static).content)


async def test_a_merged_run_opens_read_only_with_its_merge_and_diff(
    ws: Workspace, repo: Path, scenario
) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await finished(pilot, scenario)
        await decide(pilot, run_id, "M")
        merge = git(repo, "rev-parse", "main").strip()
        screen = await review(pilot, run_id)
        assert screen.decided
        assert sorted(f.path for f in screen.files) == ["README.md", "a.txt"]
        said = title(screen)
        assert f"approved: merged into main as {merge[:12]}" in said, said
        assert "read-only" in said
        await assert_read_only(pilot, screen)
        assert not errors(pilot), errors(pilot)
        assert not any("not found" in n.message for n in app._notifications)
        # One turn at a time works from the snapshots too.
        await pilot.press("t")
        await until(pilot, lambda: screen.span.turns == (1, 1))
        assert not errors(pilot), errors(pilot)
    assert git(repo, "rev-parse", "main").strip() == merge  # nothing merged again


async def test_a_rejected_run_opens_read_only_with_its_diff(ws: Workspace, scenario) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await finished(pilot, scenario)
        await decide(pilot, run_id, "D")
        screen = await review(pilot, run_id)
        said = title(screen)
        assert "rejected; its work is saved in" in said and "read-only" in said, said
        await assert_read_only(pilot, screen)
        assert not errors(pilot), errors(pilot)


async def test_a_run_the_base_already_has_says_so_when_opened_and_after_approval(
    ws: Workspace, repo: Path, scenario
) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await finished(pilot, scenario)
        branch = view_of(app, run_id).run.branch
        git(repo, "merge", "-q", "--no-edit", branch)  # merged by hand, outside Cockpit
        screen = await review(pilot, run_id)
        await until(pilot, lambda: screen.in_base is True)
        said = title(screen)
        assert "main already has every change of this run: approving merges nothing" in said
        await decide_here(pilot, screen, run_id)
        again = await review(pilot, run_id)
        said = title(again)
        assert "approved: main already had every change; nothing was merged" in said, said
        await assert_read_only(pilot, again)


async def decide_here(pilot: Pilot, screen: ReviewScreen, run_id: str) -> None:
    await pilot.press("M")
    await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
    await pilot.press("y")
    await until(pilot, lambda: view_of(cockpit(pilot), run_id).review is not None)
    await until(pilot, lambda: not isinstance(pilot.app.screen, (ReviewScreen, ConfirmScreen)))
