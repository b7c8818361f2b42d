"""Issue 23: the run header shows the time a run was at work, and the wall time since
its start only labelled as such."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cockpit.tui import model as model_module
from cockpit.tui.model import RunView
from cockpit.tui.widgets.run_pane import run_times
from engine.domain.events import RunStateChanged
from engine.domain.models import Run
from engine.domain.state import RunState

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _view(*changes: tuple[float, RunState]) -> RunView:
    view = RunView(Run(id="r1", repo="app", task="t", agent="scripted"))
    for seconds, new in changes:
        view.apply(RunStateChanged(run_id="r1", at=T0 + timedelta(seconds=seconds), new=new))
    return view


def test_a_continued_run_shows_its_active_time_and_when_it_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(model_module, "utcnow", lambda: T0 + timedelta(seconds=600))
    view = _view(
        (0, RunState.RUNNING),
        (4, RunState.FINISHED),
        (580, RunState.RUNNING),
        (588, RunState.FINISHED),
    )
    assert run_times(view) == "active 12s · started 10m00s ago"


def test_a_run_at_work_all_along_shows_its_active_time_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(model_module, "utcnow", lambda: T0 + timedelta(seconds=30))
    assert run_times(_view((0, RunState.STARTING), (1, RunState.RUNNING))) == "active 30s"
    assert run_times(_view()) == "—"
