"""The inbox: everything waiting on the human, oldest first, answered in place.

From anywhere: ``i`` opens it, a digit (or enter) picks an item. A question gets an
answer box right here; a permission the guard asks for gets its three answers (``y``
allow once, ``a`` allow always for this run, ``n`` deny with a reason); an interrupted run
is resumed by picking it; other items jump to their run. The list follows the model while
it is open, and its ages tick.
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

from cockpit.render import age
from cockpit.tui.model import CockpitModel, InboxItem
from cockpit.tui.screens.palette import ScreenCommands, help_key
from engine.domain.guard import ALLOW_FOR_RUN, ALLOW_ONCE, DENY

KIND_LABEL = {
    "question": "question",
    "permission": "permission",
    "gates": "red gates",
    "review": "review",
    "failed": "failed",
    "interrupted": "interrupted",
}

#: Seconds between two redraws of an open inbox (its ages tick).
TICK = 1.0


class InboxScreen(ModalScreen[str | None]):
    """A modal list of inbox items; dismisses with a run id to jump to, or None."""

    HELP_GROUP = "Inbox"
    CSS_PATH = "inbox.tcss"
    COMMANDS = {ScreenCommands}
    BINDINGS = [
        Binding("q,escape", "close", "Close", id="inbox.close"),
        help_key("inbox"),
        *(
            Binding(str(n), f"pick({n})", f"Item {n}", show=False, id=f"inbox.pick_{n}")
            for n in range(1, 10)
        ),
        Binding("y", "permit('once')", "Allow once", show=False, id="inbox.allow_once"),
        Binding("a", "permit('run')", "Allow for the run", show=False, id="inbox.allow_run"),
        Binding("n", "permit('deny')", "Deny", show=False, id="inbox.deny"),
        Binding("r", "resume", "Resume", show=False, id="inbox.resume"),
    ]

    class Answered(Message):
        """The human answered a question in the inbox."""

        def __init__(self, run_id: str, text: str) -> None:
            super().__init__()
            self.run_id = run_id
            self.text = text

    class Resume(Message):
        """The human picked an interrupted run: resume it."""

        def __init__(self, run_id: str) -> None:
            super().__init__()
            self.run_id = run_id

    def __init__(self, model: CockpitModel) -> None:
        super().__init__()
        self.model = model
        self.items = model.waiting()
        self._answering: InboxItem | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="inbox-box"):
            yield Static(self._title(), id="inbox-title")
            yield OptionList(*self._options(), id="inbox-list")
            yield Static(id="inbox-question")
            yield OptionList(
                Option(Text.assemble(("y", "bold"), f"  {ALLOW_ONCE}"), id="once"),
                Option(Text.assemble(("a", "bold"), f"  {ALLOW_FOR_RUN}"), id="run"),
                Option(Text.assemble(("n", "bold"), f"  {DENY}, with a reason"), id="deny"),
                id="inbox-choices",
            )
            yield Input(
                placeholder="your answer — enter sends, escape goes back", id="inbox-answer"
            )
            yield Static(
                Text("1-9 or enter: open · q/escape: close · ?: keys", style="dim"), id="inbox-help"
            )

    def on_mount(self) -> None:
        self.query_one("#inbox-answer").display = False
        self.query_one("#inbox-choices").display = False
        self.query_one("#inbox-list").focus()
        self.set_interval(TICK, self.refresh_items)

    def _title(self) -> Text:
        return Text(f"Inbox — {len(self.items)} waiting on you", style="bold")

    def _options(self) -> list[Option]:
        options = [Option(self._row(n, item), id=str(n)) for n, item in enumerate(self.items, 1)]
        return options or [
            Option(Text("nothing needs you right now", style="italic"), disabled=True)
        ]

    def refresh_items(self) -> None:
        """Re-read the model: items come and go as events arrive, and the ages tick. The
        highlight stays on the item it was on."""
        if not self.is_attached:
            return
        listing = self.query_one("#inbox-list", OptionList)
        index = listing.highlighted
        was = self.items[index] if index is not None and index < len(self.items) else None
        self.items = self.model.waiting()
        self.query_one("#inbox-title", Static).update(self._title())
        listing.clear_options()
        listing.add_options(self._options())
        keys = [(item.run_id, item.kind) for item in self.items]
        if was is not None and (was.run_id, was.kind) in keys:
            listing.highlighted = keys.index((was.run_id, was.kind))
        elif self.items:
            listing.highlighted = min(index or 0, len(self.items) - 1)

    def _row(self, n: int, item: InboxItem) -> Text:
        row = Text()
        row.append(f" {n if n < 10 else ' '} ", style="bold reverse")
        row.append(f" {KIND_LABEL.get(item.kind, item.kind):<10} ", style="bold")
        row.append(f"{item.run_id}  ")
        row.append(item.title)
        row.append(f"  {age(item.since)} ago", style="dim")
        return row

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is None:
            return
        if event.option_list.id == "inbox-choices":
            self.action_permit(event.option.id)
        else:
            self.action_pick(int(event.option.id))

    def action_pick(self, n: int) -> None:
        if not 1 <= n <= len(self.items):
            return
        item = self.items[n - 1]
        if item.kind == "interrupted":
            self.app.post_message(self.Resume(item.run_id))
        if item.kind not in ("question", "permission"):
            self.dismiss(item.run_id)
            return
        self._answering = item
        self.query_one("#inbox-question", Static).update(
            Text.assemble(("? ", "bold"), (f"{item.run_id}: ", "bold"), item.title)
        )
        if item.kind == "permission":
            choices = self.query_one("#inbox-choices", OptionList)
            choices.display = True
            choices.highlighted = 0
            choices.focus()
            return
        self._show_answer_box("your answer — enter sends, escape goes back")

    def _show_answer_box(self, placeholder: str) -> None:
        answer = self.query_one("#inbox-answer", Input)
        answer.placeholder = placeholder
        answer.display = True
        answer.focus()

    def action_resume(self) -> None:
        """Resume the highlighted run when it is an interrupted one."""
        index = self.query_one("#inbox-list", OptionList).highlighted
        if self._answering is not None or index is None or index >= len(self.items):
            return
        if self.items[index].kind == "interrupted":
            self.action_pick(index + 1)

    def action_permit(self, choice: str) -> None:
        """Answer the permission being looked at: allow once, for the run, or deny (the
        reason is asked for first: the agent is told it)."""
        item = self._answering
        if item is None or item.kind != "permission":
            return
        if choice == "deny":
            self.query_one("#inbox-choices").display = False
            self._show_answer_box("why not? (told to the agent; optional) — enter denies")
            return
        self._send(ALLOW_ONCE if choice == "once" else ALLOW_FOR_RUN)

    def _send(self, text: str) -> None:
        assert self._answering is not None
        self.app.post_message(self.Answered(self._answering.run_id, text))
        self.dismiss(self._answering.run_id)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        item, text = self._answering, event.value.strip()
        if item is None:
            return
        if item.kind == "permission":
            self._send(f"{DENY}: {text}" if text else DENY)
        elif text:
            self._send(text)

    def action_close(self) -> None:
        if self._answering is not None:
            self._answering = None
            self.query_one("#inbox-answer").display = False
            self.query_one("#inbox-choices").display = False
            self.query_one("#inbox-question", Static).update("")
            self.query_one("#inbox-list").focus()
            return
        self.dismiss(None)
