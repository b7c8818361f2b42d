"""The cockpit driven through its keys (Textual Pilot) with the real engine inside the app.

Each test opens a real workspace (repos ``app`` and ``lib``, a ``scripted`` profile),
starts ``CockpitApp`` (whose engine starts itself on mount) and waits for conditions by
polling, never by sleeping blindly.
"""

from __future__ import annotations

import threading
from pathlib import Path

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
from textual.color import Color
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import Input, Static

from cockpit.tui.app import CockpitApp
from cockpit.tui.screens.confirm import ConfirmScreen
from cockpit.tui.screens.findings import FindingsScreen
from cockpit.tui.screens.help import HelpScreen
from cockpit.tui.screens.inbox import InboxScreen
from cockpit.tui.selection import RepoRow, RunRow
from cockpit.tui.settings import load_settings
from cockpit.tui.widgets.diff_panel import DiffPanel
from cockpit.tui.widgets.log import Log
from cockpit.tui.widgets.prompt_bar import PromptBar
from cockpit.tui.widgets.run_list import RunList
from cockpit.tui.widgets.run_pane import Transcript
from engine.adapters.store.sqlite import SqliteRunStore
from engine.bootstrap import open_engine
from engine.domain.events import AgentText, SteeringDelivered
from engine.domain.models import Run
from engine.domain.state import RunState
from engine.workspace import Workspace, open_workspace

SAY_HI = """
[[step]]
say = "Hi from the scripted agent"
[[step]]
wait = 0.5
[[step]]
write = { path = "hello.txt", content = "hi\\n" }
"""

#: Ten one-second turns: a steering message typed while it runs is delivered at a turn start.
SLOW = "".join(f'[[step]]\nsay = "step {n}"\nwait = 1\n' for n in range(1, 11))

ASK = """
[[step]]
say = "Writing the feature"
[[step]]
ask = "tests too?"
[[step]]
write = { path = "tests.txt", content = "yes\\n" }
"""

LONG = """
[[step]]
say = "taking my time"
wait = 30
"""


# --- flows -----------------------------------------------------------------------------


async def test_focus_starts_on_the_run_list(ws: Workspace) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert isinstance(app.focused, RunList)
        assert not isinstance(app.focused, PromptBar)


async def test_start_a_run_from_the_prompt_bar(ws: Workspace, scenario) -> None:
    path = scenario(SAY_HI)
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await start_run(pilot, path)
        run_list = app.query_one(RunList)
        ids = [run_list.get_option_at_index(i).id for i in range(run_list.option_count)]
        assert f"run:{run_id}" in ids
        assert app.main_screen.selected_run_id() == run_id  # the new run is selected
        await until(pilot, lambda: state_of(app, run_id) is RunState.FINISHED)
        await until(pilot, lambda: "Hi from the scripted agent" in transcript_text(app))
        assert view_of(app, run_id).run.task == "say hi"
    stored = (await stored_runs(ws))[run_id]
    assert stored.state is RunState.FINISHED
    # A relative --scenario is resolved against the cwd of the cockpit.
    assert stored.scenario == str(Path(path).resolve())


async def test_slash_then_typing_keeps_the_slash(ws: Workspace) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("slash")
        await type_text(pilot, "help")
        await until(pilot, lambda: app.query_one(PromptBar).value == "/help")


async def test_steer_a_running_run(ws: Workspace, scenario) -> None:
    path = scenario(SLOW)
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await start_run(pilot, path)
        await until(pilot, lambda: state_of(app, run_id) is RunState.RUNNING)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.focused, PromptBar))
        await type_text(pilot, "use pathlib")
        await pilot.press("enter")
        view = view_of(app, run_id)
        await until(pilot, lambda: any(e.kind == "you" for e in view.entries))
        await until(pilot, lambda: "you › use pathlib" in transcript_text(app))
        await until(pilot, lambda: any(e.kind == "delivered" for e in view.entries))
        delivered = [e.text for e in view.entries if e.kind == "delivered"]
        assert delivered == ["use pathlib"]
        assert view.pending_steering == {}
        await until(pilot, lambda: "delivered › use pathlib" in transcript_text(app))
        assert state_of(app, run_id) is RunState.RUNNING  # delivered while still running
    events = await stored_events(ws, run_id)
    steering = [e for e in events if isinstance(e, SteeringDelivered)]
    assert [e.text for e in steering] == ["use pathlib"]


