"""What the UI benchmarks share: stamping the frame that first shows an expected change."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual.app import App


class FrameWatch:
    """Stamps the first frame that shows an expected change.

    Wraps the app's ``_display``, which Textual calls with each composed screen update
    (headless, it is not written anywhere). Rendering and event handling share one
    thread, so a frame composed after the change was made holds it: the check runs right
    after each frame, exactly, with no polling delay and no wait for a later refresh.
    """

    def __init__(self, app: App) -> None:
        self._check: Callable[[], bool] | None = None
        self._shown: asyncio.Future[float] | None = None
        display = app._display

        def watched(screen, renderable) -> None:
            display(screen, renderable)
            shown, check = self._shown, self._check
            if renderable is None or check is None or shown is None or shown.done():
                return  # no frame, or none expected
            if check():
                shown.set_result(time.perf_counter())

        app._display = watched

    def expect(self, check: Callable[[], bool]) -> None:
        """The next frame for which ``check()`` holds is the one to stamp."""
        self._check = check
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
