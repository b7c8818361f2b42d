"""Keys work where you are: on a screen pushed over the main one (the review, help, the
inbox, findings, the guard ledger, skills, a confirmation) ``q`` and ``escape`` close it,
the main screen's keys do nothing, ``?`` shows that screen's keys and the command palette
offers its actions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from pilotkit import SIZE, make_app, start_run, state_of
from rich.text import Text
from textual.command import Command, CommandList, CommandPalette
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable, Static

from cockpit.tui.app import CockpitApp
from cockpit.tui.screens.confirm import ConfirmScreen
from cockpit.tui.screens.findings import FindingsScreen
from cockpit.tui.screens.guard import GuardScreen
from cockpit.tui.screens.help import HelpScreen
from cockpit.tui.screens.inbox import InboxScreen
from cockpit.tui.screens.main import MainScreen
from cockpit.tui.screens.review import ReviewScreen
from cockpit.tui.screens.skills import SkillsScreen
from cockpit.tui.widgets.diff_view import DiffView
from cockpit.tui.widgets.run_list import RunList
from engine.domain.state import RunState
from engine.workspace import Workspace

TWO_FILES = (
    '[[step]]\nwrite = { path = "a.txt", content = "one\\ntwo\\n" }\n'
    '[[step]]\nwrite = { path = "b.txt", content = "bee\\n" }\n'
)

#: Actions of the main screen's keys: none of them may run, or be offered, elsewhere.
MAIN_ACTIONS = {"inbox", "prompt", "zoom", "cycle", "cancel_run", "findings", "guard"}


async def wait_for(
    pilot: Pilot, condition: Callable[[], object], what: str, timeout: float = 15
) -> None:
    """Let the app run until ``condition()`` holds; fail saying ``what`` did not happen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            notes = [n.message for n in pilot.app._notifications]
            screens = [type(s).__name__ for s in pilot.app.screen_stack]
            raise AssertionError(
                f"not within {timeout}s: {what} (screens {screens}; notifications {notes})"
            )
        await pilot.pause(0.05)


def cockpit(pilot: Pilot) -> CockpitApp:
    app = pilot.app
    assert isinstance(app, CockpitApp)
    return app


def main_run_list(app: CockpitApp) -> RunList:
    """The main screen's run list (``app.query_one`` asks the screen on top)."""
    return app.screen_stack[0].query_one(RunList)


async def finished_run(pilot: Pilot, scenario) -> str:
    """A finished run with two new files, highlighted on the main screen."""
    run_id = await start_run(pilot, scenario(TWO_FILES), "two files")
    await wait_for(
        pilot,
        lambda: state_of(cockpit(pilot), run_id) is RunState.FINISHED,
        f"run {run_id} finishes",
    )
    return run_id


async def open_review(pilot: Pilot, scenario) -> ReviewScreen:
    app = cockpit(pilot)
    run_id = await finished_run(pilot, scenario)
    app.main_screen.open_review(run_id)
    await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen), "the review opens")
    screen = app.screen
    assert isinstance(screen, ReviewScreen)
    await wait_for(pilot, lambda: len(screen.files) == 2, "the review lists the run's 2 files")
    return screen


def help_lines(screen: HelpScreen) -> list[str]:
    table: DataTable[Text] = screen.query_one("#help-table", DataTable)
    return [
        " | ".join(cell.plain.strip() for cell in table.get_row_at(index)).rstrip(" |")
        for index in range(table.row_count)
    ]


async def open_help(pilot: Pilot) -> HelpScreen:
    await pilot.press("question_mark")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), "? opens help")
    screen = pilot.app.screen
    assert isinstance(screen, HelpScreen)
    await wait_for(
        pilot,
        lambda: screen.query_one("#help-table", DataTable).row_count > 0,
        "help lists keys",
    )
    return screen


def palette_titles(palette: Screen) -> list[str]:
    listing = palette.query_one(CommandList)
    options = [listing.get_option_at_index(i) for i in range(listing.option_count)]
    return [str(option.hit.text) for option in options if isinstance(option, Command)]


async def test_in_the_review_q_goes_back_and_the_main_screens_keys_do_nothing(
    ws: Workspace, scenario
) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_review(pilot, scenario)
        run_list = main_run_list(app)
        shown = run_list.display
        diff = screen.query_one(DiffView)
        side_by_side = diff.side_by_side
        # z, l, i are the main screen's (zoom, guard ledger, inbox); s and ] the review's,
        # pressed after them: once they have acted, so would have z, l and i.
        await pilot.press("z", "l", "i", "s", "right_square_bracket")
        await wait_for(
            pilot,
            lambda: diff.side_by_side != side_by_side and screen.index == 1,
            "s and ] act in the review (side by side, next file)",
        )
        assert app.screen is screen
        assert run_list.display == shown, "z zoomed the main screen behind the review"
        assert [type(s) for s in app.screen_stack] == [MainScreen, ReviewScreen]
        offered = {
            active.binding.action.partition("(")[0] for active in app.active_bindings.values()
        }
        assert not offered & MAIN_ACTIONS, f"the footer offers main keys: {offered & MAIN_ACTIONS}"
        await pilot.press("q")
        await wait_for(pilot, lambda: len(app.screen_stack) == 1, "q closes the review")
        assert not app._exit, "q in the review quit the cockpit"
        # Back on the main screen, its keys work again.
        await pilot.press("z")
        await wait_for(pilot, lambda: run_list.display != shown, "z zooms on the main screen")


