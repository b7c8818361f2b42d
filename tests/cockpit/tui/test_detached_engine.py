"""The cockpit as a client of the workspace's detached engine, with real processes: the
engine started by ``cockpit engine start`` (a process of its own), runs queued by
``cockpit run``, the app driven by Pilot. The engine outlives the cockpit: ``q``
detaches, ``Q`` stops it; a cockpit outlives the engine: it says so in one line and
links again once an engine answers.

The conftest stops every engine a test started under its ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from detachedkit import (
    client_app,
    engine_status,
    runs_by_id,
    scenario_file,
    start_engine,
    submit,
    wait_state,
)
from pilotkit import SIZE, ready, state_of, transcript_text, type_text, until, view_of
from textual.pilot import Pilot

from cockpit.client import open_client
from cockpit.client.daemon import engine_client
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens.confirm import ConfirmScreen
from cockpit.tui.screens.help import collect_bindings
from cockpit.tui.screens.review import ReviewScreen
from cockpit.tui.selection import RunRow
from cockpit.tui.widgets.prompt_bar import PromptBar
from cockpit.tui.widgets.run_list import RunList
from engine.domain.events import AgentText
from engine.domain.state import RunState
from engine.workspace import open_workspace


def steps(count: int, wait: float) -> str:
    """A scenario of ``count`` turns, each saying ``step N`` and taking ``wait`` s."""
    return "".join(f'[[step]]\nsay = "step {n}"\nwait = {wait}\n' for n in range(1, count + 1))


def said(app: CockpitApp, run_id: str) -> list[str]:
    """What the run's agent said, as the cockpit's model holds it."""
    return [e.text for e in view_of(app, run_id).entries if e.kind == "text"]


def notes(app: CockpitApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def shown_running(pilot: Pilot, run_id: str, line: str = "step 1") -> CockpitApp:
    """Wait until the app shows the run, running, its agent having said ``line``."""
    app = await ready(pilot)
    await until(pilot, lambda: run_id in app.model.runs)
    await until(pilot, lambda: state_of(app, run_id) is RunState.RUNNING)
    await until(pilot, lambda: line in said(app, run_id))
    return app


async def test_q_detaches_and_the_run_started_from_the_cli_finishes(
    workspace_root: Path, tmp_path: Path
) -> None:
    await start_engine(workspace_root)
    run_id = await submit(workspace_root, scenario_file(tmp_path, steps(4, 1), "four.toml"))
    app = client_app(open_workspace(workspace_root))
    async with app.run_test(size=SIZE) as pilot:
        await shown_running(pilot, run_id)
        await pilot.press("q")
        await until(pilot, lambda: app._exit)
        # Nothing to confirm: the runs are the engine's, not the cockpit's.
        assert not isinstance(app.screen, ConfirmScreen)
    assert app.return_value == "1 run keeps going in the engine — cockpit to come back"
    assert (await wait_state(workspace_root, run_id, "finished", "failed"))["state"] == "finished"
    status = await engine_status(workspace_root)
    assert status["engine"] is True and status["clients"] == 0


@pytest.mark.parametrize("key", ["q", "ctrl+q"])
async def test_q_with_nothing_going_says_the_engine_stays_up(
    workspace_root: Path, key: str
) -> None:
    # ctrl+q, Textual's own quit, leaves the same way, saying the same line.
    app = client_app(open_workspace(workspace_root))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)  # no engine ran: the cockpit started one
        await pilot.press(key)
        await until(pilot, lambda: app._exit)
    assert app.return_value == "the engine stays up (it exits after 10m idle)"
    assert (await engine_status(workspace_root))["engine"] is True


async def test_a_reopened_cockpit_shows_the_whole_history_then_follows_live(
    workspace_root: Path, tmp_path: Path
) -> None:
    await start_engine(workspace_root)
    run_id = await submit(workspace_root, scenario_file(tmp_path, steps(6, 0.5), "six.toml"))
    ws = open_workspace(workspace_root)
    first = client_app(ws)
    async with first.run_test(size=SIZE) as pilot:
        await shown_running(pilot, run_id, "step 2")
        await pilot.press("q")
        await until(pilot, lambda: first._exit)
    again = client_app(ws, select=run_id)
    async with again.run_test(size=SIZE) as pilot:
        app = await ready(pilot)
        # What was said while no cockpit was open is there from the first frame on.
        assert said(app, run_id)[:2] == ["step 1", "step 2"]
        await until(pilot, lambda: state_of(app, run_id) is RunState.FINISHED)
        await until(pilot, lambda: "step 6" in transcript_text(app))
        assert said(app, run_id) == [f"step {n}" for n in range(1, 7)]


async def test_the_review_opens_on_a_run_of_the_engine(
    workspace_root: Path, tmp_path: Path
) -> None:
    """``cockpit review RUN``: the cockpit opened on the run's diff, read from the engine."""
    await start_engine(workspace_root)
    writes = '[[step]]\nwrite = { path = "hello.txt", content = "hi\\n" }\n'
    run_id = await submit(workspace_root, scenario_file(tmp_path, writes, "write.toml"))
    await wait_state(workspace_root, run_id, "finished")
    app = client_app(open_workspace(workspace_root), select=run_id, review=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ReviewScreen))
        review = app.screen
        assert isinstance(review, ReviewScreen)
        await until(pilot, lambda: [f.path for f in review.files] == ["hello.txt"])


