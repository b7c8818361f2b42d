"""The focus on the main screen: the panels tab cycles through, and the panel the focus
goes back to when the prompt bar is left."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widget import Widget

from cockpit.tui.widgets.prompt_bar import PromptBar

__all__ = ["PanelFocus", "focus_now"]


def focus_now(widget: Widget) -> None:
    """Focus ``widget`` before the next key is read. ``Widget.focus`` only queues the
    change, behind keys already typed: "/review" typed fast would open the inbox (`i`)
    from the list instead of landing in the prompt bar."""
    widget.screen.set_focus(widget)


class PanelFocus:
    """Tab and shift+tab through the panels of ``screen`` (the list unless zoomed, then
    the pane: a run's transcript and its diff hunks when shown, or the repo's pane); the
    prompt bar is not one (`s` and `/` open it, escape leaves it, back to the panel it
    was opened from)."""

    def __init__(self, screen: Screen[Any]) -> None:
        self.screen = screen
        #: Where the focus was when the prompt bar took it.
        self.before_prompt: Widget | None = None

    def moved(self, old: Widget | None, new: Widget | None) -> None:
        """The screen's focus moved from ``old`` to ``new``."""
        if isinstance(new, PromptBar) and old is not None and not isinstance(old, PromptBar):
            self.before_prompt = old

    def panels(self) -> list[Widget]:
        """What tab cycles through, in order."""
        return [w for w in self.screen.focus_chain if not isinstance(w, PromptBar)]

    def back(self) -> None:
        """Focus the panel the prompt bar was opened from (or the first one left)."""
        panels = self.panels()
        target = self.before_prompt
        if target not in panels:
            target = panels[0] if panels else None
        if target is not None:
            focus_now(target)

    def cycle(self, step: int) -> None:
        """Tab (``step`` 1) or shift+tab (-1): from the prompt bar, back where it was."""
        focused = self.screen.focused
        if isinstance(focused, PromptBar):
            self.back()
            return
        panels = self.panels()
        if panels:
            index = panels.index(focused) if focused in panels else -step
            panels[(index + step) % len(panels)].focus()
