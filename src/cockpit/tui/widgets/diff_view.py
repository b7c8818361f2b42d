"""The review screen's diff of one file: virtualised (only the rows in sight are drawn),
highlighted lazily (a row's code is highlighted the first time it is drawn), with a
cursor row, a selected range, the decisions and gate findings in the gutter."""

from __future__ import annotations

from collections.abc import Callable

from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound
from rich.style import Style
from rich.syntax import Syntax
from rich.text import Span, Text
from textual.binding import Binding
from textual.color import Color
from textual.reactive import reactive
from textual.strip import Strip

from cockpit.tui.diff_lines import Flag
from cockpit.tui.review_rows import Row, SplitRow, split_rows, unified_rows
from cockpit.tui.widgets.glyphs import colour
from cockpit.tui.widgets.row_view import RowView
from engine.domain.patch import FilePatch

#: The verdict of a row: "accepted", "rejected" or None.
VerdictOf = Callable[[Row], str | None]

KIND_COLOUR = {"added": "success", "removed": "error", "hunk": "accent", "info": "warning"}
MARK = {"added": "+", "removed": "-", "context": " ", "note": "\\"}
#: Fewest columns each side of a side-by-side diff gets (gutter and line number
#: included): narrower, the diff is drawn unified and its title says why.
SIDE_MIN = 40
#: The end of a line cut at the edge of its side (or of the pane), in the muted colour.
CUT = "…"


