"""What the review screen's virtualised widgets share: one row per line, drawn only
when in sight, and a highlighted row kept in sight."""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip


class RowView(ScrollView):
    """A scroll view of ``rows`` lines of text; subclasses draw a row in ``render_line``."""

    def set_row_count(self, rows: int) -> None:
        """How many rows there are (the scrollable height)."""
        self.virtual_size = Size(max(self.size.width, 1), rows)

    def scroll_row_visible(self, index: int) -> None:
        """Scroll just enough for row ``index`` to be in sight."""
        height = max(self.scrollable_content_region.height, 1)
        top = int(self.scroll_offset.y)
        if index < top:
            self.scroll_to(y=index, animate=False)
        elif index >= top + height:
            self.scroll_to(y=index - height + 1, animate=False)

    def strip(self, text: Text, width: int) -> Strip:
        """``text`` as one drawn line, ``width`` cells wide."""
        segments = list(text.render(self.app.console))
        return Strip(Segment.adjust_line_length(segments, width), width)
