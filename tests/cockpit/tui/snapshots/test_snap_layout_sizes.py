"""The cockpit at 80×24, 120×40 and 200×60: snapshots, and the widths that make it usable.

The screens are the deterministic ones of ``snapshots/test_snap_app.py`` (four stored
runs, a frozen clock) and ``snapshots/test_snap_review.py`` (a fixed repo and run); their
builders are reused here, only the terminal size changes. The review runs in its small
app with the cockpit's stylesheet and breakpoints, as it does inside the cockpit.

Regenerate with ``.venv/bin/python -m pytest tests/cockpit/tui/snapshots/test_snap_layout_sizes.py
--snapshot-update`` and look at the SVGs before committing them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from rich.color import Color as RichColor
from test_snap_app import _cockpit, _settled, frozen_clock
from test_snap_review import ReviewApp, _app, _loaded
from textual.pilot import Pilot
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

import cockpit.tui.app
from cockpit.tui.app import CockpitApp
from cockpit.tui.review_rows import SplitRow
from cockpit.tui.themes import legible
from cockpit.tui.widgets.diff_view import CUT, SIDE_MIN, DiffView
from cockpit.tui.widgets.glyphs import colour
from cockpit.tui.widgets.prompt_bar import PromptBar
from cockpit.tui.widgets.run_list import RunList
from cockpit.tui.widgets.run_pane import RunPane, Transcript

__all__ = ["frozen_clock"]  # a fixture: imported here for pytest to find it

SIZES = [(80, 24), (120, 40), (200, 60)]


def _ids(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


class StyledReviewApp(ReviewApp):
    """The review screen with the cockpit's stylesheet and breakpoints."""

    CSS_PATH = str(Path(cockpit.tui.app.__file__).with_name("app.tcss"))
    HORIZONTAL_BREAKPOINTS = CockpitApp.HORIZONTAL_BREAKPOINTS


def _review() -> StyledReviewApp:
    plain = _app()
    return StyledReviewApp(plain.ws, plain.view)


async def _press_s(pilot: Pilot[None]) -> None:
    await pilot.press("s")
    await pilot.pause()


# --- snapshots ------------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_main_screen_sizes(snap_compare, frozen_clock, size: tuple[int, int]) -> None:
    """The main screen of ``test_main_screen_with_runs`` at each size.

    80×24: the run list is a short box above the run pane with the waiting run's row
    (highlighted) in sight; the pane has the full width, its transcript above "no diff
    yet"; a one-line prompt bar; the footer's keys fit (no command palette key).
    120×40 and 200×60: list and pane side by side, the list's rows with their repo
    column. Header, prompt bar and footer are whole at every size.
    """
    app = _cockpit(f"layout-{_ids(size)}", select="a5k5e5d5")
    assert snap_compare(app, terminal_size=size, run_before=_settled())


@pytest.mark.parametrize("size", SIZES[:2], ids=_ids)
def test_review_side_by_side_sizes(snap_compare, size: tuple[int, int]) -> None:
    """The review of ``test_review_side_by_side`` (s pressed) at 80×24 and 120×40.

    80×24: the three files are a short box above the diff, which has the full width but
    not two sides of 40 columns: it stays unified, its border title saying "side by
    side needs ≥ 84 columns: unified" in the warning colour; the key hints wrap to four
    lines, all shown. 120×40: the file list beside the diff takes 30% of the width; the
    diff is side by side, its cut lines ending in a muted "…".
    """
    assert snap_compare(_review(), terminal_size=size, run_before=_loaded(_press_s))


# --- widths ---------------------------------------------------------------------------
def _in_cockpit(size: tuple[int, int], check: Callable[[Pilot[Any]], Awaitable[None]]) -> None:
    """Run ``check`` on the snapshot cockpit (waiting run selected) at ``size``."""
    app = _cockpit(f"layout-pilot-{_ids(size)}", select="a5k5e5d5")

    async def run() -> None:
        async with app.run_test(size=size) as pilot:
            await _settled()(pilot)
            await check(pilot)

    asyncio.run(run())


def _highlight_in_sight(run_list: RunList) -> bool:
    assert run_list.highlighted is not None
    line = run_list._index_to_line[run_list.highlighted]
    top = int(run_list.scroll_y)
    return top <= line < top + run_list.scrollable_content_region.height


def _footer_fits(app) -> bool:
    footer = app.screen.query_one(Footer)
    shown = [key for key in footer.query(FooterKey) if key.display]
    return all(key.region.right <= app.size.width for key in shown)


