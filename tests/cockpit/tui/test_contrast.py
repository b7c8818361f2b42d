"""Every cell the cockpit draws carries its theme's colours, and text is legible.

The review screen and the main screen are drawn in each shipped theme; every cell must
have an explicit foreground and background (never the terminal's defaults, which on a
terminal with other colours than the theme's make text vanish), and every character of
text must reach a contrast ratio of 4.5 : 1 (WCAG 2) against its background on plain,
added, removed and selected rows, both in true colour and reduced to the 256 colours of
a terminal such as tmux without true colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pilotkit import SIZE, make_app, start_run, state_of, until, view_of
from rich.color import Color as RichColor
from rich.color import ColorSystem
from rich.color_triplet import ColorTriplet
from textual.app import App

from cockpit.client import open_client
from cockpit.tui.model import RunView
from cockpit.tui.screens.review import ReviewScreen
from cockpit.tui.themes import SHIPPED_THEMES, register_themes
from cockpit.tui.widgets.diff_panel import DiffPanel
from cockpit.tui.widgets.diff_view import DiffView
from engine.adapters.store.sqlite import SqliteRunStore
from engine.domain.models import Run
from engine.domain.state import RunState
from engine.workspace import Workspace, open_workspace
from enginekit import git

MINIMUM = 4.5

#: Box drawing, block elements and the like: lines, not text.
NOT_TEXT = {chr(c) for c in range(0x2500, 0x25A0)}

BEFORE = '"""Request handlers."""\n\n\ndef login(user: str, password: str) -> dict:\n    """Log a user in."""\n    if not user or not password:\n        return {"status": 400}\n    return {"status": 200, "user": user}\n'
AFTER = '"""Request handlers."""\n\nfrom app.limiter import Limiter\n\n_limiter = Limiter()\n\n\ndef login(user: str, password: str) -> dict:\n    """Log a user in (rate limited per user)."""\n    if not _limiter.allow(user):\n        return {"status": 429}\n    if not user or not password:\n        return {"status": 400}\n    return {"status": 200, "user": user}\n'


def luminance(rgb: ColorTriplet) -> float:
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2])


def contrast(a: ColorTriplet, b: ColorTriplet) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@dataclass(frozen=True)
class Problem:
    y: int
    text: str
    what: str


def problems(app: App, system: ColorSystem) -> list[Problem]:
    """Cells of the screen with a terminal default colour or illegible text."""
    found: list[Problem] = []

    def shown(colour: RichColor, foreground: bool) -> ColorTriplet:
        if system is ColorSystem.EIGHT_BIT:
            colour = colour.downgrade(ColorSystem.EIGHT_BIT)
        return colour.get_truecolor(app.ansi_theme, foreground=foreground)

    for y, strip in enumerate(app.screen._compositor.render_strips()):
        for segment in strip:
            style, text = segment.style, segment.text
            is_text = any(not ch.isspace() and ch not in NOT_TEXT for ch in text)
            if style is None or style.bgcolor is None or style.bgcolor.is_default:
                found.append(Problem(y, text, "terminal's default background"))
                continue
            if not is_text:
                continue
            if style.color is None or style.color.is_default:
                found.append(Problem(y, text, "terminal's default foreground"))
                continue
            if style.dim:
                found.append(Problem(y, text, "dim: the terminal decides its colour"))
                continue
            fg, bg = shown(style.color, True), shown(style.bgcolor, False)
            if style.reverse:
                fg, bg = bg, fg
            ratio = contrast(fg, bg)
            if ratio < MINIMUM:
                found.append(Problem(y, text, f"contrast {ratio:.2f} ({fg.hex} on {bg.hex})"))
    return found


def review_workspace(root: Path) -> tuple[Workspace, Run]:
    repo = root / "repos" / "app"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "handlers.py").write_text(BEFORE)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    base = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "switch", "-q", "-c", "cockpit/c0ffee00")
    (repo / "app" / "handlers.py").write_text(AFTER)
    git(repo, "commit", "-q", "-am", "rate limit")
    git(repo, "switch", "-q", "main")
    ws_root = root / "ws"
    ws_root.mkdir()
    (ws_root / "cockpit.toml").write_text('[repos.app]\npath = "../repos/app"\nbase = "main"\n')
    at = datetime(2026, 1, 1, tzinfo=UTC)
    run = Run(
        id="c0ffee00",
        repo="app",
        task="rate limit",
        agent="scripted",
        state=RunState.FINISHED,
        branch="cockpit/c0ffee00",
        base="main",
        base_sha=base,
        worktree=str(ws_root / "gone"),
        turns_completed=1,
        created_at=at,
        updated_at=at,
        finished_at=at,
    )
    return open_workspace(ws_root), run


class ReviewApp(App[None]):
    def __init__(self, ws: Workspace, run: Run, theme: str) -> None:
        super().__init__()
        self.ws, self.run_, self.theme_name = ws, run, theme

    async def on_mount(self) -> None:
        register_themes(self, None)
        self.theme = self.theme_name
        store = SqliteRunStore(self.ws.db_path)
        await store.open()
        try:
            await store.insert_run(self.run_)
        finally:
            await store.close()
        self._opened = open_client(self.ws, listen=False)
        client = await self._opened.__aenter__()
        await self.push_screen(ReviewScreen(client, RunView(self.run_)))

    async def on_unmount(self) -> None:
        await self._opened.__aexit__(None, None, None)


def screen_text(app: App) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def report(found: list[Problem]) -> str:
    return "\n".join(f"row {p.y}: {p.text!r}: {p.what}" for p in found[:30])


SYSTEMS = [ColorSystem.TRUECOLOR, ColorSystem.EIGHT_BIT]


@pytest.mark.parametrize("theme", SHIPPED_THEMES)
async def test_the_review_is_legible_in_every_theme(tmp_path: Path, theme: str) -> None:
    ws, run = review_workspace(tmp_path)
    app = ReviewApp(ws, run, theme)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.files)
        diff = app.screen.query_one(DiffView)
        await until(pilot, lambda: len(diff.rows) > 5)
        # The cursor on an added line, a range selected over added and context lines.
        kinds = [getattr(diff.row_at(i), "kind", "") for i in range(len(diff.rows))]
        first_added = kinds.index("added")
        diff.move_to(first_added + 1)
        diff.move_to(first_added + 4, select=True)
        await pilot.pause()
        drawn = {getattr(diff.row_at(i), "kind", "") for i in range(len(diff.rows))}
        assert {"added", "removed", "context"} <= drawn
        for system in SYSTEMS:
            found = problems(app, system)
            assert not found, f"{theme}, {system.name}:\n{report(found)}"
        await pilot.press("s")  # side by side: removed beside added
        await pilot.pause()
        for system in SYSTEMS:
            found = problems(app, system)
            assert not found, f"{theme}, {system.name}, side by side:\n{report(found)}"


@pytest.mark.parametrize("theme", SHIPPED_THEMES)
async def test_the_main_screen_is_legible_in_every_theme(
    workspace_root: Path, scenario, theme: str
) -> None:
    app = make_app(open_workspace(workspace_root))
    async with app.run_test(size=SIZE) as pilot:
        app.theme = theme
        edit = (
            '[[step]]\nwrite = { path = "a.txt", content = "one\\ntwo\\n" }\n'
            '[[step]]\nedit = { path = "README.md", old = "# app", new = "# app, improved" }\n'
        )
        run_id = await start_run(pilot, scenario(edit), "two files")
        await until(pilot, lambda: state_of(app, run_id) is RunState.FINISHED)
        await until(pilot, lambda: app.main_screen.selected_run_id() == run_id)
        await until(pilot, lambda: view_of(app, run_id).diff is not None)
        app.query_one(DiffPanel).action_toggle_hunks()  # `d`: added and removed lines
        await until(pilot, lambda: "+# app, improved" in screen_text(app))
        for system in SYSTEMS:
            found = problems(app, system)
            assert not found, f"{theme}, {system.name}:\n{report(found)}"
