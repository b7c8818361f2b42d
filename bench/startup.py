"""What the start-up benchmarks share (``first_frame``, ``attach``): a fresh interpreter
that opens the cockpit the way the ``cockpit`` command does, as a client of a detached
engine that already runs, and stamps its first frames; the hello-world baseline.

A fresh interpreter is started for every measurement (``python -c CHILD``); the clock
starts in this process just before the child is spawned (``time.monotonic()``, the
system-wide ``CLOCK_MONOTONIC``, so both processes read the same clock) and stops at the
timestamp the child prints. Interpreter start-up and imports are therefore included.

The child runs the app headless at 160x48 (``app.run(headless=True)``). Headless Textual
still lays out and renders every widget to strips on each refresh (the compositor's
``render_update``); only the encoding into terminal escape codes is skipped, which costs
both apps alike. Textual hands each composed frame to ``app._display``, which the child
wraps; right after each frame it checks what the app shows, and what the frame itself
wrote where (``frames.written_in``: every run id inside the run list, the detail pane's
first word inside the pane), so a stamp is the frame that first *contains* that content,
with no polling delay and no wait for a later refresh.

* ``cockpit``: ``cockpit.main.main(["--workspace", W])``, the command's own code path
  (its imports, how it opens the workspace, ``CockpitApp(ws)`` with no engine options:
  a client, which the child asserts); only ``App.run`` is adapted (headless, at SIZE,
  watched). Stamps: ``first_paint`` (its first frame, whatever it shows),
  ``runs_listed`` (every run of the model listed, each id written in the run list, the
  ``LIVE_ID`` runs listed as active), ``content`` (also every repo row shows its git
  status, not the placeholder, and the detail pane shows the highlighted item).
* ``hello``: a hello-world app (``Header``, ``Static("hello")``, ``Footer``), whose
  content is there from the start: its ``first_paint``.

The child quits with the cockpit's own ``q``: it detaches, the engine goes on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from common import log

SIZE = (160, 48)

#: The child process: ``python -c CHILD hello | cockpit WORKSPACE RUNS [LIVE_ID...]``;
#: prints one JSON object of ``time.monotonic()`` stamps, then exits.
CHILD = """
import asyncio, json, sys, time

mode = sys.argv[1]
stamps = {}

sys.path.insert(0, BENCH_DIR)
from frames import written_in


def watch(app, stages):
    # Textual hands every composed frame to ``app._display`` (headless, it is written
    # nowhere): right after each frame, every stage whose content is on screen is stamped.
    # A stage is (name, check, writes): ``check(app)`` holds, and the frame itself wrote
    # each text of ``writes(app)`` inside its widget's region (see frames.FrameWatch).
    pending = list(stages)
    display = app._display

    def shown(stage, renderable):
        _, check, writes = stage
        return check(app) and all(
            text in written_in(renderable, app.console, widget.region)
            for widget, text in writes(app)
        )

    def watched(screen, renderable):
        display(screen, renderable)
        if renderable is None or app._batch_count or not pending:
            return
        now = time.monotonic()
        while pending and shown(pending[0], renderable):
            stamps[pending.pop(0)[0]] = now
        if not pending:
            print(json.dumps(stamps), flush=True)
            # Cockpit's own quit: a client detaches (the engine goes on).
            app.call_later(getattr(app, "action_quit_cockpit", None) or app.exit)

    app._display = watched

if mode == "hello":
    from textual.app import App
    from textual.widgets import Footer, Header, Static

    class Hello(App):
        def compose(self):
            yield Header()
            yield Static("hello")
            yield Footer()

        def on_mount(self):
            watch(self, [("first_paint", lambda app: True, lambda app: [])])

    Hello().run(headless=True, size=SIZE)
