"""The help screen lists every binding, grouped, with its id; it opens on ? and closes."""

from __future__ import annotations

from typing import ClassVar

from pilotkit import until
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Static

from cockpit.tui.screens.help import BindingGroup, HelpScreen, collect_bindings


class AgentList(Static, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_agent", "New agent", id="agents.new"),
        Binding("k,up", "cursor_up", "Up", show=False, id="agents.up"),
        Binding("x", "secret", show=False),  # hidden and undescribed: not listed
    ]


class DiffPanel(Static):
    HELP_GROUP = "Diff viewer"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "accept", "Accept hunk", id="diff.accept"),
        Binding("r", "reject", "Reject hunk", id="diff.reject"),
    ]


class HelpApp(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("ctrl+t", "theme", "Theme", id="app.theme"),
    ]

    def compose(self) -> ComposeResult:
        yield AgentList("agents", id="agents")
        yield AgentList("more agents")
        yield DiffPanel("diff")
        yield Footer()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(collect_bindings(self)))


def table_lines(screen: HelpScreen) -> list[str]:
    table: DataTable[Text] = screen.query_one("#help-table", DataTable)
    return [
        " | ".join(cell.plain.strip() for cell in table.get_row_at(index)).rstrip(" |")
        for index in range(table.row_count)
    ]


def groups_by_name(groups: list[BindingGroup]) -> dict[str, list[tuple[str, str, str | None]]]:
    return dict(groups)


async def test_collect_bindings_groups_and_ids() -> None:
    app = HelpApp()
    async with app.run_test(size=(120, 40)):
        groups = groups_by_name(collect_bindings(app))
        assert list(groups) == ["Global", "Agent List", "Diff viewer"]
        assert ("?", "Help", "app.help") in groups["Global"]
        assert ("^t", "Theme", "app.theme") in groups["Global"]
        assert ("^q", "Quit", None) in groups["Global"]  # Textual's own, show=False but described
        assert groups["Agent List"] == [
            ("n", "New agent", "agents.new"),
            ("k / ↑", "Up", "agents.up"),
        ]
        assert groups["Diff viewer"] == [
            ("a", "Accept hunk", "diff.accept"),
            ("r", "Reject hunk", "diff.reject"),
        ]
        assert "Footer" not in groups  # Textual widgets are skipped by default


async def test_collect_bindings_honours_keymap() -> None:
    app = HelpApp()
    async with app.run_test(size=(120, 40)):
        app.set_keymap({"diff.accept": "y", "agents.new": "ctrl+n,insert"})
        groups = groups_by_name(collect_bindings(app))
        assert ("y", "Accept hunk", "diff.accept") in groups["Diff viewer"]
        assert ("^n / insert", "New agent", "agents.new") in groups["Agent List"]


async def test_question_mark_opens_help_and_escape_closes() -> None:
    app = HelpApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        assert screen.title == "Help"
        title = screen.query_one("#help-title", Static)
        assert "Help" in str(title.render())
        lines = table_lines(screen)
        for expected in (
            "Global",
            "? | Help | app.help",
            "Agent List",
            "n | New agent | agents.new",
            "Diff viewer",
            "a | Accept hunk | diff.accept",
            "Help",
            "esc / q / ? | Close help | help.close",
        ):
            assert expected in lines
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen))


async def test_q_and_question_mark_also_close() -> None:
    app = HelpApp()
    async with app.run_test(size=(120, 40)) as pilot:
        for key in ("q", "question_mark"):
            await pilot.press("question_mark")
            await until(pilot, lambda: isinstance(app.screen, HelpScreen))
            await pilot.press(key)
            await until(pilot, lambda: not isinstance(app.screen, HelpScreen))


class QuitOnCtrlC(App[None]):
    """Like the cockpit: ctrl+c quits (a priority binding), so the screen's
    ``ctrl+c,super+c`` copy is not what ctrl+c does."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="app.quit_ctrl_c"),
    ]


async def test_each_key_is_listed_once_with_what_it_does() -> None:
    app = QuitOnCtrlC()
    async with app.run_test(size=(120, 40)):
        rows = [row for _, rows in collect_bindings(app) for row in rows]
        with_ctrl_c = [row for row in rows if "^c" in row[0].split(" / ")]
        assert with_ctrl_c == [("^c", "Quit", "app.quit_ctrl_c")]
        copy = next(row for row in rows if row[1] == "Copy selected text")
        assert "^c" not in copy[0].split(" / ") and copy[0]  # super+c still copies


class Pushed(Screen[None]):
    """A full screen pushed over the main one (as the review is)."""

    HELP_GROUP = "Pushed"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q,escape", "close", "Close", id="pushed.close"),
        Binding("s", "split", "Side by side", id="pushed.split"),
        Binding("M", "approve", "Approve", id="pushed.approve"),
    ]
    decided = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "approve" and self.decided)


class PushedModal(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q,escape", "close", "Close", id="modal.close"),
    ]


class MainKeysApp(App[None]):
    """Like the cockpit: the main screen's keys are turned off over a pushed screen,
    except ``?`` and the priority ones."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("s", "steer", "Steer", id="app.steer"),
        Binding("z", "zoom", "Zoom", id="app.zoom"),
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="app.quit_ctrl_c"),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return len(self.screen_stack) <= 1 or action in ("help", "quit")

    def action_help(self) -> None:
        self.push_screen(HelpScreen(collect_bindings(self)))


async def test_over_a_pushed_screen_its_keys_come_first_then_what_works_everywhere() -> None:
    app = MainKeysApp()
    async with app.run_test(size=(120, 40)) as pilot:
        main = groups_by_name(collect_bindings(app))
        assert next(iter(main)) == "Global" and ("z", "Zoom", "app.zoom") in main["Global"]

        pushed = Pushed()
        await app.push_screen(pushed)
        groups = collect_bindings(app)
        assert [name for name, _ in groups] == ["Pushed", "Everywhere"]
        here, everywhere = groups[0][1], groups[1][1]
        assert ("q / esc", "Close", "pushed.close") in here
        assert ("M", "Approve", "pushed.approve") in here
        # Turned off by the app (z), or the screen's own key wins (s, q): not listed.
        assert [row[0] for row in everywhere if row[2] and row[2].startswith("app.")] == [
            "?",
            "^c",
        ]
        assert ("^p", "Command palette", None) in everywhere

        pushed.decided = True  # the screen turns approving off: help does not offer it
        assert ("M", "Approve", "pushed.approve") not in collect_bindings(app)[0][1]

        await pilot.press("question_mark")
        await pilot.pause()
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        assert str(help_screen.query_one("#help-title", Static).render()) == "Help — Pushed"
        assert table_lines(help_screen)[0] == "Pushed"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is pushed


async def test_over_a_modal_only_the_priority_keys_of_the_app_still_work() -> None:
    app = MainKeysApp()
    async with app.run_test(size=(120, 40)):
        await app.push_screen(PushedModal())
        groups = groups_by_name(collect_bindings(app))
        assert list(groups) == ["Pushed Modal", "Everywhere"]
        app_rows = [row for row in groups["Everywhere"] if row[2] and row[2].startswith("app.")]
        assert app_rows == [("^c", "Quit", "app.quit_ctrl_c")]  # a modal stops ? and q
