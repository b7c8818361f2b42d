"""A RichLog that works out its style once per render instead of once per line."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Generator

from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip


@contextlib.contextmanager
def _without_attrs() -> Generator[None]:
    """``attrs`` hidden for the block (unless something loaded it already).

    ``rich.pretty``, which ``RichLog`` loads, imports ``attrs`` only to pretty-print
    attrs classes, and the cockpit never shows one; loading it was about 8 ms of the
    cockpit's start. Whatever imports ``attrs`` after the block gets it as usual.
    """
    if "attr" in sys.modules:
        yield
        return
    sys.modules["attr"] = None  # ty: ignore[invalid-assignment]  # importing it fails
    try:
        yield
    finally:
        if sys.modules.get("attr", 0) is None:
            del sys.modules["attr"]


with _without_attrs():
    from textual.widgets import RichLog


class Log(RichLog):
    """``RichLog.render_line`` asks for ``rich_style`` on every line, and Textual computes
    it by walking every ancestor's styles: with a tall transcript redrawn while runs
    stream that walk was most of a frame. Within one ``render_lines`` it cannot change."""

    _frame_style: Style | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        self._frame_style = super().rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._frame_style = None

    @property
    def rich_style(self) -> Style:
        """The widget's style (computed once per render)."""
        return self._frame_style if self._frame_style is not None else super().rich_style
