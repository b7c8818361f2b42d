"""How often streaming panes are redrawn.

Many events between two frames cost one widget update, and streaming panes are redrawn
at most every RENDER_INTERVAL: a growing transcript relayouts the whole screen in
Textual, which 60 times a second would starve the keyboard. Keys (selection, zoom…)
redraw at once, not through here.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.message_pump import MessagePump

from cockpit.tui.memory import Collector

__all__ = [
    "RENDER_INTERVAL",
    "RENDER_INTERVAL_TYPING",
    "TYPING",
    "RenderThrottle",
    "render_interval",
]

#: Shortest time between two redraws of streaming panes (10 a second).
RENDER_INTERVAL = 0.1
#: The same while keys are being pressed (one in the last TYPING seconds): 4 a second.
#: Under load a streaming redraw takes ~15 ms, and a key arriving during one waits for
#: it; the frames go to the keys first.
RENDER_INTERVAL_TYPING = 0.25
TYPING = 0.5


def render_interval(since_input: float) -> float:
    """Shortest time between two redraws of streaming panes, given the seconds since the
    last key or mouse event: RENDER_INTERVAL, or RENDER_INTERVAL_TYPING while typing."""
    return RENDER_INTERVAL_TYPING if since_input < TYPING else RENDER_INTERVAL


class RenderThrottle:
    """Calls ``render`` once for any number of requests, no sooner than the render
    interval after the last call.

    The calls are made from the app's message queue (its timers, after its next
    refresh), whoever asks: a timer's callback runs in the queue of the node that set
    it, and run from a screen's own queue a redraw lands among that screen's layout
    updates, where a transcript written could be scrolled to its end before its last
    line was laid out (following it one line short).
    """

    def __init__(self, node: MessagePump, collector: Collector, render: Callable[[], None]) -> None:
        self._node = node
        self._collector = collector
        self._render = render
        self._scheduled = False
        self._last = 0.0

    def request(self) -> None:
        """Have ``render`` called (once, however often asked before it is)."""
        if self._scheduled:
            return
        self._scheduled = True
        now = time.monotonic()
        interval = render_interval(now - self._collector.last_input)
        wait = self._last + interval - now
        app = self._node.app
        if wait > 0:
            app.set_timer(wait, self._run)
        else:
            app.call_after_refresh(self._run)

    def _run(self) -> None:
        self._scheduled = False
        self._last = time.monotonic()
        self._render()
