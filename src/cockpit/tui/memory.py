"""When Python's cyclic garbage collector may pause the cockpit.

A full collection walks every object the collector tracks. With 20 runs streaming, the
transcripts, events and rendered lines in memory made one take about 150 ms: a frozen
screen, with a key press waiting behind it. Young collections (under a millisecond) stay
automatic; full ones are left to :class:`Collector`, which runs them while the keyboard
and mouse are quiet, and at the latest every ``FULL_AT_LATEST`` seconds.

Start-up itself (``cockpit``: the modules loading, the app being built) runs with no
collection at all (:func:`starting`).
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Generator

#: Seconds without a key or mouse event before a full collection may run.
QUIET = 2.0
#: Fewest seconds between two full collections (when quiet).
FULL_EVERY = 30.0
#: Most seconds between two full collections, even while someone types without pause.
FULL_AT_LATEST = 300.0
#: The oldest generation's threshold while the cockpit decides: never reached in practice
#: (it counts young collections, a few hundred a minute).
NO_AUTOMATIC_FULL = 10**9


#: Whether :func:`starting` left collection off for the first frame to turn back on.
_held = False


@contextlib.contextmanager
def starting() -> Generator[None]:
    """No collection while the cockpit starts: loading its modules makes objects by the
    hundred thousand, nearly all of them for good, and each full pass walked them all
    (a good part of the start-up's time). What was made is then frozen, out of the
    collector's sight, until :meth:`Collector.settle` looks at everything once.
    Collection stays off until the first frame is drawn (:func:`first_frame_drawn`):
    composing the screen makes as many objects again, nearly all of them kept too."""
    global _held
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    except BaseException:
        if enabled:
            gc.enable()  # no screen to wait for
        raise
    finally:
        gc.freeze()
    _held = enabled


def first_frame_drawn() -> None:
    """The first frame is on the screen: collection goes on as before :func:`starting`."""
    global _held
    if _held:
        _held = False
        gc.enable()


class Collector:
    """Decides when full collections run; :meth:`settle` takes over, :meth:`release`
    gives the collector back its own thresholds (tests run many apps in one process)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last_input = clock()
        self._last_full = clock()
        self._saved: tuple[int, int, int] | None = None

    def settle(self) -> None:
        """After start-up: collect once, move what survived (modules, widgets, the stored
        runs) out of the collector's sight for good, and stop automatic full passes."""
        gc.unfreeze()  # what start-up froze (see starting) is looked at too
        gc.collect()
        gc.freeze()
        if self._saved is None:
            self._saved = gc.get_threshold()
        gen0, gen1, _ = self._saved
        gc.set_threshold(gen0, gen1, NO_AUTOMATIC_FULL)
        self._last_full = self._clock()

    @property
    def last_input(self) -> float:
        """When the last key or mouse event arrived (the clock's time)."""
        return self._last_input

    def input_seen(self) -> None:
        """A key or mouse event arrived."""
        self._last_input = self._clock()

    def tick(self) -> bool:
        """Run a full collection if one is due (call it every second or so); whether it ran."""
        if self._saved is None:
            return False
        now = self._clock()
        since_full = now - self._last_full
        quiet = now - self._last_input >= QUIET
        if since_full >= FULL_AT_LATEST or (quiet and since_full >= FULL_EVERY):
            gc.collect()
            self._last_full = self._clock()
            return True
        return False

    def release(self) -> None:
        """Give full collections back to Python (the app is closing)."""
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