async def test_answer_the_question_in_the_inbox(ws: Workspace, scenario) -> None:
    path = scenario(ASK)
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await start_run(pilot, path)
        await until(pilot, lambda: state_of(app, run_id) is RunState.WAITING_FOR_HUMAN)
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, InboxScreen))
        await pilot.press("1")
        await until(pilot, lambda: isinstance(app.focused, Input))
        await type_text(pilot, "yes")
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, InboxScreen))
        await until(pilot, lambda: state_of(app, run_id) is RunState.FINISHED)
        # The stored row can show the new state a batch before the events that led to it.
        await until(
            pilot,
            lambda: (
                "Thanks — you said: yes"
                in [e.text for e in view_of(app, run_id).entries if e.kind == "text"]
            ),
        )
        await until(pilot, lambda: "Thanks — you said: yes" in transcript_text(app))


async def test_answer_the_question_by_steering(ws: Workspace, scenario) -> None:
    """The same question answered from the prompt bar instead of the inbox."""
    path = scenario(ASK)
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await start_run(pilot, path)
        await until(pilot, lambda: state_of(app, run_id) is RunState.WAITING_FOR_HUMAN)
        # The stored row can show the new state a batch before the event that notifies.
        await until(pilot, lambda: "needs you" in " ".join(n.message for n in app._notifications))
        await pilot.press("s")
        await type_text(pilot, "yes")
        await pilot.press("enter")
        await until(pilot, lambda: state_of(app, run_id) is RunState.FINISHED)
        await until(pilot, lambda: "Thanks — you said: yes" in transcript_text(app))


async def test_cancel_a_run(ws: Workspace, scenario) -> None:
    path = scenario(LONG)
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await start_run(pilot, path)
        await until(pilot, lambda: state_of(app, run_id) is RunState.RUNNING)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        # The question and the keys are drawn, not squeezed to nothing by the box (their
        # regions are known once the screen is laid out).
        question, keys = app.screen.query(Static)
        await until(pilot, lambda: question.region.width >= 40 and question.region.height >= 1)
        await until(pilot, lambda: keys.region.width >= 14)
        await pilot.press("y")
        await until(pilot, lambda: state_of(app, run_id) is RunState.CANCELLED)
        assert not isinstance(app.screen, ConfirmScreen)
    assert (await stored_runs(ws))[run_id].state is RunState.CANCELLED


async def test_cancel_can_be_declined(ws: Workspace, scenario) -> None:
    path = scenario(LONG)
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await start_run(pilot, path)
        await until(pilot, lambda: state_of(app, run_id) is RunState.RUNNING)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await pilot.pause(0.3)
        assert state_of(app, run_id) is RunState.RUNNING


async def test_zoom_hides_and_restores_the_run_list(ws: Workspace) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        run_list = app.query_one(RunList)
        await pilot.press("z")
        await until(pilot, lambda: not run_list.display)
        assert app.query_one("#main").has_class("zoomed")
        await pilot.press("z")
        await until(pilot, lambda: run_list.display)
        assert not app.query_one("#main").has_class("zoomed")


