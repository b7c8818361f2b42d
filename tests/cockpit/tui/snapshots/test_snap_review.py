"""Snapshots of the review screen: unified and side by side, gate findings in the gutter.

Deterministic: a fixed repo at a fixed path whose run branch holds a fixed change (the
screen shows no commit ids), a run written straight into the store, and a gate verdict
folded into the run's view. The screen runs in a small app around it with a real engine
(it reads the diff through git).

Regenerate with ``.venv/bin/python -m pytest tests/cockpit/tui/snapshots --snapshot-update``
and look at the SVGs before committing them.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from pathlib import Path

from textual.app import App
from textual.pilot import Pilot

from cockpit.client import InProcessClient, open_client
from cockpit.tui.model import RunView
from cockpit.tui.screens.review import ReviewScreen
from cockpit.tui.themes import register_themes
from cockpit.tui.widgets.diff_view import DiffView
from engine.adapters.store.sqlite import SqliteRunStore
from engine.domain.events import GateDecided
from engine.domain.models import Run
from engine.domain.state import RunState
from engine.workspace import Workspace, open_workspace
from enginekit import git

SIZE = (140, 36)
BASE = Path(tempfile.gettempdir()) / "cockpit-snapshots" / "review"
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

APP_BEFORE = '''"""Request handlers."""


def login(user: str, password: str) -> dict:
    """Log a user in."""
    if not user or not password:
        return {"status": 400}
    return {"status": 200, "user": user}
'''
APP_AFTER = '''"""Request handlers."""

from app.limiter import Limiter

_limiter = Limiter()


def login(user: str, password: str) -> dict:
    """Log a user in (rate limited per user)."""
    if not _limiter.allow(user):
        return {"status": 429}
    if not user or not password:
        return {"status": 400}
    return {"status": 200, "user": user}
'''
LIMITER = '''"""A fixed-window rate limiter."""


class Limiter:
    def __init__(self, limit=5):
        self.limit = limit
        self.hits = {}

    def allow(self, key):
        self.hits[key] = self.hits.get(key, 0) + 1
        return self.hits[key] <= self.limit
'''


def _workspace() -> tuple[Workspace, Run]:
    shutil.rmtree(BASE, ignore_errors=True)
    repo = BASE / "repos" / "app"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "handlers.py").write_text(APP_BEFORE)
    (repo / "README.md").write_text("# app\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    base = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "switch", "-q", "-c", "cockpit/r3v13w00")
    (repo / "app" / "handlers.py").write_text(APP_AFTER)
    (repo / "app" / "limiter.py").write_text(LIMITER)
    (repo / "README.md").unlink()
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "rate limit")
    git(repo, "switch", "-q", "main")
    root = BASE / "ws"
    root.mkdir()
    (root / "cockpit.toml").write_text('[repos.app]\npath = "../repos/app"\nbase = "main"\n')
    ws = open_workspace(root)
    run = Run(
        id="r3v13w00",
        repo="app",
        task="add rate limiting to /login",
        agent="scripted",
        state=RunState.FINISHED,
        branch="cockpit/r3v13w00",
        base="main",
        base_sha=base,
        worktree=str(root / "worktree-not-needed"),
        turns_completed=2,
        created_at=T0,
        updated_at=T0,
        finished_at=T0,
    )

    async def seed() -> None:
        store = SqliteRunStore(ws.db_path)
        await store.open()
        try:
            await store.insert_run(run)
        finally:
            await store.close()

    asyncio.run(seed())
    return ws, run


class ReviewApp(App[None]):
    """The review screen over a real engine, and nothing else."""

    def __init__(self, ws: Workspace, view: RunView) -> None:
        super().__init__()
        self.ws = ws
        self.view = view
        self._opened: AbstractAsyncContextManager[InProcessClient] | None = None

    async def on_mount(self) -> None:
        register_themes(self, None)
        self.theme = "cockpit-dark"
        self._opened = open_client(self.ws, listen=False)
        client = await self._opened.__aenter__()
        await self.push_screen(ReviewScreen(client, self.view))

    async def on_unmount(self) -> None:
        if self._opened is not None:
            await self._opened.__aexit__(None, None, None)


def _app() -> ReviewApp:
    ws, run = _workspace()
    view = RunView(run)
    view.apply(
        GateDecided(
            run_id=run.id,
            seq=1,
            at=T0,
            name="lint",
            kind="ruff",
            status="failed",
            findings=[
                {"path": "app/handlers.py", "line": 10, "code": "E501", "message": "too long"}
            ],
        )
    )
    return ReviewApp(ws, view)


def _loaded(then=None):
    async def run_before(pilot: Pilot[None]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while not (isinstance(pilot.app.screen, ReviewScreen) and len(pilot.app.screen.files) == 3):
            assert loop.time() < deadline, "the review screen did not load"
            await pilot.pause(0.05)
        # The handlers file: the one with the finding.
        screen = pilot.app.screen
        await pilot.press("slash", *"handlers", "enter")
        while screen.files[screen.index].path != "app/handlers.py":
            await pilot.pause(0.05)
        await pilot.press("n", "j", "j", "j", "x")  # reject the first hunk's third line on
        if then is not None:
            await then(pilot)
        await pilot.pause()

    return run_before


def test_review_unified_with_a_finding_in_the_gutter(snap_compare) -> None:
    """The review of r3v13w00: title "Review r3v13w00 · app · add rate limiting to /login",
    "the whole run · 3 file(s) +18 -2 · file 2/3 · 1 rejected, 0 comment(s)"; on the
    left D README.md, M app/handlers.py (with "●1" and "✗1" in the error colour), A
    app/limiter.py; on the right app/handlers.py's one hunk with old and new line numbers,
    highlighted Python, added lines on a faint green background, the removed docstring on
    a faint red one; the hunk is rejected: ✗ marks on its header and changed lines, which
    are struck through (context lines are not); new line 10 has a red ● (the finding) in
    the gutter; the cursor row is shaded; two lines of key hints at the bottom.
    """
    assert snap_compare(_app(), terminal_size=SIZE, run_before=_loaded())


def test_review_side_by_side(snap_compare) -> None:
    """The same review side by side (s): old lines left, new lines right of a │, the
    removed docstring beside the two lines replacing it, hunk headers full width."""

    async def split(pilot: Pilot[None]) -> None:
        await pilot.press("s")
        assert pilot.app.screen.query_one(DiffView).side_by_side

    assert snap_compare(_app(), terminal_size=SIZE, run_before=_loaded(split))
