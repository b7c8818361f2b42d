"""The help screen lists every binding, grouped, with its id; it opens on ? and closes."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Static

from cockpit.screens.help import BindingGroup, HelpScreen, collect_bindings


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
        await pilot.pause()
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
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_q_and_question_mark_also_close() -> None:
    app = HelpApp()
    async with app.run_test(size=(120, 40)) as pilot:
        for key in ("q", "question_mark"):
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, HelpScreen)


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