async def test_theme_command_switches_and_persists(ws: Workspace) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.theme == "cockpit-dark"
        await pilot.press("slash", "end")
        await type_text(pilot, "theme cockpit-light")
        await pilot.press("enter")
        await until(pilot, lambda: app.theme == "cockpit-light")
        assert load_settings().theme == "cockpit-light"

        await pilot.press("slash", "end")
        await type_text(pilot, "theme no-such-theme")
        await pilot.press("enter")
        await until(
            pilot,
            lambda: any(
                n.severity == "error" and "no-such-theme" in n.message for n in app._notifications
            ),
        )
        assert app.theme == "cockpit-light"
        assert load_settings().theme == "cockpit-light"
    # The next cockpit starts in the remembered theme, its first frame drawn in its
    # colours (its variables are set before any CSS is parsed, without a refresh).
    again = make_app(ws)
    async with again.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: again.theme == "cockpit-light")
        await ready(pilot)
        light, dark = (again.get_theme(name) for name in ("cockpit-light", "cockpit-dark"))
        assert light is not None and dark is not None and light.surface != dark.surface
        surface = again.query_one(RunList).styles.background
        assert surface == Color.parse(light.surface)


async def test_help_opens_and_closes_but_question_mark_types_in_the_prompt(
    ws: Workspace,
) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await until(pilot, lambda: "Help" in str(app.screen.query_one("#help-title").render()))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen))

        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.focused, PromptBar))
        await pilot.press("question_mark")
        # Typed into the prompt: the key went there, and opened no help.
        await until(pilot, lambda: app.query_one(PromptBar).value == "?")
        assert not isinstance(app.screen, HelpScreen)


async def test_keys_are_remapped_from_cockpit_toml(workspace_root: Path) -> None:
    toml = workspace_root / "cockpit.toml"
    toml.write_text(toml.read_text() + '\n[keys]\n"cockpit.inbox" = "n"\n')
    app = make_app(open_workspace(workspace_root))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, InboxScreen))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, InboxScreen))


async def test_quit_with_a_run_in_flight_asks_then_interrupts_it(ws: Workspace, scenario) -> None:
    path = scenario(LONG)
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await start_run(pilot, path)
        await until(pilot, lambda: state_of(app, run_id) is RunState.RUNNING)
        await until(pilot, lambda: run_id in app.session.executing())
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert "1 run(s) in flight" in confirm.question
        await pilot.press("y")
        await until(pilot, lambda: app._exit)
    async with open_engine(ws, listen=False) as engine:
        runs = {run.id: run for run in await engine.list_runs()}
    assert runs[run_id].state is RunState.INTERRUPTED


async def test_quit_with_nothing_in_flight_does_not_ask(ws: Workspace) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("q")
        await until(pilot, lambda: app._exit)
        assert not isinstance(app.screen, ConfirmScreen)


async def test_a_new_cockpit_shows_finished_runs_from_the_store(ws: Workspace, scenario) -> None:
    path = scenario(SAY_HI)
    first = make_app(ws)
    async with first.run_test(size=SIZE) as pilot:
        run_id = await start_run(pilot, path)
        await until(pilot, lambda: state_of(first, run_id) is RunState.FINISHED)
        await pilot.press("q")
        await until(pilot, lambda: first._exit)

    second = make_app(ws)
    async with second.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert state_of(second, run_id) is RunState.FINISHED
        # Its transcript is read right after the first frame.
        await until(
            pilot,
            lambda: (
                [e.text for e in view_of(second, run_id).entries if e.kind == "text"]
                == ["Hi from the scripted agent"]
            ),
        )
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: second.main_screen.selected_run_id() == run_id)
        await until(pilot, lambda: "Hi from the scripted agent" in transcript_text(second))
        # Loading history raises no notifications (they were raised in the first session).
        assert not any("finished" in n.message for n in second._notifications)


def store_threads() -> list[threading.Thread]:
    """aiosqlite's connection threads (not daemons: one left open blocks the exit)."""
    return [t for t in threading.enumerate() if "_connection_worker_thread" in t.name]


