"""Snapshots of the cockpit itself: the main screen, a zoomed run pane, the inbox.

Deterministic by construction: runs and events are written straight into the store with
fixed ids, times and seqs (no agent executes), the app's engine claims nothing, the clock
used for ages and elapsed times is frozen, and the workspace lives at a fixed path (the
header shows it).

Regenerate with ``.venv/bin/python -m pytest tests/cockpit/tui/snapshots --snapshot-update``
and look at the SVGs before committing them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from textual.pilot import Pilot

import cockpit.render
import cockpit.tui.model
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens.inbox import InboxScreen
from cockpit.tui.settings import UiSettings, save_settings
from cockpit.tui.widgets.run_list import RunList
from engine.adapters.store.sqlite import SqliteRunStore
from engine.domain.events import (
    AgentText,
    ErrorOccurred,
    Event,
    FileChanged,
    HumanAsked,
    RunStateChanged,
    ToolCallFinished,
    ToolCallRequested,
    TurnFinished,
    UsageReported,
    WorkCommitted,
)
from engine.domain.models import EngineId, Run
from engine.domain.state import RunState
from engine.services.engine import EngineOptions
from engine.services.recovery import HOST
from engine.workspace import Workspace, open_workspace
from enginekit import git

SIZE = (160, 48)
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
#: The frozen "now": one hour after the first run was created.
NOW = T0 + timedelta(hours=1)
#: Where the snapshot workspaces live (a fixed path: the header shows the workspace root).
BASE = Path(tempfile.gettempdir()) / "cockpit-snapshots"

TOML = """
[limits]
max_running = 4
max_running_per_repo = 2

[repos.app]
path = "../repos/app"
base = "main"

[repos.lib]
path = "../repos/lib"
base = "main"