async def test_steering_typed_in_one_cockpit_shows_in_the_other(
    workspace_root: Path, tmp_path: Path
) -> None:
    await start_engine(workspace_root)
    run_id = await submit(workspace_root, scenario_file(tmp_path, steps(10, 1), "slow.toml"))
    ws = open_workspace(workspace_root)
    typing, watching = client_app(ws, select=run_id), client_app(ws, select=run_id)
    async with typing.run_test(size=SIZE) as here, watching.run_test(size=SIZE) as there:
        await shown_running(here, run_id)
        await shown_running(there, run_id)
        assert typing.query_one(RunList).selected == RunRow(run_id)
        await here.press("s")
        await until(here, lambda: isinstance(typing.focused, PromptBar))
        await type_text(here, "use pathlib")
        await until(here, lambda: typing.query_one(PromptBar).value == "use pathlib")
        await here.press("enter")
        await until(here, lambda: "you › use pathlib" in transcript_text(typing))
        # The other cockpit shows it as sent (pending) within a second.
        await until(there, lambda: "you › use pathlib" in transcript_text(watching), timeout=1.0)
        for app, pilot in ((typing, here), (watching, there)):
            await until(pilot, lambda app=app: "delivered › use pathlib" in transcript_text(app))
            # Typed here and told by the engine: shown once all the same.
            assert transcript_text(app).count("you › use pathlib") == 1
            assert view_of(app, run_id).pending_steering == {}


async def test_kill_9_of_the_engine_is_said_in_one_line_and_the_cockpit_links_again(
    workspace_root: Path, tmp_path: Path
) -> None:
    pid = await start_engine(workspace_root)
    run_id = await submit(workspace_root, scenario_file(tmp_path, steps(30, 1), "long.toml"))
    ws = open_workspace(workspace_root)
    app = client_app(ws, select=run_id)
    async with app.run_test(size=SIZE) as pilot:
        await shown_running(pilot, run_id, "step 2")
        os.kill(pid, signal.SIGKILL)
        await until(pilot, lambda: app.session.lost is not None)
        line = app.session.lost
        assert line is not None
        assert "the engine stopped" in line and "ctrl+r starts it again" in line
        await until(pilot, lambda: line in app.sub_title)
        assert notes(app).count(line) == 1
        # What the cockpit had stays: the run's row, its transcript.
        assert run_id in app.model.runs
        assert app.query_one(RunList).selected == RunRow(run_id)
        assert "step 2" in transcript_text(app)
        # A command meanwhile: the same one line, nothing else.
        await pilot.press("slash", "end")
        await type_text(pilot, f"cancel {run_id}")
        await pilot.press("enter")
        await until(pilot, lambda: notes(app).count(line) == 2)

        await start_engine(workspace_root)  # as another terminal would
        await until(pilot, lambda: app.session.lost is None and app.session.client is not None)
        await until(pilot, lambda: "the engine is back: the runs are up to date" in notes(app))
        # The new engine found the run interrupted; the cockpit shows it so.
        await until(pilot, lambda: state_of(app, run_id) is RunState.INTERRUPTED)
        await until(pilot, lambda: "running" in app.sub_title and line not in app.sub_title)
        # No gap, no duplicate: every line the agent said, once, as stored.
        async with engine_client(ws, start=False) as client:
            stored = await client.events(run_id)
        assert said(app, run_id) == [e.text for e in stored if isinstance(e, AgentText)]
        assert not app._exit


async def test_the_start_key_brings_an_engine_back_with_what_was_queued_meanwhile(
    workspace_root: Path, tmp_path: Path
) -> None:
    pid = await start_engine(workspace_root)
    ws = open_workspace(workspace_root)
    app = client_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        os.kill(pid, signal.SIGKILL)
        await until(pilot, lambda: app.session.lost is not None)
        # Queued with no engine running (the store written by this process).
        one = scenario_file(tmp_path, steps(1, 0), "one.toml")
        async with open_client(ws, listen=False) as local:
            queued = await local.submit("app", "meanwhile", "scripted", one)
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "starting the engine…" in notes(app))
        await until(pilot, lambda: app.session.lost is None and app.session.client is not None)
        await until(pilot, lambda: queued.id in app.model.runs)
        await until(pilot, lambda: state_of(app, queued.id) is RunState.FINISHED)
        # Its row is in the list (the list was rebuilt with it).
        run_list = app.query_one(RunList)
        run_list.select(RunRow(queued.id))
        assert run_list.selected == RunRow(queued.id)
    assert (await engine_status(workspace_root))["engine"] is True


