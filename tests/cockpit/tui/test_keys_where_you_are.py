"""Keys work where you are (issue 24, the main screen): the focus goes back where it was
after the prompt bar, a finished run is continued instead of the message being lost, a
shell and an editor open in a run's worktree, the palette offers every bound action, the
pane's keys work from the list, completion starts from the selection, and a relative
``--scenario`` is the workspace's.

Driven through Pilot with the real engine inside the app; waits poll what is drawn (or
the model), never a fixed sleep.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest
from pilotkit import (
    SIZE,
    make_app,
    ready,
    start_run,
    state_of,
    stored_events,
    stored_runs,
    transcript_text,
    type_text,
    until,
    view_of,
)
from textual import events
from textual.binding import Binding
from textual.command import Command, CommandList, CommandPalette
from textual.drivers.headless_driver import HeadlessDriver
from textual.pilot import Pilot
from textual.widgets import Static

from cockpit.tui.app import CockpitApp
from cockpit.tui.screens.confirm import ConfirmScreen
from cockpit.tui.selection import RepoRow, RunRow
from cockpit.tui.widgets.diff_panel import DiffPanel
from cockpit.tui.widgets.log import Log
from cockpit.tui.widgets.prompt_bar import PromptBar
from cockpit.tui.widgets.run_list import RunList
from cockpit.tui.widgets.run_pane import Transcript
from engine.domain.events import RunStateChanged, SteeringDelivered
from engine.domain.state import RunState
from engine.workspace import Workspace

#: Quick to finish, with a file changed (hello.txt) and a tool result long enough to be
#: collapsed (6 lines: `e` expands it).
WRITES = """
[[step]]
say = "Hi from the scripted agent"
run = "seq 1 6"
[[step]]
write = { path = "hello.txt", content = "hi\\n" }
"""

#: Slow enough to be steered while it runs.
SLOW = "".join(f'[[step]]\nsay = "step {n}"\nwait = 1\n' for n in range(1, 31))

#: Many transcript lines in one turn: switching back to the run shows only the last ones.
CHATTY = '[[step]]\nstream = { text = "chunk", count = 150, interval = 0 }\n'


def notes(app: CockpitApp) -> list[str]:
    return [n.message for n in app._notifications]


def noted(app: CockpitApp, text: str) -> Callable[[], bool]:
    return lambda: any(text in message for message in notes(app))


def header(app: CockpitApp) -> str:
    return str(app.query_one("#run-header", Static).render())


async def finished_run(pilot: Pilot, path: str) -> str:
    run_id = await start_run(pilot, path)
    app = pilot.app
    assert isinstance(app, CockpitApp)
    await until(pilot, lambda: state_of(app, run_id) is RunState.FINISHED)
    return run_id


def script(folder: Path, name: str, body: str) -> Path:
    """A small executable shell script (a stand-in for $SHELL or $EDITOR)."""
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


# --- the focus after the prompt bar ---------------------------------------------------


async def test_focus_returns_where_it_was_after_a_command_and_after_steering(
    ws: Workspace, scenario
) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await start_run(pilot, scenario(SLOW))
        await until(pilot, lambda: state_of(app, run_id) is RunState.RUNNING)
        prompt = app.query_one(PromptBar)

        # A command from the list: the list has the focus again, j/k move the selection.
        await pilot.press("slash", "end", *"theme cockpit-dark", "enter")
        await until(pilot, lambda: isinstance(app.focused, RunList))
        assert prompt.value == ""
        await pilot.press("k")
        await until(pilot, lambda: app.main_screen.selected_run_id() != run_id)
        assert prompt.value == ""
        await pilot.press("j")
        await until(pilot, lambda: app.main_screen.selected_run_id() == run_id)

        # A message from the list: sent, and the next keys are the list's again.
        await pilot.press("s")
        assert isinstance(app.focused, PromptBar)
        await type_text(pilot, "use pathlib")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.focused, RunList))
        await until(pilot, lambda: "you › use pathlib" in transcript_text(app))
        assert prompt.value == ""

        # From the transcript: back to the transcript (after enter, and after escape).
        await pilot.press("tab")
        await until(pilot, lambda: isinstance(app.focused, Transcript))
        await pilot.press("s", *"and type hints", "enter")
        await until(pilot, lambda: isinstance(app.focused, Transcript))
        await until(pilot, lambda: "you › and type hints" in transcript_text(app))
        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.focused, PromptBar))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.focused, Transcript))


async def test_keys_typed_at_once_after_a_slash_land_in_the_prompt_bar(
    ws: Workspace, scenario
) -> None:
    """A fast typist (or a paste, or tmux): every key is queued before the app reads the
    first. The keys after `/` belong to the prompt bar, and after enter to the list."""
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await start_run(pilot, scenario(SLOW))
        await until(pilot, lambda: state_of(app, run_id) is RunState.RUNNING)
        await until(pilot, lambda: isinstance(app.focused, RunList))

        def burst(*keys: str) -> None:
            chars = {"slash": "/", "space": " ", "enter": "\r"}
            driver = app._driver
            assert driver is not None
            for key in keys:  # as Pilot sends them, but with no wait in between
                event = events.Key(key, chars.get(key, key if len(key) == 1 else None))
                event.set_sender(app)
                driver.send_message(event)

        main = app.screen
        # "review" typed on the list would be r(esume) e(xpand) v(erify) i(nbox)…
        burst("slash", *"review", "space", *run_id)
        prompt = app.query_one(PromptBar)
        await until(
            pilot,
            lambda: prompt.value == f"/review {run_id}" or app.screen is not main,
            what=f"the bar to read /review {run_id}",
        )
        assert app.screen is main, app.screen  # not the inbox
        assert prompt.value == f"/review {run_id}", prompt.value
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.focused, RunList))
        # And back: the keys after enter are the list's (k moves the selection).
        prompt.value = ""
        burst("slash", *"theme cockpit-dark", "enter", "k")
        await until(pilot, lambda: app.main_screen.selected_run_id() != run_id)
        assert prompt.value == ""


# --- a finished run is continued, not its message lost ---------------------------------


async def test_steering_a_finished_run_keeps_the_text_and_enter_again_continues_it(
    ws: Workspace, scenario
) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await finished_run(pilot, scenario(WRITES))
        prompt = app.query_one(PromptBar)
        await pilot.press("s", *"skip the changelog", "enter")
        await until(pilot, noted(app, f"run {run_id} is finished: enter again continues it"))
        # The text stays in the focused bar; the run is not touched yet.
        assert prompt.value == "skip the changelog"
        assert isinstance(app.focused, PromptBar)
        assert state_of(app, run_id) is RunState.FINISHED

        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.focused, RunList))
        assert prompt.value == ""
        # Sent back: queued again, the agent gets the message, and it finishes again.
        view = view_of(app, run_id)
        await until(pilot, lambda: any(e.text == "Noted: skip the changelog" for e in view.entries))
        await until(pilot, lambda: state_of(app, run_id) is RunState.FINISHED)
        await until(pilot, lambda: "Noted: skip the changelog" in transcript_text(app))
    events = await stored_events(ws, run_id)
    states = [e.new for e in events if isinstance(e, RunStateChanged)]
    first = states.index(RunState.FINISHED)
    assert RunState.QUEUED in states[first:] and states[-1] is RunState.FINISHED
    delivered = [e.text for e in events if isinstance(e, SteeringDelivered)]
    assert delivered == ["skip the changelog"]


# --- a shell and an editor in the run's worktree ----------------------------------------


async def test_shell_and_editor_open_in_the_worktree_and_come_back(
    ws: Workspace, scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The headless driver has no terminal to hand over: let it pretend (App.suspend then
    # stops and starts its application mode, which for it does nothing).
    monkeypatch.setattr(HeadlessDriver, "can_suspend", property(lambda self: True))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("SHELL", str(script(bin_dir, "sh", 'echo "$PWD" > shell-was-here')))
    editor = script(bin_dir, "ed", 'echo "$@" > editor-was-here')
    monkeypatch.setenv("EDITOR", f"{editor} --wait")
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await finished_run(pilot, scenario(WRITES))
        worktree = Path(view_of(app, run_id).run.worktree or "")
        assert worktree.is_dir()
        await until(pilot, lambda: f"worktree: {worktree}" in header(app))

        await pilot.press("tab")  # the transcript: the focus must come back there
        await until(pilot, lambda: isinstance(app.focused, Transcript))
        await pilot.press("exclamation_mark")
        marker = worktree / "shell-was-here"
        await until(pilot, marker.exists)
        await until(pilot, lambda: not app.main_screen.outside)
        assert Path(marker.read_text().strip()).resolve() == worktree.resolve()
        assert app.main_screen.selected_run_id() == run_id
        assert isinstance(app.focused, Transcript)

        await pilot.press("E")
        marker = worktree / "editor-was-here"
        await until(pilot, marker.exists)
        await until(pilot, lambda: not app.main_screen.outside)
        # The changed files, the shell's marker too (new in the worktree since).
        assert marker.read_text().split() == ["--wait", "hello.txt", "shell-was-here"]
        assert app.main_screen.selected_run_id() == run_id
        assert isinstance(app.focused, Transcript)
        assert not any("exited with" in message for message in notes(app))

        # An editor that is not there: said in one line, and the cockpit carries on.
        monkeypatch.setenv("EDITOR", str(bin_dir / "no-such-editor"))
        await pilot.press("E")
        await until(pilot, noted(app, "could not start"))
        await until(pilot, lambda: not app.main_screen.outside)
        await pilot.press("shift+tab")
        await until(pilot, lambda: isinstance(app.focused, RunList))


async def test_approved_from_the_palette_its_removed_worktree_is_said_in_one_line(
    ws: Workspace, scenario
) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("exclamation_mark")  # a repo is highlighted
        await until(pilot, noted(app, "! works in a run's worktree: highlight a run"))
        # Approved from the palette (it asks first), the run's worktree is removed.
        run_id = await finished_run(pilot, scenario(WRITES))
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await type_text(pilot, "approve selected run")
        await until(pilot, lambda: palette_titles(app)[:1] == ["Approve selected run…"])
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: view_of(app, run_id).run.decided)
        await until(pilot, lambda: "worktree removed" in header(app))
        await pilot.press("E")
        await until(pilot, noted(app, f"run {run_id} is merged: its worktree is removed"))
    assert (await stored_runs(ws))[run_id].decision == "merged"


# --- the palette offers every bound action ------------------------------------------------


def palette_hits(app: CockpitApp) -> list[Command]:
    listing = app.screen.query_one(CommandList)
    return [cast(Command, listing.get_option_at_index(i)) for i in range(listing.option_count)]


def palette_titles(app: CockpitApp) -> list[str]:
    return [str(hit.hit.text) for hit in palette_hits(app)]


def palette_helps(app: CockpitApp) -> list[str]:
    return [str(hit.hit.help) for hit in palette_hits(app)]


async def test_the_palette_offers_every_bound_action(ws: Workspace) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        bindings = [b for b in CockpitApp.BINDINGS if isinstance(b, Binding)]
        assert len(bindings) == len(CockpitApp.BINDINGS)
        ids = {b.id or f"no id: {b.key}" for b in bindings}
        descriptions = {b.description for b in bindings}
        wanted = {"Findings", "Verify", "Next run", "Approve selected run…", "Reject selected run…"}

        def complete() -> bool:
            helps = " ".join(palette_helps(app))
            titles = set(palette_titles(app))
            return wanted | descriptions <= titles and all(i in helps for i in ids)

        await until(pilot, complete)
        # An entry does what its key does: Zoom hides the list.
        await type_text(pilot, "zoom")
        await until(pilot, lambda: palette_titles(app)[:1] == ["Zoom"])
        await pilot.press("enter")
        await until(pilot, lambda: not app.query_one(RunList).display)


# --- the pane's keys from the list, and tab through the panels ---------------------------


async def test_e_o_d_work_from_the_list_and_tab_reaches_the_hunks(ws: Workspace, scenario) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        chatty = await finished_run(pilot, scenario(CHATTY))
        run_id = await finished_run(pilot, scenario(WRITES))
        run_list = app.query_one(RunList)
        transcript = app.query_one(Transcript)
        await until(pilot, lambda: "Hi from the scripted agent" in transcript_text(app))
        assert isinstance(app.focused, RunList)

        # e: the tool output expands (and collapses again), the focus stays on the list.
        await until(pilot, lambda: "more lines (e expands)" in transcript_text(app))
        await pilot.press("e")
        await until(pilot, lambda: transcript.expanded)
        await until(pilot, lambda: "more lines (e expands)" not in transcript_text(app))
        assert isinstance(app.focused, RunList)
        await pilot.press("e")
        await until(pilot, lambda: not transcript.expanded)

        # d: the hunks show; tab goes list → transcript → hunks → list; d in them hides them.
        panel = app.query_one(DiffPanel)
        hunks = app.query_one("#diff-hunks", Log)
        await until(pilot, lambda: view_of(app, run_id).diff is not None)
        await pilot.press("d")
        await until(pilot, lambda: panel.hunks and hunks.display)
        await until(pilot, lambda: any("hello.txt" in s.text for s in hunks.lines))
        assert isinstance(app.focused, RunList)
        await pilot.press("tab")
        await until(pilot, lambda: app.focused is transcript)
        await pilot.press("tab")
        await until(pilot, lambda: app.focused is hunks)
        await pilot.press("tab")
        await until(pilot, lambda: app.focused is run_list)
        await pilot.press("shift+tab")
        await until(pilot, lambda: app.focused is hunks)
        await pilot.press("d")
        await until(pilot, lambda: not panel.hunks and not hunks.display)
        await until(pilot, lambda: app.focused is run_list)

        # o: the run switched to shows its last lines; o from the list shows the rest.
        run_list.select(RunRow(chatty))
        await until(pilot, lambda: transcript._held > 0)
        await pilot.press("o")
        await until(pilot, lambda: transcript._held == 0)
        assert "chunk 1\n" in transcript_text(app) + "\n"
        assert isinstance(app.focused, RunList)
        await pilot.press("o")
        await until(pilot, noted(app, f"the whole transcript of {chatty} is shown"))


# --- completion from the selection, and --scenario from the workspace ---------------------


async def test_skills_completion_starts_from_the_highlighted_run(ws: Workspace, scenario) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        path = scenario(WRITES)
        older = await finished_run(pilot, path)
        newer = await finished_run(pilot, path)
        run_list = app.query_one(RunList)
        run_list.select(RunRow(older))
        await until(pilot, lambda: app.main_screen.selected_run_id() == older)
        prompt = app.query_one(PromptBar)
        await pilot.press("slash", "end", *"skills ", "tab")
        await until(pilot, lambda: prompt.value == f"/skills {older} ")
        await pilot.press("escape")
        run_list.select(RepoRow("lib"))
        await until(pilot, lambda: app.main_screen.selected == RepoRow("lib"))
        await pilot.press("slash", "end", *"skills ", "tab")
        await until(pilot, lambda: prompt.value == "/skills lib ")
        assert newer != older


async def test_a_relative_scenario_is_the_workspaces(
    workspace_root: Path, ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"  # where the cockpit was started: not looked in
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    (workspace_root / "in-ws.toml").write_text(WRITES)
    (elsewhere / "only-here.toml").write_text(WRITES)
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await finished_run(pilot, "in-ws.toml")
        await pilot.press("slash", "end", *'run app "again" --scenario only-here.toml', "enter")
        missing = workspace_root / "only-here.toml"
        await until(pilot, noted(app, f"scenario not found: {missing}"))
    stored = (await stored_runs(ws))[run_id]
    assert stored.scenario == str((workspace_root / "in-ws.toml").resolve())
    assert os.path.isfile(stored.scenario)
