"""A yes/no question (quit with runs in flight, cancel a run)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from cockpit.tui.screens.palette import ScreenCommands, help_key


class ConfirmScreen(ModalScreen[bool]):
    """Dismisses with True on ``y``, False on ``n``, ``q`` or escape."""

    HELP_GROUP = "Confirm"
    COMMANDS = {ScreenCommands}
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 64; max-width: 100%; height: auto;
        background: $panel; border: round $warning; padding: 1 2;
    }
    ConfirmScreen Static { width: 100%; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
        Binding("q,escape", "answer(False)", "No", show=False, id="confirm.escape"),
        help_key("confirm"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.question, style="bold"))
            yield Static(Text("y: yes · n, q or escape: no", style="dim"))

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
