"""The first snapshot brings every run and its facts, and no events: the run shown
first gets its page with it, every other run's events are read right after the first
frame (``EngineSession._read_late``). Every run's transcript is there all the same,
whether the cockpit hosts its engine or is the client of a detached one that it linked
to as the command started.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from detachedkit import client_app, start_engine
from pilotkit import SIZE, make_app, ready, transcript_text, until, view_of
from textual.pilot import Pilot

import cockpit.tui.session
from builders import finished_run, store_runs
from cockpit.client.early import open_early
from cockpit.client.remote import SocketClient
from cockpit.tui.app import CockpitApp
from cockpit.tui.model import RunView
from cockpit.tui.opening import FIRST_SNAPSHOT, ask_first
from cockpit.tui.selection import RunRow
from cockpit.tui.widgets.run_list import RunList
from engine.domain.events import AgentText, RunStateChanged
from engine.domain.models import Run, utcnow
from engine.domain.state import RunState
from engine.workspace import Workspace

#: Runs seeded, oldest first.
RUNS = 5
#: Events of each seeded run: queued, running, agent texts (seq 3…EVENTS-1), finished.
EVENTS = 8


def line(index: int, seq: int) -> str:
    """What the agent of the ``index``-th seeded run said as event ``seq``."""
    return f"run {index} said {seq}"


async def seed(ws: Workspace) -> list[str]:
    """RUNS finished runs, a minute apart, each with EVENTS events; ids oldest first."""
    start = utcnow() - timedelta(hours=1)
    return await store_runs(
        ws.db_path,
        (
            finished_run(
                f"o{index:07d}",
                "app",
                f"old task {index}",
                EVENTS,
                created=start + timedelta(minutes=index),
                text=f"run {index} said",
            )
            for index in range(RUNS)
        ),
    )


def said(app: CockpitApp, run_id: str) -> list[str]:
    return [e.text for e in view_of(app, run_id).entries if e.kind == "text"]


def every_run_loaded(app: CockpitApp, ids: list[str]) -> bool:
    return all(i in app.model.runs and view_of(app, i).last_seq == EVENTS for i in ids)


async def shows_every_run(pilot: Pilot, app: CockpitApp, ids: list[str]) -> None:
    """Every seeded run's view holds its events, each once and in order; the selected
    (oldest) run's transcript shows them, and so does another old run's once selected."""
    await until(pilot, lambda: every_run_loaded(app, ids))
    for index, run_id in enumerate(ids):
        view = view_of(app, run_id)
        assert said(app, run_id) == [line(index, seq) for seq in range(3, EVENTS)], run_id
        assert view.first_seq == 1 and view.run.state is RunState.FINISHED
    # Selected before its events came, or after: drawn once they are in.
    await until(pilot, lambda: line(0, EVENTS - 1) in transcript_text(app))
    assert line(0, 3) in transcript_text(app)
    app.query_one(RunList).select(RunRow(ids[1]))
    await until(pilot, lambda: line(1, EVENTS - 1) in transcript_text(app))
    assert line(1, 3) in transcript_text(app)
    assert "run 0 said" not in transcript_text(app)


@pytest.fixture
def no_repo_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    """No repo poll during the test: its redraw would hide a pane not redrawn when the
    late events come."""
    monkeypatch.setattr(cockpit.tui.session, "REPO_POLL", 3600.0)


async def test_every_run_gets_its_events_the_one_shown_first_before_the_first_frame(
    ws: Workspace, no_repo_poll: None
) -> None:
    """Hosted engine: the run selected as the cockpit opens has its page when the
    snapshot is shown; the others get theirs after, the one selected next drawn once
    they come."""
    ids = await seed(ws)
    app = make_app(ws, select=ids[0])
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, app.session.snapshot_read.is_set)
        assert set(app.model.runs) == set(ids)
        assert view_of(app, ids[0]).last_seq == EVENTS
        await ready(pilot)
        await shows_every_run(pilot, app, ids)


async def test_a_cockpit_opened_as_the_command_does_reads_the_late_tails_too(
    ws: Workspace, workspace_root: Path, no_repo_poll: None
) -> None:
    """Detached engine and the command's early link (``ask_first``): the session takes
    every early answer (same requests), then reads the runs' events over the adopted
    connection."""
    ids = await seed(ws)
    await start_engine(workspace_root)
    link = open_early(ws.state_dir, ask_first)
    assert link is not None
    assert ("snapshot", FIRST_SNAPSHOT) in link.asked.values()
    app = client_app(ws, early=link)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        client = app.session.client
        assert isinstance(client, SocketClient)
        # Every early request (snapshot, repo statuses, gates) found its identical one.
        assert client._asked == {}
        app.query_one(RunList).select(RunRow(ids[0]))
        await shows_every_run(pilot, app, ids)


# --- the view's first seq (pure logic) --------------------------------------------------


def _view() -> RunView:
    return RunView(Run(id="r1", repo="app", task="t", agent="scripted", state=RunState.RUNNING))


def _texts(*seqs: int) -> list[AgentText]:
    return [AgentText(run_id="r1", seq=seq, text=f"line {seq}") for seq in seqs]


def test_apply_takes_the_first_seq_from_the_first_event_applied() -> None:
    """A run followed live from some event on: its first seq is that event's, not 0
    (an older page is then read before it), and later events do not move it."""
    view = _view()
    assert view.first_seq == 0
    view.apply(RunStateChanged(run_id="r1", seq=4, old=RunState.QUEUED, new=RunState.RUNNING))
    assert view.first_seq == 4
    for event in _texts(5, 6):
        view.apply(event)
    view.apply(_texts(3)[0])  # older than what it has: dropped, the first seq stays
    assert view.first_seq == 4 and view.last_seq == 6


def test_load_keeps_the_first_seq_of_the_page() -> None:
    """A page loaded: its first event's seq, whatever comes live after it."""
    view = _view()
    view.load([])
    assert view.first_seq == 0
    view.load(_texts(5, 6, 7))
    assert view.first_seq == 5
    view.apply(_texts(8)[0])
    assert (view.first_seq, view.last_seq) == (5, 8)


def test_a_page_read_late_goes_in_front_of_live_events() -> None:
    """What ``_read_late`` does for a run that moved before its tail came: the page's
    part older than the live events goes in front of them, nothing twice."""
    view = _view()
    for event in _texts(9, 10):
        view.apply(event)
    page = _texts(*range(6, 11))  # the newest events, the live ones among them
    added = view.prepend([e for e in page if e.seq < view.first_seq])
    assert added == 3
    assert [e.text for e in view.entries] == [f"line {seq}" for seq in range(6, 11)]
    assert (view.first_seq, view.last_seq) == (6, 10)
