"""Where no sandbox can be had, the cockpit says so once, plainly, and its header keeps
saying it; where bubblewrap confines runs, the header says nothing of it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pilotkit import SIZE, make_app, ready, until

import engine.adapters.sandbox as sandbox_adapter
from engine.ports.sandbox import SandboxStatus
from engine.workspace import open_workspace


async def test_no_sandbox_is_said_once_and_kept_in_the_header(
    workspace_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = SandboxStatus(
        False, "bubblewrap (bwrap) not found: runs are confined by the guard alone"
    )
    monkeypatch.setattr(sandbox_adapter, "probe", lambda program=None: missing)
    app = make_app(open_workspace(workspace_root))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await until(pilot, lambda: "no sandbox: guard only" in app.sub_title)
        notes = [n for n in app._notifications if n.title == "No sandbox"]
        assert len(notes) == 1
        assert "bubblewrap (bwrap) not found" in notes[0].message
        assert "cockpit doctor" in notes[0].message


async def test_a_confined_cockpit_says_nothing_of_it(workspace_root: Path) -> None:
    app = make_app(open_workspace(workspace_root))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await until(pilot, lambda: "running" in app.sub_title)
        # The engine read the sandbox's status, said what it had to, then started ingesting.
        await until(pilot, lambda: any(w.name == "ingest" for w in app.workers))
        assert "sandbox" not in app.sub_title
        assert not [n for n in app._notifications if n.title == "No sandbox"]