def test_at_80_columns_the_list_stacks_above_a_full_width_pane(frozen_clock) -> None:
    async def check(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert app.screen.has_class("-narrow")
        run_list, pane = app.query_one(RunList), app.query_one(RunPane)
        assert run_list.region.bottom <= pane.region.y
        assert app.query_one(Transcript).region.width >= 70
        assert run_list.highlighted_option is not None
        assert run_list.highlighted_option.id == "run:a5k5e5d5"
        assert _highlight_in_sight(run_list)
        # The stacked list is wide: its rows keep the repo column.
        assert not run_list.compact
        prompt = app.query_one(PromptBar)
        assert prompt.region.height >= 1
        assert prompt.region.bottom <= app.size.height - 1  # above the footer
        assert _footer_fits(app)

    _in_cockpit((80, 24), check)


def test_at_100_columns_the_list_narrows_to_id_glyph_and_task(frozen_clock) -> None:
    async def check(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert app.screen.has_class("-medium")
        run_list = app.query_one(RunList)
        assert run_list.outer_size.width <= 32
        assert run_list.compact
        row = run_list.get_option("run:f1a2b3c4").prompt
        assert str(row).split()[:3] == ["✓", "f1a2b3c4", "add"]  # no repo column
        assert app.query_one(Transcript).region.width >= 40
        assert _footer_fits(app)

    _in_cockpit((100, 30), check)


def test_resizing_moves_between_the_layouts(frozen_clock) -> None:
    async def check(pilot: Pilot[None]) -> None:
        app = pilot.app
        run_list = app.query_one(RunList)
        assert app.screen.has_class("-wide")
        assert run_list.outer_size.width == 46
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.1)
        assert app.screen.has_class("-narrow")
        assert run_list.region.bottom <= app.query_one(RunPane).region.y
        assert _highlight_in_sight(run_list)
        await pilot.resize_terminal(100, 30)
        await pilot.pause(0.1)
        assert run_list.compact
        await pilot.resize_terminal(160, 48)
        await pilot.pause(0.1)
        assert app.screen.has_class("-wide")
        assert run_list.outer_size.width == 46
        assert not run_list.compact
        assert "app" in str(run_list.get_option("run:f1a2b3c4").prompt).split()

    _in_cockpit((160, 48), check)


def _in_review(size: tuple[int, int], check: Callable[[Pilot[None]], Awaitable[None]]) -> None:
    app = _review()

    async def run() -> None:
        async with app.run_test(size=size) as pilot:
            await _loaded()(pilot)
            await check(pilot)

    asyncio.run(run())


def test_side_by_side_at_80_columns_is_unified_with_a_note() -> None:
    async def check(pilot: Pilot[None]) -> None:
        diff = pilot.app.screen.query_one(DiffView)
        here = diff.row_at(diff.cursor)
        await pilot.press("s")
        await pilot.pause()
        assert diff.side_by_side and not diff.split
        assert not any(isinstance(row, SplitRow) for row in diff.rows)
        assert diff.border_title is not None
        assert diff.border_title.startswith("side by side needs ≥ ")
        assert diff.border_title.endswith(" columns: unified")
        # The files are above the diff, which has the whole width.
        assert diff.region.width >= 76
        # Wider: side by side, the cursor on the same line; narrower again: unified.
        await pilot.resize_terminal(200, 50)
        await pilot.pause(0.1)
        assert diff.split and diff.border_title is None
        assert diff.scrollable_content_region.width // 2 >= SIDE_MIN
        assert isinstance(diff.rows[diff.cursor], SplitRow)
        assert here in diff.rows[diff.cursor].rows
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.1)
        assert not diff.split and diff.row_at(diff.cursor) == here
        assert diff.border_title is not None
        # s again: unified asked for, no note.
        await pilot.press("s")
        await pilot.pause()
        assert not diff.side_by_side and diff.border_title is None

    _in_review((80, 24), check)


def test_lines_cut_side_by_side_end_in_a_muted_marker() -> None:
    async def check(pilot: Pilot[None]) -> None:
        app = pilot.app
        diff = app.screen.query_one(DiffView)
        await pilot.press("s")
        await pilot.pause()
        assert diff.split
        lines = [diff.render_line(y) for y in range(diff.scrollable_content_region.height)]
        cut = [line for line in lines if CUT in line.text]
        assert cut, "the long docstring and return lines are cut"
        muted = RichColor.parse(colour(app, "foreground-muted")).get_truecolor()
        for line in cut:
            marks = [seg.style for seg in line if seg.text == CUT]
            assert marks
            for style in marks:
                # The muted colour, as made legible on the row's (tinted) background.
                assert style is not None and style.color and style.bgcolor
                assert style.color.triplet == legible(muted, style.bgcolor.get_truecolor())

    _in_review((140, 36), check)