@pytest.mark.parametrize("early", [True, False], ids=["while-starting", "once-ready"])
async def test_leaving_the_app_without_quit_closes_the_store(ws: Workspace, early: bool) -> None:
    before = store_threads()
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        if not early:
            await ready(pilot)
            # Writer and reader (an earlier test's thread may end meanwhile: count new ones).
            assert len(set(store_threads()) - set(before)) == 2
    assert app.session.closed.is_set()
    for thread in set(store_threads()) - set(before):
        thread.join(timeout=5)  # stopped: it exits once it has closed its connection
        assert not thread.is_alive(), "a store connection thread outlived the app"


async def test_modals_dim_rather_than_hide_the_cockpit(ws: Workspace) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, InboxScreen))
        await until(pilot, lambda: app.screen.styles.background.a < 1)


async def test_long_lines_wrap_to_the_pane_and_rewrap_on_zoom(ws: Workspace, scenario) -> None:
    words = " ".join(f"word{i}" for i in range(150))
    path = scenario(f'[[step]]\nsay = "{words}"\n')
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await start_run(pilot, path)
        await until(pilot, lambda: state_of(app, run_id) is RunState.FINISHED)
        transcript = app.query_one(Transcript)

        def wrapped_to_width() -> bool:
            width = transcript.scrollable_content_region.width
            lines = [strip.text.rstrip() for strip in transcript.lines]
            return (
                "word149" in transcript_text(app)
                and all(len(line) <= width for line in lines)
                and sum("word" in line for line in lines) >= 2  # wrapped, not cut
            )

        await until(pilot, wrapped_to_width)
        narrow = sum("word" in strip.text for strip in transcript.lines)
        await pilot.press("z")
        await until(pilot, lambda: transcript.scrollable_content_region.width > 100)
        # Wider pane, fewer lines: the text was wrapped again, not kept at the old width.
        await until(pilot, lambda: sum("word" in strip.text for strip in transcript.lines) < narrow)
        assert wrapped_to_width()


def highlighted_rows(run_list: RunList) -> list[int]:
    """Rows of the run list as drawn (through its line cache) in the highlight colour."""
    highlight = run_list.get_visual_style(
        "option-list--option", "option-list--option-highlighted"
    ).rich_style.bgcolor
    lines = run_list.render_lines(Region(0, 0, run_list.size.width, run_list.size.height))
    return [
        y
        for y, strip in enumerate(lines)
        if any(segment.style and segment.style.bgcolor == highlight for segment in strip)
    ]


async def listed_repos(pilot) -> RunList:
    """The run list, once the repos are in it and drawn."""
    await ready(pilot)
    run_list = pilot.app.query_one(RunList)
    await until(pilot, lambda: run_list.option_count >= 3)
    await until(pilot, lambda: len(highlighted_rows(run_list)) == 1)
    return run_list


async def test_moving_the_highlight_repaints_the_rows_it_leaves(ws: Workspace) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_list = await listed_repos(pilot)
        first = highlighted_rows(run_list)
        assert len(first) == 1
        await pilot.press("down")
        # One row highlighted, not the first: the old row lost its highlight.
        await until(pilot, lambda: len(rows := highlighted_rows(run_list)) == 1 and rows != first)
        await pilot.press("up")
        await until(pilot, lambda: highlighted_rows(run_list) == first)


async def test_the_pane_follows_the_highlight_in_the_same_turn(ws: Workspace) -> None:
    # The pane is filled as the highlight moves, not on a message handled a turn later:
    # then the frame that repaints the moved highlight already shows the new pane, and a
    # key's effect does not wait for the next screen update.
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_list = await listed_repos(pilot)
        body = app.query_one("#repo-body", Static)
        for name in ("lib", "app"):
            run_list.select(RepoRow(name))
            # No await in between: nothing else has run since the highlight moved.
            assert f" {name}" in str(body.content)


