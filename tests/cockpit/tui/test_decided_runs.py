"""Decided runs in the cockpit: merged, nothing to merge, rejected and red-gated runs
each have their own mark in the list and the pane's header; a decided run's pane shows
its decision instead of its old diff; runs decided over a day ago are hidden until the
``cockpit.all_runs`` key (a) shows them."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pilotkit import SIZE, make_app, ready, until, view_of
from textual.widgets import Static

from cockpit.tui.selection import RunRow
from cockpit.tui.widgets.diff_panel import DiffPanel
from cockpit.tui.widgets.run_list import RunList
from cockpit.tui.widgets.run_pane import RunPane
from engine.workspace import open_workspace


def cockpit(root: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "cockpit", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def finished_run(root: Path, write_scenario, path: str) -> str:
    scenario = write_scenario(f'[[step]]\nwrite = {{ path = "{path}", content = "hi\\n" }}\n')
    out = cockpit(root, "run", "app", f"write {path}", "--scenario", scenario, "--wait", "--json")
    return json.loads(out)["id"]


def age_decision(root: Path, run_id: str, days: float) -> None:
    at = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="microseconds")
    with sqlite3.connect(root / ".cockpit" / "cockpit.db") as db:
        db.execute(
            "UPDATE events SET at = ?, data = json_set(data, '$.at', ?)"
            " WHERE run_id = ? AND type = 'review_decided'",
            (at, at, run_id),
        )


def row(app, run_id: str) -> str:
    run_list = app.query_one(RunList)
    return str(run_list.get_option(f"run:{run_id}").prompt)


def listed(app) -> set[str]:
    run_list = app.query_one(RunList)
    ids = (run_list.get_option_at_index(i).id for i in range(run_list.option_count))
    return {i.removeprefix("run:") for i in ids if i and i.startswith("run:")}


def header(app) -> str:
    return str(app.query_one("#run-header", Static).content)


def decision_shown(app) -> str:
    pane = app.query_one(RunPane)
    box = pane.query_one("#run-decision", Static)
    return str(box.content) if box.display and not pane.query_one(DiffPanel).display else ""


async def test_decided_and_red_runs_have_their_own_marks_and_old_ones_hide(
    workspace_root: Path, write_scenario
) -> None:
    config = workspace_root / "cockpit.toml"
    config.write_text(
        config.read_text()
        + '\n[[repos.app.gates]]\nname = "no-red"\nkind = "command"\nwhen = "finish"\n'
        'command = "test ! -e red.txt"\n'
    )
    root = workspace_root
    merged = finished_run(root, write_scenario, "a.txt")
    again = finished_run(root, write_scenario, "a.txt")  # main will already have it
    rejected = finished_run(root, write_scenario, "b.txt")
    old = finished_run(root, write_scenario, "c.txt")
    red = finished_run(root, write_scenario, "red.txt")
    waiting = finished_run(root, write_scenario, "d.txt")
    cockpit(root, "approve", merged)
    cockpit(root, "approve", again)
    cockpit(root, "reject", rejected)
    cockpit(root, "reject", old)
    age_decision(root, old, days=2)

    app = make_app(open_workspace(root))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await until(pilot, lambda: waiting in listed(app))
        marks = {run_id: row(app, run_id).split()[0] for run_id in listed(app)}
        assert marks == {merged: "◆", again: "◇", rejected: "⊗", red: "!", waiting: "✓"}
        assert old not in listed(app)
        assert "1 run decided over a day ago — a shows" in "".join(
            str(app.query_one(RunList).get_option_at_index(i).prompt)
            for i in range(app.query_one(RunList).option_count)
        )

        # The pane of a decided run: its decision, not the diff it had.
        app.query_one(RunList).select(RunRow(merged))
        await until(pilot, lambda: "merged into main as" in decision_shown(app))
        assert "◆ merged" in header(app)
        sha = view_of(app, merged).run.merge_sha or ""
        assert sha[:12] in decision_shown(app)
        app.query_one(RunList).select(RunRow(again))
        await until(pilot, lambda: "nothing was merged" in decision_shown(app))
        assert "◇ nothing to merge" in header(app)
        app.query_one(RunList).select(RunRow(rejected))
        await until(pilot, lambda: "work was thrown away" in decision_shown(app))
        assert "⊗ rejected" in header(app)
        # A finished run held back by red blocking gates says so; its diff is still there.
        app.query_one(RunList).select(RunRow(red))
        await until(pilot, lambda: "! gates red" in header(app))
        assert app.query_one(DiffPanel).display

        # a shows the old decided run, a again hides it.
        await pilot.press("a")
        await until(pilot, lambda: old in listed(app))
        assert row(app, old).split()[0] == "⊗"
        await pilot.press("a")
        await until(pilot, lambda: old not in listed(app))

        # A decision made elsewhere while the cockpit is open shows up in place.
        app.query_one(RunList).select(RunRow(waiting))
        await until(pilot, lambda: app.query_one(DiffPanel).display)
        await asyncio.to_thread(cockpit, root, "reject", waiting)
        await until(pilot, lambda: row(app, waiting).split()[0] == "⊗")
        await until(pilot, lambda: "work was thrown away" in decision_shown(app))