[agents.scripted]
backend = "scripted"
"""


def _build_workspace(name: str) -> Workspace:
    """A fresh workspace at ``BASE/name/ws`` with clean repos ``app`` and ``lib``."""
    top = BASE / name
    shutil.rmtree(top, ignore_errors=True)
    for repo in ("app", "lib"):
        path = top / "repos" / repo
        (path / "src").mkdir(parents=True)
        (path / "README.md").write_text(f"# {repo}\n")
        (path / "src" / "main.py").write_text("x = 1\n")
        git(path, "init", "-q", "-b", "main")
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", "initial")
    root = top / "ws"
    root.mkdir()
    (root / "cockpit.toml").write_text(TOML)
    return open_workspace(root)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class _Events:
    """Events of one run with dense seqs and fixed times."""

    def __init__(self, run_id: str, start: float) -> None:
        self.run_id = run_id
        self.minute = start
        self.events: list[Event] = []
        self.state: RunState | None = None

    def _base(self, step: float) -> dict:
        self.minute += step
        return {"run_id": self.run_id, "seq": len(self.events) + 1, "at": _at(self.minute)}

    def state_to(self, new: RunState, reason: str | None = None, step: float = 0.5) -> None:
        event = RunStateChanged(**self._base(step), old=self.state, new=new, reason=reason)
        self.events.append(event)
        self.state = new

    def add(self, cls: type, step: float = 0.5, **fields) -> None:
        self.events.append(cls(**self._base(step), **fields))


def _finished_run() -> tuple[Run, list[Event]]:
    ev = _Events("f1a2b3c4", 0)
    ev.state_to(RunState.QUEUED, "submitted", step=0)
    ev.state_to(RunState.STARTING)
    ev.state_to(RunState.RUNNING)
    ev.add(AgentText, text="Reading the login handler to see where a limiter fits.")
    ev.add(
        ToolCallRequested, call_id="c1", tool="shell", kind="shell", arguments={"command": "ls -1"}
    )
    ev.add(
        ToolCallFinished,
        call_id="c1",
        tool="shell",
        output="README.md\nsrc\ntests\npyproject.toml\nsetup.cfg\nMakefile\n",
        exit_code=0,
    )
    ev.add(TurnFinished, turn=1, ref="refs/cockpit/f1a2b3c4/turn-1", sha="1" * 40)
    ev.add(AgentText, text="Adding a small fixed-window rate limiter.")
    ev.add(
        ToolCallRequested,
        call_id="c2",
        tool="write",
        kind="write",
        arguments={"path": "src/limiter.py"},
    )
    ev.add(ToolCallFinished, call_id="c2", tool="write", output="wrote 18 lines")
    ev.add(FileChanged, path="src/limiter.py", change="added")
    ev.add(UsageReported, input_tokens=1200, output_tokens=345, cost_usd=0.0123)
    ev.add(TurnFinished, turn=2, ref="refs/cockpit/f1a2b3c4/turn-2", sha="2" * 40)
    ev.add(WorkCommitted, branch="cockpit/f1a2b3c4", sha="3" * 40, message="rate limiter")
    ev.state_to(RunState.FINISHED)
    run = Run(
        id="f1a2b3c4",
        repo="app",
        task="add a rate limiter to the login handler",
        agent="scripted",
        state=RunState.FINISHED,
        branch="cockpit/f1a2b3c4",
        base="main",
        turns_completed=2,
        created_at=_at(0),
        updated_at=_at(ev.minute),
        started_at=_at(1),
        finished_at=_at(ev.minute),
    )
    return run, ev.events


def _waiting_run() -> tuple[Run, list[Event]]:
    ev = _Events("a5k5e5d5", 10)
    ev.state_to(RunState.QUEUED, "submitted", step=0)
    ev.state_to(RunState.STARTING)
    ev.state_to(RunState.RUNNING)
    started = ev.minute
    ev.add(AgentText, text="The greeting module is written.")
    ev.add(TurnFinished, turn=1, ref="refs/cockpit/a5k5e5d5/turn-1", sha="4" * 40)
    ev.add(HumanAsked, question="Should I add tests for the greeting too?")
    ev.state_to(RunState.WAITING_FOR_HUMAN, "Should I add tests for the greeting too?", step=0)
    owner = EngineId(host=HOST, pid=os.getpid(), started=0.0).token
    run = Run(
        id="a5k5e5d5",
        repo="lib",
        task="write a greeting helper",
        agent="scripted",
        state=RunState.WAITING_FOR_HUMAN,
        branch="cockpit/a5k5e5d5",
        base="main",
        turns_completed=1,
        created_at=_at(10),
        updated_at=_at(ev.minute),
        started_at=_at(started),
        # Owned by this (live) process with a far lease: nobody reaps it as interrupted.
        owner=owner,
        lease_expires_at=datetime(2099, 1, 1, tzinfo=UTC),
    )
    return run, ev.events


def _failed_run() -> tuple[Run, list[Event]]:
    ev = _Events("dead0001", 20)
    ev.state_to(RunState.QUEUED, "submitted", step=0)
    ev.state_to(RunState.STARTING)
    ev.state_to(RunState.RUNNING)
    ev.add(AgentText, text="Trying the migration.")
    ev.add(ErrorOccurred, message="simulated crash", detail="Traceback: boom")
    ev.state_to(RunState.FAILED, "simulated crash")
    run = Run(
        id="dead0001",
        repo="app",
        task="migrate the settings to pydantic",
        agent="scripted",
        state=RunState.FAILED,
        branch="cockpit/dead0001",
        base="main",
        error="simulated crash",
        created_at=_at(20),
        updated_at=_at(ev.minute),
        started_at=_at(21),
        finished_at=_at(ev.minute),
    )
    return run, ev.events


def _queued_run() -> tuple[Run, list[Event]]:
    ev = _Events("0ueue000", 30)
    ev.state_to(RunState.QUEUED, "submitted", step=0)
    run = Run(
        id="0ueue000",
        repo="lib",
        task="document the public API",
        agent="scripted",
        branch="cockpit/0ueue000",
        base="main",
        created_at=_at(30),
        updated_at=_at(30),
    )
    return run, ev.events


async def _seed(ws: Workspace) -> None:
    store = SqliteRunStore(ws.db_path)
    await store.open()
    try:
        for run, events in (_finished_run(), _waiting_run(), _failed_run(), _queued_run()):
            await store.insert_run(run)
            await store.append_events(events)
    finally:
        await store.close()


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ages (inbox, run list) and elapsed times (run header) see a fixed now."""
    monkeypatch.setattr(cockpit.render, "utcnow", lambda: NOW)
    monkeypatch.setattr(cockpit.tui.model, "utcnow", lambda: NOW)


