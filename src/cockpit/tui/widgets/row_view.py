"""What the review screen's virtualised widgets share: one row per line, drawn only
when in sight, and a highlighted row kept in sight.

Every cell a row view draws carries its theme's colours: a style with no colour (a
syntax token the highlighter leaves plain, a blank row) takes the widget's own
foreground and background, never the terminal's defaults, and text is kept legible on
whatever background its row has (see :func:`cockpit.tui.themes.themed_style`).
"""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from cockpit.tui.themes import themed_style


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
        """``text`` as one drawn line, ``width`` cells wide, in the theme's colours."""
        base = self.rich_style
        terminal = self.app.ansi_theme
        segments = [
            Segment(seg.text, themed_style(seg.style, base, terminal), seg.control)
            for seg in text.render(self.app.console)
        ]
        blank = themed_style(None, base, terminal)
        return Strip(Segment.adjust_line_length(segments, width, style=blank), width)

    def blank(self, width: int) -> Strip:
        """An empty line in the theme's colours."""
        return Strip.blank(width, themed_style(None, self.rich_style, self.app.ansi_theme))
