"""The steering bar: plain text steers the focused run; ``/`` starts a command."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from textual import events
from textual.binding import Binding
from textual.suggester import Suggester
from textual.widgets import Input

from cockpit.tui.commands import complete


class CommandSuggester(Suggester):
    """Inline completion of ``/`` commands and their first argument."""

    def __init__(self, candidates: Callable[[str], Iterable[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self._candidates = candidates

    async def get_suggestion(self, value: str) -> str | None:
        return complete(value, self._candidates)


class PromptBar(Input):
    """One line at the bottom; history with up/down, tab accepts the completion."""

    HELP_GROUP = "Prompt bar"
    BINDINGS = [
        Binding("up", "history(-1)", "Previous", show=False, id="prompt.history_back"),
        Binding("down", "history(1)", "Next", show=False, id="prompt.history_forward"),
        Binding("tab", "complete", "Complete", show=False, id="prompt.complete"),
        Binding("enter", "send", "Send", show=False, id="prompt.send"),
        Binding("escape", "leave", "Back to panes", id="prompt.leave"),
    ]
    #: Actions taken in turn with the letters typed (see ``_on_key``).
    IN_ORDER = ("send", "leave")

    def __init__(
        self,
        candidates: Callable[[str], Iterable[str]],
        sent: Callable[[str], None],
        **kwargs,
    ) -> None:
        super().__init__(
            placeholder="steer the selected run — or / for commands (/help)",
            suggester=CommandSuggester(candidates),
            # `/` pre-fills the bar; selecting it on focus would let the next key replace it.
            select_on_focus=False,
            **kwargs,
        )
        self.history: list[str] = []
        self._cursor = 0
        self._candidates = candidates
        self._sent = sent

    async def _on_key(self, event: events.Key) -> None:
        """Keys reach the bar in the order typed. Enter and escape act here, in that
        order, not once they have bubbled up to the app, when the letters typed after
        them would already be in the bar. A key that arrives after the focus moved on
        (it was sent here before) is handed back to the app, for the new focus."""
        if self.screen.focused is not self:
            event.stop()
            event.prevent_default()
            self.app.post_message(events.Key(event.key, event.character))
            return
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            if binding.action in self.IN_ORDER:
                event.stop()
                event.prevent_default()
                await self.run_action(binding.action)
                return
        await super()._on_key(event)

    def open(self, prefix: str) -> None:
        """Take the focus with ``prefix`` typed (``/`` or nothing), before the next key is
        read; a message kept in the bar (a draft left with escape) stays when ``prefix``
        is empty."""
        if prefix or self.value.startswith("/"):
            self.value = prefix
        self.cursor_position = len(self.value)
        self._focus_now()

    def keep(self, text: str) -> None:
        """Put ``text`` back in the bar, focused, the cursor at its end."""
        self.value = text
        self.cursor_position = len(text)
        self._focus_now()

    def _focus_now(self) -> None:
        """Focus the bar before the next key is read. ``Widget.focus`` only queues the
        change, behind keys already typed: "/review" typed fast would open the inbox
        (`i`) from the list instead of landing here."""
        self.screen.set_focus(self)

    def action_send(self) -> None:
        """Enter: hand a non-empty prompt to ``sent`` (it is kept in the history)."""
        text = self.value.strip()
        if not text:
            return
        if not self.history or self.history[-1] != text:
            self.history.append(text)
        self._cursor = len(self.history)
        self.value = ""
        self._sent(text)

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        self._cursor = max(0, min(len(self.history), self._cursor + step))
        self.value = self.history[self._cursor] if self._cursor < len(self.history) else ""
        self.cursor_position = len(self.value)

    def action_complete(self) -> None:
        suggestion = complete(self.value, self._candidates)
        if suggestion:
            self.value = suggestion + ("" if suggestion.endswith(" ") else " ")
            self.cursor_position = len(self.value)

    async def action_leave(self) -> None:
        await self.screen.run_action("focus_panes")
