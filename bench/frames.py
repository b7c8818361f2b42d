"""What the UI benchmarks share: stamping the frame that first shows an expected change."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from rich.cells import cell_len
from rich.console import Console, ConsoleRenderable
from rich.segment import ControlType
from textual.app import App
from textual.geometry import Region
from textual.widget import Widget

#: What a frame must write where: ``(widget, text)`` pairs.
Writes = Callable[[], Sequence[tuple[Widget, str]]]


def written_in(update: ConsoleRenderable, console: Console, region: Region) -> str:
    """The text a composed frame (a Textual compositor update) writes inside ``region``,
    one line per screen row it touches there.

    A frame is a stream of cursor moves and styled text, as a terminal receives it; only
    what lands in the region counts, so text another widget repaints (a list row holding
    the same id) does not.
    """
    rows: dict[int, list[str]] = {}
    x = y = 0
    for segment in console.render(update, console.options):
        if segment.control:
            for code in segment.control:
                if code[0] is ControlType.CURSOR_MOVE_TO and len(code) == 3:
                    x, y = int(code[1]), int(code[2])
            continue
        text = segment.text
        if text == "\n":
            x, y = 0, y + 1
            continue
        if region.y <= y < region.bottom and region.x <= x < region.right:
            rows.setdefault(y, []).append(text)
        x += cell_len(text)
    return "\n".join("".join(rows[row]) for row in sorted(rows))


class FrameWatch:
    """Stamps the first frame that shows an expected change.

    Wraps the app's ``_display``, which Textual calls with each composed screen update
    (headless, it is not written anywhere). Rendering and event handling share one
    thread, so a frame composed after the change was made holds it: the check runs right
    after each frame, exactly, with no polling delay and no wait for a later refresh.

    A widget's new content is set some time before it is painted: Textual repaints the
    widgets marked dirty by the time of its next screen update, which may be a frame
    that repaints only another widget. So an expectation may also name text that the
    frame itself must write inside a widget's region (``writes``).
    """

    def __init__(self, app: App) -> None:
        self._check: Callable[[], bool] | None = None
        self._writes: Writes | None = None
        self._shown: asyncio.Future[float] | None = None
        display = app._display

        def watched(screen, renderable) -> None:
            display(screen, renderable)
            now = time.perf_counter()
            shown, check = self._shown, self._check
            if renderable is None or check is None or shown is None or shown.done():
                return  # no frame, or none expected
            if not check():
                return
            for widget, text in self._writes() if self._writes else ():
                if text not in written_in(renderable, app.console, widget.region):
                    return
            shown.set_result(now)

        app._display = watched

    def expect(self, check: Callable[[], bool], writes: Writes | None = None) -> None:
        """The next frame for which ``check()`` holds is the one to stamp; with ``writes``
        (asked once ``check()`` holds, so its widgets may be new), only if that frame also
        writes each of its texts inside its widget's region."""
        self._check = check
        self._writes = writes
        self._shown = asyncio.get_running_loop().create_future()

    async def wait(self, timeout: float, what: str) -> float:
        """``time.perf_counter()`` when the expected frame was composed."""
        assert self._shown is not None
        try:
            return await asyncio.wait_for(self._shown, timeout)
        except TimeoutError:
            raise RuntimeError(f"timed out waiting for {what}") from None
        finally:
            self._check = None
            self._writes = None