def _cockpit(name: str, select: str | None) -> CockpitApp:
    ws = _build_workspace(name)
    asyncio.run(_seed(ws))
    save_settings(UiSettings(theme="cockpit-dark"))
    # only=frozenset(): the engine claims nothing (the queued run stays queued).
    return CockpitApp(
        ws, engine_options=EngineOptions(only=frozenset(), lease_ttl=3600.0), select=select
    )


def _settled(then: Callable[[Pilot[None]], Awaitable[None]] | None = None):
    """``run_before``: wait until the store was loaded and the engine is done, then ``then``."""

    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, CockpitApp)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        # Ready means: runs loaded and the repos' first git status read (no "…" churn).
        while not (
            app.session.ready.is_set()
            and app.session.client is None
            and all(status is not None for status in app.model.repos.values())
        ):
            assert loop.time() < deadline, "the cockpit did not settle"
            await pilot.pause(0.05)
        assert app.theme == "cockpit-dark"
        if then is not None:
            await then(pilot)
        await pilot.pause()

    return run_before


def test_main_screen_with_runs(snap_compare, frozen_clock) -> None:
    """The main screen over four stored runs, the waiting one selected.

    You should see the header "Cockpit — ws" with "0 running · 1 queued · 3 waiting on
    you"; on the left REPOS (app, lib: main) and RUNS: ✓ f1a2b3c4 app, ? a5k5e5d5 lib (its
    task in the warning colour), ✗ dead0001 app, · 0ueue000 lib. On the right the run pane
    of a5k5e5d5: "? waiting for human", lib · scripted · turn 1 · 49m00s, the task, the
    question "Should I add tests for the greeting too?" with "type your answer below", and
    a transcript: starting/running state lines, the agent text, "turn 1 done", "? asks
    you › …" and the waiting state line; the diff panel says "no diff yet". The prompt bar
    and the footer are at the bottom; no toast.
    """
    app = _cockpit("main", select="a5k5e5d5")
    assert snap_compare(app, terminal_size=SIZE, run_before=_settled())


def test_zoomed_finished_run(snap_compare, frozen_clock) -> None:
    """The finished run, zoomed (z): the run list is hidden, the run pane is full width.

    You should see "✓ finished f1a2b3c4 · app · scripted · turn 2 · 6m00s · 1,545 tok ·
    $0.012", the task, and the transcript: state lines, agent text, "▶ shell ls -1", a
    "✓ shell (exit 0)" result collapsed to 4 indented lines, "… 2 more lines (e expands)",
    "turn 1 done", "▶ write src/limiter.py", "✓ write", "± added src/limiter.py", "turn
    2 done", "committed to cockpit/f1a2b3c4" and "— finished —". The zoom toast is
    dismissed.
    """

    async def zoom(pilot: Pilot[None]) -> None:
        await pilot.press("z")
        await pilot.pause()
        assert not pilot.app.query_one(RunList).display
        pilot.app.clear_notifications()

    app = _cockpit("zoom", select="f1a2b3c4")
    assert snap_compare(app, terminal_size=SIZE, run_before=_settled(zoom))


def test_inbox_open(snap_compare, frozen_clock) -> None:
    """The inbox (i), a centred box with a rounded warning-coloured border.

    You should see "Inbox — 3 waiting on you" and, oldest first: "1 review f1a2b3c4 ready
    for review: add a rate limiter to the login handler  53m ago" (highlighted), "2
    question a5k5e5d5 Should I add tests for the greeting too?  47m ago", "3 failed
    dead0001 failed: simulated crash  37m ago", then the hint "1-9 or enter: open ·
    escape: close". The main screen behind it is hidden, not dimmed (app.tcss gives every
    Screen an opaque background; see test_app_flows.py).
    """

    async def open_inbox(pilot: Pilot[None]) -> None:
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(pilot.app.screen, InboxScreen)

    app = _cockpit("inbox", select="a5k5e5d5")
    assert snap_compare(app, terminal_size=SIZE, run_before=_settled(open_inbox))
