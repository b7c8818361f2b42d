"""The run pane's totals are the whole run's: tokens, cost, guard refusals and the gates'
latest verdicts of a run with far more events than the cockpit reads (a page, then
live), from the engine's facts of every stored event, with the events that come after
folded in once. Hosted engine and detached one alike."""

from __future__ import annotations

from pathlib import Path

import pytest
from detachedkit import client_app, start_engine
from pilotkit import SIZE, header_text, make_app, ready, until, view_of

from builders import eventful_run, store_runs
from cockpit.tui.app import CockpitApp
from cockpit.tui.model import RunView
from cockpit.tui.opening import PAGE
from cockpit.tui.widgets.run_pane import run_extras
from engine.domain.events import Event, GuardDecided, UsageReported
from engine.domain.facts import RunFacts
from engine.workspace import Workspace

RUN = "e0000001"
#: Events of the seeded run: several pages.
EVENTS = 4 * PAGE


def totals(events: list[Event]) -> tuple[int, float, int]:
    """Tokens, cost and guard refusals of ``events``, counted here."""
    usage = [e for e in events if isinstance(e, UsageReported)]
    tokens = sum(e.input_tokens + e.output_tokens for e in usage)
    cost = sum(e.cost_usd or 0.0 for e in usage)
    refused = sum(isinstance(e, GuardDecided) and e.outcome == "refused" for e in events)
    return tokens, cost, refused


def shows_totals(app: CockpitApp, events: list[Event]) -> bool:
    tokens, cost, refused = totals(events)
    header = header_text(app)
    return (
        f"{tokens:,} tok" in header
        and f"${cost:.3f}" in header
        and (f"guard: {refused} refused" in run_extras(view_of(app, RUN)))
    )


async def seeded(ws: Workspace) -> list[Event]:
    run, events = eventful_run(RUN, "app", EVENTS)
    await store_runs(ws.db_path, [(run, events)])
    # A page holds a fraction of it: what the old fold of the page alone showed.
    assert totals(events[-PAGE:])[0] < totals(events)[0] / 3
    return events


@pytest.mark.parametrize("engine", ["hosted", "detached"])
async def test_the_run_pane_shows_the_whole_run_s_totals(
    ws: Workspace, workspace_root: Path, engine: str
) -> None:
    events = await seeded(ws)
    if engine == "detached":
        await start_engine(workspace_root)
        app = client_app(ws, select=RUN)
    else:
        app = make_app(ws, select=RUN)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await until(pilot, lambda: shows_totals(app, events))
        view = view_of(app, RUN)
        # Only a page of the transcript is read; the facts are the whole run's: lint's
        # one verdict, on the first turn's tree, is there (stale since).
        assert view.first_seq > 1
        assert {name: view.gate_status(name) for name in view.gates} == {
            "tests": "passed",
            "lint": "stale",
        }


def test_a_view_from_the_engine_s_facts_folds_each_later_event_once() -> None:
    """The engine's facts (read after the page, so ahead of some of it), the page, then
    live events again from before the facts: each usage counted once."""
    run, events = eventful_run(RUN, "app", EVENTS)
    facts = RunFacts()
    for event in events[: EVENTS - 100]:
        facts.apply(event)
    view = RunView(run, facts)
    view.load(events[EVENTS - 100 - PAGE : EVENTS - 150])  # the page, older than the facts
    for event in events[EVENTS - 160 :]:  # the follower's events, some already in
        view.apply(event)
    whole = RunFacts()
    for event in events:
        whole.apply(event)
    assert view.facts == whole
    tokens, cost, _ = totals(events)
    assert view.input_tokens + view.output_tokens == tokens
    assert view.cost_usd == pytest.approx(cost)
    # Every event's line is in the transcript once, from the page's first on.
    assert view.first_seq == EVENTS - 100 - PAGE + 1
    assert view.last_seq == EVENTS