else:
    # The `cockpit` command itself (``cockpit --workspace W``): its own imports, its
    # own way of opening the workspace, and a CockpitApp that is a client of the
    # workspace's engine. Only ``App.run`` is adapted: headless, at SIZE, watched.
    from textual.app import App

    root, runs, live = sys.argv[2], int(sys.argv[3]), sys.argv[4:]

    def run_list(app):
        from cockpit.tui.widgets.run_list import RunList

        return app.query_one(RunList)

    def runs_listed(app):
        if len(app.model.runs) < runs:
            return False
        if any(
            run_id not in app.model.runs or not app.model.runs[run_id].run.state.is_active
            for run_id in live
        ):
            return False  # a live run must be listed as one (running, waiting…)
        listed = run_list(app)
        ids = {listed.get_option_at_index(i).id for i in range(listed.option_count)}
        return all(f"run:{run_id}" in ids for run_id in app.model.runs)

    def ids_written(app):
        return [(run_list(app), run_id) for run_id in app.model.runs]

    def detail_written(app):
        # The detail pane's first line: the highlighted repo's name or run's state line.
        pane = app.query_one("#repo-body") if app.query_one("#repo-body").content else None
        pane = pane or app.query_one("#run-header")
        first = getattr(pane.content, "plain", str(pane.content)).strip().splitlines()[0]
        return ids_written(app) + [(pane, first.split()[0])]

    def complete(app):
        repos = app.model.repos
        shown = app.query_one("#repo-body").content or app.query_one("#run-header").content
        return runs_listed(app) and bool(repos) and all(
            status is not None for status in repos.values()
        ) and bool(shown)

    real_run = App.run

    def run(app, **options):
        # A client, never an engine of its own: the engine already runs.
        assert app.session.detached, "the cockpit hosts an engine"
        watch(
            app,
            [
                ("first_paint", lambda app: True, lambda app: []),
                ("runs_listed", runs_listed, ids_written),
                ("content", complete, detail_written),
            ],
        )
        return real_run(app, headless=True, size=SIZE)

    App.run = run
    from cockpit.main import main

    main(["--workspace", root])
""".replace("size=SIZE", f"size={SIZE!r}").replace("BENCH_DIR", repr(str(Path(__file__).parent)))


#: The cockpit child's stamps, in the order its frames reach them.
STAGES = ("first_paint", "runs_listed", "content")


def alternate(
    cockpit: tuple[str, ...], repeats: int, what: str
) -> tuple[dict[str, list[float]], list[float]]:
    """``repeats`` measurements of the cockpit child (args ``cockpit``) and of hello
    world, alternating, after one untimed warm-up of both (page cache, .pyc files):
    the cockpit's stamps by stage, and hello's first paints."""
    stamps: dict[str, list[float]] = {stage: [] for stage in STAGES}
    hello: list[float] = []
    for rep in range(repeats + 1):
        ours = measure("cockpit", *cockpit, what=what)
        theirs = measure("hello", what=what)["first_paint"]
        if rep == 0:
            continue
        for stage in STAGES:
            stamps[stage].append(ours[stage])
        hello.append(theirs)
        log(
            f"{what} rep {rep}: cockpit paint {ours['first_paint']:.0f} ms, runs listed "
            f"{ours['runs_listed']:.0f} ms, full {ours['content']:.0f} ms; "
            f"hello {theirs:.0f} ms"
        )
    return stamps, hello


def measure(*args: str, what: str = "first_frame") -> dict[str, float]:
    """Start a child; milliseconds from just before the spawn to each of its stamps."""
    # As installed for a user, modules start from their bytecode cache: a
    # PYTHONDONTWRITEBYTECODE inherited from the caller would recompile our sources
    # (not Textual's, which pip compiled) on every start. The warm-up writes the cache.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    t0 = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        out, err = child.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        # The stamps are printed before the app quits: a child stuck on its way out
        # still measured its start-up (reported, then stopped).
        child.kill()
        out, err = child.communicate()
        log(f"{what}: child {args[0]} did not exit within 60 s after its stamps")
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if child.returncode not in (0, -9) and lines:
        last = err.strip().splitlines()[-1:] or ["?"]
        log(f"{what}: child {args[0]} failed on its way out, after its stamps: {last[0]}")
    if not lines:
        raise RuntimeError(f"{what}: child {args[0]} printed no stamps:\n{err[-3000:]}")
    return {name: (at - t0) * 1000 for name, at in json.loads(lines[-1]).items()}