async def long_finished_transcript(pilot: Pilot, app: CockpitApp, scenario) -> Transcript:
    """A run that said 150 lines, finished, its transcript written to the end (the last
    line is the run's end) and followed there: no write is left whose scroll to the end
    could come after what the test does next."""
    lines = "\n".join(f"line {i}" for i in range(150))
    run_id = await start_run(pilot, scenario(f'[[step]]\nsay = """{lines}"""\n'))
    await until(pilot, lambda: state_of(app, run_id) is RunState.FINISHED)
    transcript = app.query_one(Transcript)
    await until(
        pilot,
        lambda: (
            "— finished —" in transcript_text(app)
            and 0 < transcript.max_scroll_y == transcript.scroll_y
        ),
    )
    return transcript


async def test_a_transcript_at_its_end_stays_there_when_its_pane_gets_shorter(
    ws: Workspace, scenario
) -> None:
    """Only the height changes (as when the header above grows a line): the transcript
    that followed its end still shows the end, without a new line to scroll it."""
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        transcript = await long_finished_transcript(pilot, app, scenario)
        before = transcript.max_scroll_y
        await pilot.resize_terminal(SIZE[0], SIZE[1] - 6)
        await until(
            pilot,
            lambda: (
                transcript.max_scroll_y > before and transcript.scroll_y == transcript.max_scroll_y
            ),
            what="the transcript shorter and still at its end",
        )


