"""first_frame: milliseconds from process start to the cockpit's first full frame.

A fresh interpreter is started for every measurement (``python -c CHILD``); the clock
starts in this process just before the child is spawned (``time.monotonic()``, the
system-wide ``CLOCK_MONOTONIC``, so both processes read the same clock) and stops at the
timestamp the child prints. Interpreter start-up and imports are therefore included.

The child runs the app headless at 160x48 (``app.run(headless=True)``). Headless Textual
still lays out and renders every widget to strips on each refresh (the compositor's
``render_update``); only the encoding into terminal escape codes is skipped, which costs
both apps alike. The 'first full frame' signal: Textual hands each composed frame to
``app._display``, which the child wraps; right after each frame it checks what the app
shows, and what the frame itself wrote where (``frames.written_in``: every run id inside
the run list, the detail pane's first word inside the pane), so the stamp is the frame
that first *contains* that content, with no polling delay and no wait for a later refresh.

* Cockpit ("content"): the stored runs are listed in the run list, every repo row shows
  its git status (not the placeholder) and the detail pane shows the highlighted item.
  The workspace: 3 small repos, 6 finished runs with 40 events each in the store.
* The baseline: a hello-world app (``Header``, ``Static("hello")``, ``Footer``), whose
  content is there from the start: its first refresh.

Extras: ``first_paint`` is Cockpit's first refresh whatever it shows (the same signal as
the hello app), ``runs_listed`` the first refresh with the runs listed (repo statuses may
still be placeholders). Both apps alternate, after one untimed warm-up each.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from common import (
    emit,
    log,
    make_repo,
    median,
    private_config_home,
    seed_finished_runs,
    temp_dir,
    write_workspace,
)
from engine.workspace import open_workspace

REPEATS = 5
REPOS = ("app", "lib", "web")
RUNS = 6
EVENTS_PER_RUN = 40
SIZE = (160, 48)

#: The child process: ``python -c CHILD hello|cockpit [WORKSPACE RUNS]``; prints one JSON
#: object of ``time.monotonic()`` stamps, then exits.
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
            # Cockpit's own quit stops its engine first (a bare exit() cancels it mid-way).
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
    from pathlib import Path

    from cockpit.tui.app import CockpitApp
    from cockpit.tui.widgets.run_list import RunList
    from engine.workspace import open_workspace

    runs = int(sys.argv[3])

    def runs_listed(app):
        if len(app.model.runs) < runs:
            return False
        run_list = app.query_one(RunList)
        ids = {run_list.get_option_at_index(i).id for i in range(run_list.option_count)}
        return all(f"run:{run_id}" in ids for run_id in app.model.runs)

    def ids_written(app):
        run_list = app.query_one(RunList)
        return [(run_list, run_id) for run_id in app.model.runs]

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

    class Probe(CockpitApp):
        # Textual resolves CSS_PATH beside the subclass's file, which ``-c`` has not.
        CSS_PATH = str(Path(sys.modules[CockpitApp.__module__].__file__).parent / "app.tcss")

        def on_mount(self):
            watch(
                self,
                [
                    ("first_paint", lambda app: True, lambda app: []),
                    ("runs_listed", runs_listed, ids_written),
                    ("content", complete, detail_written),
                ],
            )

    Probe(open_workspace(Path(sys.argv[2]))).run(headless=True, size=SIZE)
""".replace("size=SIZE", f"size={SIZE!r}").replace("BENCH_DIR", repr(str(Path(__file__).parent)))


def measure(*args: str) -> dict[str, float]:
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
        log(f"first_frame: child {args[0]} did not exit within 60 s after its stamps")
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if child.returncode not in (0, -9) and lines:
        last = err.strip().splitlines()[-1:] or ["?"]
        log(f"first_frame: child {args[0]} failed on its way out, after its stamps: {last[0]}")
    if not lines:
        raise RuntimeError(f"first-frame child {args[0]} printed no stamps:\n{err[-3000:]}")
    return {name: (at - t0) * 1000 for name, at in json.loads(lines[-1]).items()}


def main() -> None:
    cockpit: dict[str, list[float]] = {"first_paint": [], "runs_listed": [], "content": []}
    hello: list[float] = []
    with temp_dir("first-frame") as tmp:
        private_config_home(tmp)
        repos = {name: make_repo(tmp / "repos" / name) for name in REPOS}
        root = write_workspace(tmp / "ws", repos)
        ws = open_workspace(root)
        asyncio.run(seed_finished_runs(ws.db_path, REPOS, RUNS, EVENTS_PER_RUN))
        # Repetition 0 is an untimed warm-up of both (page cache, .pyc files).
        for rep in range(REPEATS + 1):
            ours = measure("cockpit", str(root), str(RUNS))
            theirs = measure("hello")["first_paint"]
            if rep == 0:
                continue
            for name in cockpit:
                cockpit[name].append(ours[name])
            hello.append(theirs)
            log(
                f"first_frame rep {rep}: cockpit paint {ours['first_paint']:.0f} ms, "
                f"runs listed {ours['runs_listed']:.0f} ms, full {ours['content']:.0f} ms; "
                f"hello {theirs:.0f} ms"
            )
    emit(
        "first_frame",
        median(cockpit["content"]),
        "ms",
        "textual hello world",
        median(hello),
        goal="<= 1.5",
        digits=1,
        first_paint=round(median(cockpit["first_paint"]), 1),
        runs_listed=round(median(cockpit["runs_listed"]), 1),
        min=round(min(cockpit["content"]), 1),
        max=round(max(cockpit["content"]), 1),
        repos=len(REPOS),
        runs=RUNS,
        size=f"{SIZE[0]}x{SIZE[1]}",
        repeats=REPEATS,
    )


if __name__ == "__main__":
    main()
