"""What the cockpit's Pilot tests share: an app on a real workspace with its engine inside,
and waiting on conditions by polling (never by sleeping blindly)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable

from textual.css.query import NoMatches
from textual.pilot import Pilot
from textual.widgets import Static

from cockpit.tui.app import CockpitApp
from cockpit.tui.model import RunView
from cockpit.tui.widgets.run_list import RunList
from cockpit.tui.widgets.run_pane import Transcript
from engine.bootstrap import open_engine
from engine.domain.state import RunState
from engine.services.engine import EngineOptions
from engine.workspace import Workspace

SIZE = (160, 48)


def make_app(ws: Workspace, **kwargs) -> CockpitApp:
    return CockpitApp(ws, engine_options=EngineOptions(poll_interval=0.1), **kwargs)


async def until(
    pilot: Pilot,
    predicate: Callable[[], object],
    timeout: float = 30,
    what: str | None = None,
) -> None:
    """Let the app run until ``predicate()`` is true; fail after ``timeout`` seconds,
    naming what was awaited (``what``, else the predicate's source line).

    Wait on what the screen shows (a widget's content, the drawn lines, the focus, the
    active screen), not on the model alone: the app draws changes on its own schedule
    (throttled renders, layouts after a refresh), so the line after an action or a model
    change may still see the previous frame. Never sleep instead.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not _holds(predicate):
        if loop.time() > deadline:
            notes = [n.message for n in pilot.app._notifications]
            raise AssertionError(
                f"not met within {timeout}s: {what or awaited(predicate)}; notifications: {notes}"
            )
        await pilot.pause(0.05)


def _holds(predicate: Callable[[], object]) -> bool:
    """Whether ``predicate()`` is true; a widget not there yet (a pane built once first
    needed) is not shown yet."""
    try:
        return bool(predicate())
    except NoMatches:
        return False


def awaited(predicate: Callable[[], object]) -> str:
    """The source of ``predicate`` (its line), to say what a wait was for."""
    try:
        lines, _ = inspect.getsourcelines(predicate)
    except (OSError, TypeError):
        return getattr(predicate, "__qualname__", repr(predicate))
    return " ".join(" ".join(lines).split())


async def ready(pilot: Pilot) -> CockpitApp:
    """Wait until the app's engine has loaded the store."""
    app = pilot.app
    assert isinstance(app, CockpitApp)
    await until(pilot, app.session.ready.is_set)
    return app


async def type_text(pilot: Pilot, text: str) -> None:
    await pilot.press(*text)


async def start_run(pilot: Pilot, scenario: str, task: str = "say hi", repo: str = "app") -> str:
    """Start a run from the prompt bar; returns its id once it is in the model.

    ``scenario`` is typed as given (keep it short: a path relative to the cwd), and the
    prompt bar is left (escape) so the panes have the focus again.
    """
    app = await ready(pilot)
    before = set(app.model.runs)
    await pilot.press("slash")
    # "end" keeps the cursor after the pre-filled "/" whatever the focus behaviour.
    await pilot.press("end")
    await type_text(pilot, f'run {repo} "{task}" --scenario {scenario}')
    await pilot.press("enter")
    await until(pilot, lambda: set(app.model.runs) - before)
    (run_id,) = set(app.model.runs) - before
    await pilot.press("escape")
    await until(pilot, lambda: isinstance(app.focused, RunList))
    return run_id


def view_of(app: CockpitApp, run_id: str) -> RunView:
    return app.model.runs[run_id]


def state_of(app: CockpitApp, run_id: str) -> RunState:
    return app.model.runs[run_id].run.state


def header_text(app: CockpitApp) -> str:
    """The selected run's header as it is drawn now."""
    return str(app.query_one("#run-header", Static).render())


def transcript_text(app: CockpitApp) -> str:
    transcript = app.query_one(Transcript)
    return "\n".join(strip.text for strip in transcript.lines)


async def stored_runs(ws: Workspace):
    async with open_engine(ws, listen=False) as engine:
        return {run.id: run for run in await engine.list_runs()}


async def stored_events(ws: Workspace, run_id: str):
    async with open_engine(ws, listen=False) as engine:
        return await engine.events(run_id)