async def test_the_transcript_draws_and_drags_its_own_scroll_bar(ws: Workspace, scenario) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        transcript = await long_finished_transcript(pilot, app, scenario)
        content = transcript.scrollable_content_region
        # The bar is the content's last column, in the widget's own coordinates.
        top = content.y - transcript.region.y
        column = content.x - transcript.region.x + content.width - 1
        thumb = transcript.styles.scrollbar_color.rich_color

        def thumb_rows() -> list[int]:
            strips = transcript.render_lines(Region(0, 0, *transcript.region.size))
            return [
                y - top
                for y, strip in enumerate(strips)
                if any(
                    seg.style and seg.style.bgcolor == thumb
                    for seg in strip.crop(column, column + 1)
                )
            ]

        # Lines are wrapped one column short of the pane: the last is the bar's.
        assert all(len(strip.text.rstrip()) < content.width for strip in transcript.lines)
        at_end = thumb_rows()
        assert at_end and at_end[-1] == content.height - 1  # scrolled to the end: at the bottom
        transcript.scroll_home(animate=False)
        await until(pilot, lambda: thumb_rows()[:1] == [0])  # the scroll lands after a refresh
        # A click on the bar's last row scrolls to the end, on its first row to the top.
        await pilot.click(Transcript, offset=(column, top + content.height - 1))
        await until(pilot, lambda: transcript.scroll_y == transcript.max_scroll_y)
        await pilot.click(Transcript, offset=(column, top))
        await until(pilot, lambda: transcript.scroll_y == 0)
        # A click in the text does not scroll.
        await pilot.click(Transcript, offset=(column - 5, top + content.height - 1))
        await pilot.pause()
        assert transcript.scroll_y == 0
        # Dragging the thumb down the bar follows the mouse, also off the bar's column.
        await pilot.mouse_down(Transcript, offset=(column, top))
        await pilot.hover(Transcript, offset=(column - 3, top + content.height // 2))
        await until(pilot, lambda: 0 < transcript.scroll_y < transcript.max_scroll_y)
        await pilot.hover(Transcript, offset=(column - 3, top + content.height - 1))
        await until(pilot, lambda: transcript.scroll_y == transcript.max_scroll_y)
        await pilot.mouse_up(Transcript, offset=(column - 3, top + content.height - 1))
        await pilot.hover(Transcript, offset=(column - 3, top))
        await pilot.pause()
        assert transcript.scroll_y == transcript.max_scroll_y  # released: no longer dragging
        # The mouse wheel still scrolls (Textual's own bar is only zero columns wide).
        wheel = events.MouseScrollUp(transcript, 3, top + 3, 0, -1, 0, False, False, False)
        transcript.post_message(wheel)
        await until(pilot, lambda: transcript.scroll_y < transcript.max_scroll_y)


async def test_keys_tell_the_garbage_collector_someone_is_typing(ws: Workspace) -> None:
    # Full collections (150 ms with 20 runs streaming) wait for a quiet keyboard: the app
    # must report every key to its collector.
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        before = app.collector.last_input
        await pilot.press("down")
        await until(pilot, lambda: app.collector.last_input > before)


async def test_the_run_header_grows_and_shrinks_with_its_text(ws: Workspace, scenario) -> None:
    path = scenario('[[step]]\nsay = "done"\n')
    long_task = " ".join(f"step{i}" for i in range(60))  # wraps over several header lines
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.session.client is not None
        # Submitted directly: typing a task this long key by key takes most of a minute.
        short_id = (await app.session.client.submit("app", "short", "scripted", str(path))).id
        long_id = (await app.session.client.submit("app", long_task, "scripted", str(path))).id
        await until(pilot, lambda: {short_id, long_id} <= set(app.model.runs))
        # Measured once both are done: a header has more lines while its run runs.
        for run_id in (short_id, long_id):
            await until(pilot, lambda r=run_id: state_of(app, r) is RunState.FINISHED)
        header = app.query_one("#run-header", Static)
        run_list = app.query_one(RunList)

        def laid_out() -> bool:
            """The header's height fits its text (it is laid out at a later refresh)."""
            height = header.get_content_height(app.screen.size, app.size, header.size.width)
            return header.size.width > 0 and header.size.height == height

        async def select(run_id: str) -> int:
            run_list.select(RunRow(run_id))
            await until(pilot, lambda: app.main_screen.selected_run_id() == run_id)
            await until(pilot, lambda: run_id in str(header.content) and laid_out())
            return header.size.height

        short = await select(short_id)
        tall = await select(long_id)
        assert tall > short
        # Every line of the wrapped task is on screen, the last word included.
        drawn = "".join(s.text for s in header.render_lines(Region(0, 0, *header.size)))
        assert "step59" in drawn
        assert await select(short_id) == short


async def test_gate_badges_and_red_gates_in_the_inbox(workspace_root: Path, scenario) -> None:
    config = workspace_root / "cockpit.toml"
    config.write_text(config.read_text() + '\n[[repos.app.gates]]\nname = "lint"\nkind = "ruff"\n')
    ws = open_workspace(workspace_root)
    path = scenario('[[step]]\nwrite = { path = "bad.py", content = "import os\\n" }\n')
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await start_run(pilot, path, task="add bad.py")
        await until(pilot, lambda: state_of(app, run_id) is RunState.FINISHED)
        await until(pilot, lambda: app.main_screen.selected_run_id() == run_id)
        badges = app.query_one("#run-gates", Static)
        await until(pilot, lambda: "✗ lint 1" in str(badges.content))
        await until(pilot, lambda: "gate lint: failed, 1 finding" in transcript_text(app))
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, InboxScreen))
        screen = app.screen
        assert isinstance(screen, InboxScreen)
        await until(
            pilot, lambda: [(i.run_id, i.kind) for i in screen.items] == [(run_id, "gates")]
        )


async def test_v_runs_a_repos_gates_on_its_working_tree(workspace_root: Path) -> None:
    config = workspace_root / "cockpit.toml"
    config.write_text(config.read_text() + '\n[[repos.app.gates]]\nname = "lint"\nkind = "ruff"\n')
    (workspace_root.parent / "repos" / "app" / "wip.py").write_text("import os\n")  # untracked
    app = make_app(open_workspace(workspace_root))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.query_one(RunList).select(RepoRow("app"))
        body = app.query_one("#repo-body", Static)
        await until(pilot, lambda: "v runs them" in str(body.content))
        await pilot.press("v")
        await until(pilot, lambda: "✗ lint 1" in str(body.content))
        assert "lint: wip.py:1 F401" in str(body.content)
        await until(
            pilot, lambda: any("app: gates red (lint)" in n.message for n in app._notifications)
        )


