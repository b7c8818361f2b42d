"""The review screen's list of files: virtualised like the diff beside it, so a diff of
thousands of files lists them as fast as a diff of three (an ``OptionList`` measures
every option before its first frame)."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.strip import Strip

from cockpit.tui.widgets.glyphs import colour
from cockpit.tui.widgets.row_view import RowView


class FileList(RowView, can_focus=True):
    """Rows of text, one highlighted; up/down (or a click) move the highlight."""

    HELP_GROUP = "Review"
    DEFAULT_CSS = """
    FileList {
        /* Rows are cut at the edge, never scrolled sideways. */
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
    }
    """
    BINDINGS = [
        Binding("down,j", "move(1)", "Next file", show=False, id="review.files_down"),
        Binding("up,k", "move(-1)", "Prev file", show=False, id="review.files_up"),
    ]

    class Highlighted(Message):
        """The highlight moved to row ``index``."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.items: list[Text] = []
        self.highlighted = 0

    def set_items(self, items: list[Text], highlighted: int = 0) -> None:
        """Show ``items`` with row ``highlighted`` highlighted (no message is posted)."""
        self.items = items
        self.set_row_count(len(items))
        self.select(highlighted, notify=False)

    def select(self, index: int, *, notify: bool = True) -> None:
        """Highlight row ``index`` (clamped) and scroll it into sight."""
        if not self.items:
            self.highlighted = 0
            self.refresh()
            return
        self.highlighted = max(0, min(index, len(self.items) - 1))
        self.scroll_row_visible(self.highlighted)
        self.refresh()
        if notify:
            self.post_message(self.Highlighted(self.highlighted))

    def on_resize(self) -> None:
        # A short box (the files above the diff, in a narrow terminal) keeps the
        # highlighted file in sight.
        if self.items:
            self.scroll_row_visible(self.highlighted)

    def action_move(self, step: int) -> None:
        self.select(self.highlighted + step)

    def on_click(self, event: events.Click) -> None:
        index = int(self.scroll_offset.y) + event.y
        if 0 <= index < len(self.items):
            self.select(index)

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_offset.y) + y
        width = self.scrollable_content_region.width
        if index >= len(self.items):
            return self.blank(width)
        text = self.items[index].copy()
        text.truncate(width, pad=True)
        if index == self.highlighted:
            text.stylize(Style(bgcolor=colour(self.app, "primary-muted")))
        return self.strip(text, width)