class DiffView(RowView, can_focus=True):
    """One file's diff, unified or side by side."""

    HELP_GROUP = "Review"
    DEFAULT_CSS = """
    DiffView {
        /* Rows are cut at the edge (with a marker), never scrolled sideways. */
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        border-title-color: $warning;
    }
    """
    BINDINGS = [
        Binding("down,j", "cursor(1)", "Down", show=False, id="review.down"),
        Binding("up,k", "cursor(-1)", "Up", show=False, id="review.up"),
        Binding("shift+down,J", "extend(1)", "Select down", show=False, id="review.extend_down"),
        Binding("shift+up,K", "extend(-1)", "Select up", show=False, id="review.extend_up"),
        Binding("pagedown,space", "page(1)", "Page down", show=False, id="review.page_down"),
        Binding("pageup,b", "page(-1)", "Page up", show=False, id="review.page_up"),
        Binding("home,g", "top", "Top", show=False, id="review.top"),
        Binding("end,G", "bottom", "Bottom", show=False, id="review.bottom"),
    ]

    #: Side by side asked for (``s``); drawn so only while each side fits (``split``).
    side_by_side: reactive[bool] = reactive(False)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.file: FilePatch | None = None
        self._unified: list[Row] = []
        self._split: list[SplitRow] | None = None
        self.cursor = 0
        #: The other end of a selected range of rows (None: no selection).
        self.mark: int | None = None
        self.flags: dict[int, list[Flag]] = {}
        self.verdict_of: VerdictOf = lambda row: None
        self._syntax: Syntax | None = None
        self._highlighted: dict[int, Text] = {}
        #: Whether the rows drawn are side by side (see split).
        self._drawn_split = False

    # --- content ----------------------------------------------------------------------
    def show(self, fp: FilePatch | None, flags: dict[int, list[Flag]] | None = None) -> None:
        """Show ``fp`` from its top (None: nothing)."""
        self.file = fp
        self._unified = unified_rows(fp) if fp is not None else []
        self._split = None  # built when side by side is first asked for
        self.flags = flags or {}
        self.cursor = 0
        self.mark = None
        self._highlighted.clear()
        dark = self.app.current_theme.dark
        self._syntax = _syntax_for(fp.path, dark) if fp is not None else None
        self._resize()
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    @property
    def split_width(self) -> int:
        """Columns the diff needs for side by side: two sides and the rule between."""
        return 2 * SIDE_MIN + 1

    @property
    def fits_split(self) -> bool:
        """Whether both sides get SIDE_MIN columns (assumed while the width is unknown)."""
        width = self.scrollable_content_region.width
        return width == 0 or width >= self.split_width

    @property
    def split(self) -> bool:
        """Whether the rows are drawn side by side: asked for, and wide enough."""
        return self.side_by_side and self.fits_split

    @property
    def rows(self) -> list[Row] | list[SplitRow]:
        if self.split and self.file is not None:
            if self._split is None:
                self._split = split_rows(self.file)
            return self._split
        return self._unified

    def row_at(self, index: int) -> Row | None:
        """The patch row at ``index`` (the new side of a side-by-side row, else the old)."""
        rows = self.rows
        if not 0 <= index < len(rows):
            return None
        row = rows[index]
        if isinstance(row, SplitRow):
            return row.right or row.left
        return row

    def rows_between(self, a: int, b: int) -> list[Row]:
        """Every patch row in rows ``a``..``b`` (both sides of side-by-side rows)."""
        found: list[Row] = []
        for row in self.rows[min(a, b) : max(a, b) + 1]:
            found += list(row.rows) if isinstance(row, SplitRow) else [row]
        return found

    def watch_side_by_side(self) -> None:
        self._switch_layout()

    def _switch_layout(self) -> None:
        """Draw the rows unified or side by side, as ``split`` now says."""
        self._title_note()
        if self.split == self._drawn_split:
            return
        # The cursor stays on the same patch line across the switch.
        here = self._row_of(self._drawn_split, self.cursor)
        self._drawn_split = self.split
        self.mark = None
        self._highlighted.clear()
        self._resize()
        if here is not None:
            self.cursor = self._index_of(here)
        self.cursor = max(0, min(self.cursor, len(self.rows) - 1))
        self.scroll_cursor_visible()
        self.refresh()

    def _row_of(self, split: bool, index: int) -> Row | None:
        """The patch row at ``index`` of the rows drawn unified or (``split``) not."""
        if not split:
            return self._unified[index] if 0 <= index < len(self._unified) else None
        rows = self._split or []
        if not 0 <= index < len(rows):
            return None
        return rows[index].right or rows[index].left

    def _title_note(self) -> None:
        """Say so in the title when side by side was asked for but does not fit."""
        if not self.side_by_side or self.fits_split:
            if self.border_title is not None:
                self.border_title = None
            return
        note = f"side by side needs ≥ {self._columns_for_split()} columns: unified"
        if self.border_title != note:
            self.border_title = note

    def _columns_for_split(self) -> int:
        """The terminal width side by side would fit in, the rest of the screen keeping
        its share of the width (the file list beside the diff takes a fraction of it,
        or none when it is above the diff)."""
        width = max(self.screen.size.width, 1)
        others = width - self.outer_size.width  # what is beside the diff
        frame = self.outer_size.width - self.scrollable_content_region.width
        for wider in range(width, 4 * width + self.split_width):
            if wider - wider * others // width - frame >= self.split_width:
                return wider
        return width + self.split_width  # not reached: the diff grows with the screen

    def _index_of(self, target: Row) -> int:
        for i, row in enumerate(self.rows):
            rows = row.rows if isinstance(row, SplitRow) else (row,)
            if any(r.hunk == target.hunk and r.line == target.line for r in rows):
                return i
        return 0

    def _resize(self) -> None:
        self.set_row_count(len(self.rows))

    def on_resize(self) -> None:
        self._resize()
        self._switch_layout()

    # --- cursor -----------------------------------------------------------------------
    def move_to(self, index: int, *, select: bool = False) -> None:
        """Put the cursor on row ``index`` (clamped), extending the selection if asked."""
        if not self.rows:
            return
        if select and self.mark is None:
            self.mark = self.cursor
        self.cursor = max(0, min(index, len(self.rows) - 1))
        self.scroll_cursor_visible()
        self.refresh()

    def action_cursor(self, step: int) -> None:
        self.mark = None
        self.move_to(self.cursor + step)

    def action_extend(self, step: int) -> None:
        self.move_to(self.cursor + step, select=True)

    def action_page(self, step: int) -> None:
        height = max(self.scrollable_content_region.height - 1, 1)
        self.move_to(self.cursor + step * height)

    def action_top(self) -> None:
        self.move_to(0)

    def action_bottom(self) -> None:
        self.move_to(len(self.rows) - 1)

    def scroll_cursor_visible(self) -> None:
        self.scroll_row_visible(self.cursor)

    def next_index(self, step: int, test: Callable[[Row], bool]) -> int | None:
        """The next row (``step`` 1 or -1) from the cursor whose patch row passes ``test``."""
        i = self.cursor + step
        while 0 <= i < len(self.rows):
            row = self.row_at(i)
            if row is not None and test(row):
                return i
            i += step
        return None

    # --- drawing ----------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_offset.y) + y
        width = self.scrollable_content_region.width
        rows = self.rows
        if index >= len(rows):
            return self.blank(width)
        row = rows[index]
        if isinstance(row, SplitRow):
            text = self._split_text(row, index, width)
        else:
            text = self._row_text(row, index, width)
        selected = self.mark is not None and min(self.mark, self.cursor) <= index <= max(
            self.mark, self.cursor
        )
        if index == self.cursor or selected:
            shade = "boost" if selected and index != self.cursor else "primary-muted"
            text.stylize(Style(bgcolor=colour(self.app, shade)))
        return self.strip(text, width)

    def _gutter(self, row: Row) -> Text:
        app = self.app
        # Only changes carry a decision mark: context lines are neither kept nor dropped.
        verdict = self.verdict_of(row) if row.kind in ("added", "removed", "hunk") else None
        mark = {"rejected": ("✗", "error"), "accepted": ("✓", "success")}.get(verdict or "")
        flagged = row.new_no is not None and row.kind != "removed" and row.new_no in self.flags
        gutter = Text()
        gutter.append("●" if flagged else " ", style=colour(app, "error"))
        gutter.append(
            mark[0] if mark else " ", style=f"bold {colour(app, mark[1])}" if mark else ""
        )
        return gutter

    def _code(self, row: Row, index: int) -> Text:
        if row.kind not in ("added", "removed", "context"):
            return Text(row.text)
        key = index if not self.split else index * 2 + (row.kind == "added")
        cached = self._highlighted.get(key)
        if cached is None:
            cached = (
                self._syntax.highlight(row.text) if self._syntax is not None else Text(row.text)
            )
            _foreground_only(cached)
            cached.rstrip()
            self._highlighted[key] = cached
        return cached.copy()

    def _row_text(self, row: Row, index: int, width: int) -> Text:
        app = self.app
        muted = colour(app, "foreground-muted")
        if row.kind in ("info", "hunk"):
            line = Text.assemble(
                self._gutter(row), (f" {row.text}", f"bold {colour(app, KIND_COLOUR[row.kind])}")
            )
            return self._cut(line, width, row)
        numbers = f"{row.old_no or '':>5} {row.new_no or '':>5} "
        line = Text.assemble(self._gutter(row), (numbers, muted))
        line.append(
            MARK.get(row.kind, " "),
            style=f"bold {colour(app, KIND_COLOUR.get(row.kind, 'foreground'))}",
        )
        line.append_text(self._styled(row, index))
        return self._cut(line, width, row)

    def _cut(self, line: Text, width: int, row: Row | None, *, pad: bool = False) -> Text:
        """``line`` in ``width`` cells; a longer one ends in the muted cut marker (on the
        row's tint, if it has one)."""
        if line.cell_len > width > 1:
            line.truncate(width - 1)
            marker = Style(color=colour(self.app, "foreground-muted"))
            if row is not None and row.kind in ("added", "removed"):
                marker += Style(bgcolor=self._tint_of(row))
            line.append(CUT, style=marker)
        else:
            line.truncate(width, pad=pad)
        return line

    def _tint(self, hex_colour: str) -> str:
        """A changed line's background: its colour faintly over the theme's background
        (so light and dark themes both read)."""
        base = Color.parse(colour(self.app, "background"))
        return base.blend(Color.parse(hex_colour), 0.18).hex6

    def _tint_of(self, row: Row) -> str:
        """An added or removed line's background."""
        return self._tint(colour(self.app, "success" if row.kind == "added" else "error"))

    def _styled(self, row: Row, index: int) -> Text:
        code = self._code(row, index)
        if row.kind in ("added", "removed") and self.verdict_of(row) == "rejected":
            code.stylize("strike")
        if row.kind in ("added", "removed"):
            code.stylize(Style(bgcolor=self._tint_of(row)))
        return code

    def _split_text(self, row: SplitRow, index: int, width: int) -> Text:
        if row.full and row.left is not None:
            return self._row_text(row.left, index, width)
        half = max((width - 1) // 2, 10)
        app = self.app
        muted = colour(app, "foreground-muted")
        line = Text()
        for side, no_of in ((row.left, "old_no"), (row.right, "new_no")):
            part = Text()
            if side is not None:
                part.append_text(self._gutter(side))
                part.append(f"{getattr(side, no_of) or '':>5} ", style=muted)
                part.append_text(self._styled(side, index))
            line.append_text(self._cut(part, half, side, pad=True))
            if no_of == "old_no":
                line.append("│", style=muted)
        return line


def _foreground_only(text: Text) -> None:
    """Drop the backgrounds a highlighting theme paints: the diff's own tints (added,
    removed, the cursor) must show through."""
    text.style = ""
    text.spans = [Span(span.start, span.end, _fg(span.style)) for span in text.spans if span.style]


def _fg(style: str | Style) -> Style:
    parsed = Style.parse(style) if isinstance(style, str) else style
    return Style(color=parsed.color, bold=parsed.bold, italic=parsed.italic)


def _syntax_for(path: str, dark: bool) -> Syntax | None:
    """A highlighter for the file's language (by its name), or None when unknown."""
    name = Syntax.guess_lexer(path, code="")
    if name in ("default", "text"):
        return None
    try:
        # The lexer object, not its name: given a name, every highlight looks it up anew.
        lexer = get_lexer_by_name(name, stripnl=False, ensurenl=True, tabsize=4)
    except ClassNotFound:
        return None
    theme = "ansi_dark" if dark else "ansi_light"
    return Syntax("", lexer, theme=theme, background_color="default")