async def test_findings_by_file_open_the_diff_at_the_flagged_line(
    workspace_root: Path, scenario
) -> None:
    config = workspace_root / "cockpit.toml"
    config.write_text(config.read_text() + '\n[[repos.app.gates]]\nname = "lint"\nkind = "ruff"\n')
    ws = open_workspace(workspace_root)
    path = scenario('[[step]]\nwrite = { path = "bad.py", content = "X = 1\\nimport os\\n" }\n')
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await start_run(pilot, path, task="add bad.py")
        await until(pilot, lambda: state_of(app, run_id) is RunState.FINISHED)
        await until(pilot, lambda: app.main_screen.selected_run_id() == run_id)
        await until(pilot, lambda: view_of(app, run_id).diff is not None)
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, FindingsScreen))
        screen = app.screen
        assert isinstance(screen, FindingsScreen)
        await until(pilot, lambda: list(screen.places.values()) == [("bad.py", 2)])
        await pilot.press("down", "enter")
        await until(pilot, lambda: not isinstance(app.screen, FindingsScreen))
        panel = app.query_one(DiffPanel)
        hunks = app.query_one("#diff-hunks", Log)
        await until(pilot, lambda: panel.hunks and ("bad.py", 2) in panel.places)
        # Written once the log knows its size (a later refresh).
        await until(pilot, lambda: len(hunks.lines) > panel.places[("bad.py", 2)] + 1)
        drawn = [strip.text for strip in hunks.lines]
        flagged = drawn[panel.places[("bad.py", 2)]]
        assert "✗" in flagged and "import os" in flagged
        assert "lint F401" in drawn[panel.places[("bad.py", 2)] + 1]


async def _seed_long_runs(ws: Workspace, ids: list[str], lines: int) -> None:
    """Finished runs with ``lines`` lines of agent text each, in the store."""
    store = SqliteRunStore(ws.db_path)
    await store.open()
    try:
        for run_id in ids:
            await store.insert_run(
                Run(
                    id=run_id,
                    repo="app",
                    task=f"long {run_id}",
                    agent="scripted",
                    state=RunState.FINISHED,
                )
            )
            await store.append_events(
                [
                    AgentText(run_id=run_id, seq=n, text=f"{run_id} line {n}")
                    for n in range(1, lines + 1)
                ]
            )
    finally:
        await store.close()


async def test_switching_runs_writes_a_pane_of_lines_and_scrolling_up_the_rest(
    ws: Workspace,
) -> None:
    await _seed_long_runs(ws, ["aaaa0001", "bbbb0002"], 200)
    app = make_app(ws, select="aaaa0001")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        transcript = app.query_one(Transcript)
        await until(pilot, lambda: "aaaa0001 line 200" in transcript_text(app))
        # The first run's transcript is scrolled to its end; the reader switches runs.
        await until(pilot, lambda: transcript.scroll_y > 0)
        app.query_one(RunList).select(RunRow("bbbb0002"))
        await until(pilot, lambda: "bbbb0002 line 200" in transcript_text(app))
        await pilot.pause()
        height = transcript.scrollable_content_region.height
        # Only a pane of lines (and a few more) was written: the switch's reset of the
        # scroll position did not count as scrolling up for the older lines.
        assert height < len(transcript.lines) <= height + 10
        assert "bbbb0002 line 1\n" not in transcript_text(app) + "\n"
        # Scrolling to the top does bring the rest.
        transcript.scroll_home(animate=False)
        await until(pilot, lambda: len(transcript.lines) >= 200)
        assert "bbbb0002 line 1\n" in transcript_text(app) + "\n"


async def test_an_engine_that_cannot_start_says_why(ws: Workspace) -> None:
    ws.db_path.parent.mkdir(parents=True, exist_ok=True)
    ws.db_path.write_bytes(b"garbage" * 1000)
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.session.closed.is_set())
        notes = [str(n.message) for n in app._notifications]
        assert any("the engine could not start" in n and "not a database" in n for n in notes)
        assert app.session.client is None
