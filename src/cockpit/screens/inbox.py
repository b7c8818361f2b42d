"""The inbox: everything waiting on the human, oldest first, answered in place.

From anywhere: ``i`` opens it, a digit (or enter) picks an item. A question gets an
answer box right here; other items jump to their run.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from cockpit.model import InboxItem
from cockpit.render import age

KIND_LABEL = {
    "question": "question",
    "permission": "permission",
    "gates": "red gates",
    "review": "review",
    "failed": "failed",
}


class InboxScreen(ModalScreen[str | None]):
    """A modal list of inbox items; dismisses with a run id to jump to, or None."""

    HELP_GROUP = "Inbox"
    CSS_PATH = "inbox.tcss"
    BINDINGS = [
        Binding("escape", "close", "Close", id="inbox.close"),
        *(
            Binding(str(n), f"pick({n})", f"Item {n}", show=False, id=f"inbox.pick_{n}")
            for n in range(1, 10)
        ),
    ]

    class Answered(Message):
        """The human answered a question in the inbox."""

        def __init__(self, run_id: str, text: str) -> None:
            super().__init__()
            self.run_id = run_id
            self.text = text

    def __init__(self, items: list[InboxItem]) -> None:
        super().__init__()
        self.items = items
        self._answering: InboxItem | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="inbox-box"):
            yield Static(
                Text(f"Inbox — {len(self.items)} waiting on you", style="bold"), id="inbox-title"
            )
            options = [
                Option(self._row(n, item), id=str(n)) for n, item in enumerate(self.items, 1)
            ]
            if not options:
                options = [
                    Option(Text("nothing needs you right now", style="italic"), disabled=True)
                ]
            yield OptionList(*options, id="inbox-list")
            yield Static(id="inbox-question")
            yield Input(
                placeholder="your answer — enter sends, escape goes back", id="inbox-answer"
            )
            yield Static(Text("1-9 or enter: open · escape: close", style="dim"), id="inbox-help")

    def on_mount(self) -> None:
        self.query_one("#inbox-answer").display = False
        self.query_one("#inbox-list").focus()

    def _row(self, n: int, item: InboxItem) -> Text:
        row = Text()
        row.append(f" {n if n < 10 else ' '} ", style="bold reverse")
        row.append(f" {KIND_LABEL.get(item.kind, item.kind):<10} ", style="bold")
        row.append(f"{item.run_id}  ")
        row.append(item.title)
        row.append(f"  {age(item.since)} ago", style="dim")
        return row

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.action_pick(int(event.option.id))

    def action_pick(self, n: int) -> None:
        if not 1 <= n <= len(self.items):
            return
        item = self.items[n - 1]
        if item.kind != "question":
            self.dismiss(item.run_id)
            return
        self._answering = item
        self.query_one("#inbox-question", Static).update(
            Text.assemble(("? ", "bold"), (f"{item.run_id}: ", "bold"), item.title)
        )
        answer = self.query_one("#inbox-answer", Input)
        answer.display = True
        answer.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._answering is None or not event.value.strip():
            return
        self.app.post_message(self.Answered(self._answering.run_id, event.value.strip()))
        self.dismiss(self._answering.run_id)

    def action_close(self) -> None:
        if self._answering is not None:
            self._answering = None
            self.query_one("#inbox-answer").display = False
            self.query_one("#inbox-question", Static).update("")
            self.query_one("#inbox-list").focus()
            return
        self.dismiss(None)