async def test_shift_q_asks_with_a_run_in_flight_then_stops_the_engine(
    workspace_root: Path, tmp_path: Path
) -> None:
    await start_engine(workspace_root)
    run_id = await submit(workspace_root, scenario_file(tmp_path, steps(30, 1), "long.toml"))
    app = client_app(open_workspace(workspace_root))
    async with app.run_test(size=SIZE) as pilot:
        await shown_running(pilot, run_id)
        await pilot.press("Q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert confirm.question == (
            "1 run in flight become interrupted (resume them later). Stop the engine and quit?"
        )
        await pilot.press("y")
        await until(pilot, lambda: app._exit, timeout=30)
    assert app.return_value == "the engine stopped: 1 run interrupted (resume later)"
    assert await engine_status(workspace_root) == {"engine": False}
    assert (await runs_by_id(workspace_root))[run_id]["state"] == "interrupted"


async def test_an_engine_that_cannot_start_is_said_and_the_start_key_tries_again(
    workspace_root: Path,
) -> None:
    ws = open_workspace(workspace_root)
    ws.db_path.parent.mkdir(parents=True, exist_ok=True)
    ws.db_path.write_bytes(b"garbage" * 1000)
    app = client_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.session.lost is not None, timeout=30)
        line = app.session.lost
        assert line is not None
        assert line.startswith("the engine could not start: ") and "not a database" in line
        assert line.endswith(" — ctrl+r tries again")
        await until(pilot, lambda: line in app.sub_title)
        # The repos are listed all the same; a command says the same line.
        assert set(app.model.repos) == {"app", "lib"}
        await pilot.press("slash", "end")
        await type_text(pilot, "resume")
        await pilot.press("enter")
        await until(pilot, lambda: notes(app).count(line) == 2)
        # Moved aside, the store is made again by the engine the start key starts.
        ws.db_path.rename(ws.db_path.with_suffix(".broken"))
        await pilot.press("ctrl+r")
        await until(pilot, app.session.ready.is_set, timeout=30)
        await until(pilot, lambda: app.session.lost is None and "running" in app.sub_title)


async def test_help_lists_the_quit_and_stop_and_start_keys(workspace_root: Path) -> None:
    app = client_app(open_workspace(workspace_root))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        rows = {row[2]: row for _, group in collect_bindings(app) for row in group}
        assert rows["cockpit.quit_and_stop"][:2] == ("Q", "Stop engine & quit")
        assert rows["cockpit.start_engine"][:2] == ("^r", "Start engine")
        assert rows["cockpit.quit"][:2] == ("q", "Quit")


#: What a detached cockpit must not load to start: the engine lives in its own process,
#: and reads cockpit.toml's schema (with the validation library under it) itself.
HEAVY = (
    "engine.services",
    "engine.adapters",
    "engine.bootstrap",
    "engine.config",
    "aiosqlite",
    "pydantic",
)


def test_the_cockpit_as_a_client_loads_none_of_the_engine(workspace_root: Path) -> None:
    """Open the workspace, import the app and build it as ``cockpit`` does before its
    first frame: none of the engine's store, services, adapters, composition root or
    config schema is loaded (``engine.config_toml``, the file's text, may be)."""
    code = (
        "import json, sys\n"
        "from cockpit.main import _client_workspace_of\n"
        f"ws = _client_workspace_of(type('Args', (), {{'workspace': {str(workspace_root)!r}}}))\n"
        "from cockpit.tui.app import CockpitApp\n"
        "app = CockpitApp(ws)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(done.stdout)
    assert "cockpit.tui.app" in loaded
    heavy = [m for m in loaded if m.startswith(HEAVY) and m != "engine.config_toml"]
    assert not heavy
    assert "cockpit.client.inprocess" not in loaded
    # The run pane (the transcript's RichLog, rich.pretty under it) is built after the
    # first frame, unless a run is shown first; attrs is never needed.
    assert "cockpit.tui.widgets.run_pane" not in loaded
    assert "rich.pretty" not in loaded and "attr" not in loaded


def test_attrs_hidden_from_the_transcript_import_stays_importable() -> None:
    """The transcript's import hides attrs from rich.pretty only while it loads: a later
    import of attrs gets the real module, and rich.pretty still pretty-prints."""
    code = (
        "import sys\n"
        "import cockpit.tui.widgets.log\n"
        "assert 'attr' not in sys.modules\n"
        "import attr\n"
        "from rich.pretty import pretty_repr\n"
        "print(attr.__name__, pretty_repr({'a': [1, 2]}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["attr", "{'a':", "[1,", "2]}"]
