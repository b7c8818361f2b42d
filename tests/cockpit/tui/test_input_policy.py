"""What the cockpit does while keys are pressed: full garbage collections wait for a quiet
keyboard, streaming panes redraw less often."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from cockpit.tui.memory import FULL_AT_LATEST, FULL_EVERY, NO_AUTOMATIC_FULL, QUIET, Collector


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    yield saved
    gc.set_threshold(*saved)


def test_settle_stops_automatic_full_collections_and_release_restores_them(thresholds) -> None:
    collector = Collector()
    collector.settle()
    assert gc.get_threshold() == (thresholds[0], thresholds[1], NO_AUTOMATIC_FULL)
    collector.settle()  # twice: still the thresholds from before the first
    collector.release()
    assert gc.get_threshold() == thresholds


def test_full_collections_wait_for_a_quiet_keyboard(thresholds) -> None:
    clock = Clock()
    collector = Collector(clock)
    assert not collector.tick()  # not settled: Python's own thresholds decide
    collector.settle()
    clock.now += FULL_EVERY - 1
    assert not collector.tick()  # too soon after the last one
    clock.now += 2
    collector.input_seen()
    clock.now += QUIET / 2
    assert not collector.tick()  # due, but someone is typing
    clock.now += QUIET
    assert collector.tick()  # due and quiet
    assert not collector.tick()  # and not again at once


def test_a_full_collection_runs_at_the_latest_even_while_typing(thresholds) -> None:
    clock = Clock()
    collector = Collector(clock)
    collector.settle()
    for _ in range(int(FULL_AT_LATEST) - 1):
        clock.now += 1
        collector.input_seen()
        assert not collector.tick()
    clock.now += 1
    collector.input_seen()
    assert collector.tick()


def test_streaming_panes_redraw_less_often_while_keys_are_pressed() -> None:
    from cockpit.tui.throttle import (
        RENDER_INTERVAL,
        RENDER_INTERVAL_TYPING,
        TYPING,
        render_interval,
    )

    assert RENDER_INTERVAL_TYPING > RENDER_INTERVAL
    assert render_interval(0.0) == RENDER_INTERVAL_TYPING
    assert render_interval(TYPING / 2) == RENDER_INTERVAL_TYPING
    assert render_interval(TYPING) == RENDER_INTERVAL
    assert render_interval(60.0) == RENDER_INTERVAL
