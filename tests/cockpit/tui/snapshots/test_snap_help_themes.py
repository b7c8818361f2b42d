"""Snapshots: the help screen, and a small sample app in each shipped theme.

Regenerate with ``.venv/bin/python -m pytest tests/cockpit/tui/snapshots --snapshot-update``
and look at the SVGs before committing them.
"""

from __future__ import annotations

from typing import ClassVar

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.pilot import Pilot
from textual.widgets import Button, Footer, Header, Static

from cockpit.tui.screens.help import HelpScreen, collect_bindings
from cockpit.tui.themes import SHIPPED_THEMES, register_themes

SIZE = (120, 40)


class AgentPanel(Static, can_focus=True):
    HELP_GROUP = "Agents"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_agent", "New agent", id="agents.new"),
        Binding("enter", "open_agent", "Open agent", id="agents.open"),
        Binding("j,down", "cursor_down", "Next agent", show=False, id="agents.next"),
    ]


class SampleApp(App[None]):
    """A tiny cockpit-like app: header, a bordered panel, status lines, buttons, footer."""

    TITLE = "Cockpit"
    SUB_TITLE = "sample"
    CSS = """
    #panel { border: round $primary; border-title-color: $accent; padding: 0 1; height: auto; margin: 1 2; background: $surface; }
    #status { margin: 0 2; height: auto; }
    .ok { color: $success; }
    .warn { color: $warning; }
    .err { color: $error; }
    .muted { color: $text-muted; }
    #buttons { height: auto; margin: 1 2; }
    #buttons Button { margin-right: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("ctrl+t", "theme_picker", "Theme", id="app.theme"),
    ]

    def __init__(self, theme: str = "cockpit-dark") -> None:
        super().__init__()
        self._theme_name = theme

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            panel = AgentPanel(
                "[b]agent-1[/b]  refactor the store adapter\n"
                "[b]agent-2[/b]  write tests for the diff view\n"
                "[b]agent-3[/b]  idle — waiting for review",
                id="panel",
            )
            panel.border_title = "Agents"
            yield panel
            with Vertical(id="status"):
                yield Static("✔ 12 tests passed", classes="ok")
                yield Static("▲ 2 files with unsaved changes", classes="warn")
                yield Static("✖ merge conflict in src/app.py", classes="err")
                yield Static("last sync 2 minutes ago", classes="muted")
            with Horizontal(id="buttons"):
                yield Button("Approve", variant="primary")
                yield Button("Retry", variant="warning")
                yield Button("Stop", variant="error")
                yield Button("Details")
        yield Footer()

    def on_mount(self) -> None:
        register_themes(self, None)
        self.theme = self._theme_name

    def action_help(self) -> None:
        self.push_screen(HelpScreen(collect_bindings(self)))


def test_help_screen(snap_compare) -> None:
    """Pressing ? opens the help dialog over the dimmed sample app (cockpit-dark).

    You should see a centred dialog with a "Help" heading, a hint line
    ("esc / q / ? close"), and a table with columns Key | Action | Id, grouped:
    "Global" (^q Quit, ? Help app.help, ^t Theme app.theme, ^p Command palette, tab…),
    "Agents" (n New agent agents.new, enter Open agent, j / ↓ Next agent) and
    "Help" (esc / q / ? Close help help.close).
    """

    async def open_help(pilot: Pilot[None]) -> None:
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(SampleApp(), terminal_size=SIZE, run_before=open_help)


@pytest.mark.parametrize("theme", SHIPPED_THEMES)
def test_sample_app_in_theme(snap_compare, theme: str) -> None:
    """The sample app in each shipped theme.

    You should see a header "Cockpit — sample", a rounded "Agents" panel listing three
    agents, green/amber/red status lines and a muted line, four buttons (Approve, Retry,
    Stop, Details) and a footer with "? Help" and "^t Theme"; all text readable.
    """

    async def settle(pilot: Pilot[None]) -> None:
        await pilot.pause()

    assert snap_compare(SampleApp(theme), terminal_size=SIZE, run_before=settle)