async def test_q_and_escape_close_every_pushed_screen(ws: Workspace, scenario) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        run_id = await finished_run(pilot, scenario)
        run_list = main_run_list(app)
        shown = run_list.display
        openers: list[tuple[type[Screen], tuple[str, ...]]] = [
            (InboxScreen, ("i",)),
            (HelpScreen, ("question_mark",)),
            (FindingsScreen, ("f",)),
            (GuardScreen, ("l",)),
            (ConfirmScreen, ("c",)),
            (SkillsScreen, ("slash", "end", *"skills", "enter")),
            (ReviewScreen, ("slash", "end", *f"review {run_id}", "enter")),
        ]
        for kind, keys in openers:
            for close in ("q", "escape"):
                await pilot.press(*keys)
                await wait_for(
                    pilot, lambda k=kind: isinstance(app.screen, k), f"{keys} opens {kind.__name__}"
                )
                pushed = app.screen
                await pilot.press("z", close)  # z: the main screen's zoom does nothing here
                await wait_for(
                    pilot,
                    lambda: len(app.screen_stack) == 1,
                    f"{close} closes {kind.__name__} (back to the main screen)",
                )
                assert not pushed.is_attached or pushed not in app.screen_stack
                assert run_list.display == shown, f"z zoomed the main screen under {kind.__name__}"
                await pilot.press("escape")  # leave the prompt bar, if a command used it
                await wait_for(pilot, lambda: isinstance(app.focused, RunList), "panes focused")
        assert state_of(app, run_id) is RunState.FINISHED  # q on the confirmation said no
        assert not app._exit


async def test_help_in_the_review_lists_the_reviews_keys_not_the_main_screens(
    ws: Workspace, scenario
) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        review = await open_review(pilot, scenario)
        help_screen = await open_help(pilot)
        lines = help_lines(help_screen)
        assert "Review" in str(help_screen.query_one("#help-title", Static).render())
        assert lines[0] == "Review", lines[:3]  # the review's keys come first
        for expected in (
            "a | Accept | review.accept",
            "M | Approve | review.approve",
            "] | Next file | review.next_file",
            "s | Side by side | review.split",
            "q / esc | Close | review.close",
            "? | Help | cockpit.help",
            "^c | Quit | cockpit.quit_ctrl_c",
        ):
            assert expected in lines, (expected, lines)
        keys = [line.split(" | ")[0] for line in lines]
        assert keys.count("s") == 1 and keys.count("]") == 1, "a key listed twice"
        for main_only in ("Zoom", "Inbox", "Steer", "Next run", "Guard ledger", "Cancel run"):
            assert not any(f" | {main_only} | " in line for line in lines), (main_only, lines)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is review, "escape closes help, back to review")

        # From a modal screen too: the inbox's keys, first and titled so.
        await pilot.press("q")
        await wait_for(pilot, lambda: len(app.screen_stack) == 1, "q closes the review")
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen), "i opens the inbox")
        inbox = app.screen
        help_screen = await open_help(pilot)
        lines = help_lines(help_screen)
        assert lines[0] == "Inbox" and "y | Allow once | inbox.allow_once" in lines, lines
        assert not any(" | Zoom | " in line for line in lines), lines
        await pilot.press("q")
        await wait_for(pilot, lambda: app.screen is inbox, "q closes help, back to the inbox")


async def test_the_reviews_palette_offers_its_actions(ws: Workspace, scenario) -> None:
    app = make_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        review = await open_review(pilot, scenario)
        diff = review.query_one(DiffView)
        side_by_side = diff.side_by_side
        await pilot.press("ctrl+p")
        await wait_for(
            pilot, lambda: isinstance(app.screen, CommandPalette), "ctrl+p opens the palette"
        )
        palette = app.screen
        wanted = {"Approve", "Reject", "Accept", "Next file", "Side by side", "Reject run"}
        await wait_for(
            pilot,
            lambda: wanted <= set(palette_titles(palette)),
            f"the palette offers {sorted(wanted)}",
        )
        # Textual's own Quit would leave at once, runs in flight or not: not offered.
        assert "Quit" not in palette_titles(palette)
        await pilot.press(*"side by side")
        await wait_for(
            pilot,
            lambda: palette_titles(palette)[:1] == ["Side by side"],
            "typing finds Side by side",
        )
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: app.screen is review and diff.side_by_side != side_by_side,
            "the palette's Side by side switches the review's diff",
        )
