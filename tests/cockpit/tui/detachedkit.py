"""What the tests of the cockpit as a client share: the real ``cockpit`` command run in a
subprocess (it starts, stops and asks the workspace's detached engine), and the app
opened as that engine's client."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from cockpit.tui.app import CockpitApp
from engine.workspace import Workspace

COCKPIT = [sys.executable, "-m", "cockpit"]


def cockpit(root: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``cockpit ARGS`` on the workspace at ``root`` (blocking: call it from a thread
    inside an app's test, see :func:`acockpit`)."""
    return subprocess.run(
        [*COCKPIT, "--workspace", str(root), *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
    )


async def acockpit(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """:func:`cockpit` without holding up the app's loop."""
    return await asyncio.to_thread(cockpit, root, *args)


def as_json(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.stdout, (done.returncode, done.stderr)
    return json.loads(done.stdout)


async def engine_status(root: Path) -> dict[str, Any]:
    """``cockpit engine status --json`` (``{"engine": false}`` when none runs)."""
    return as_json(await acockpit(root, "engine", "status", "--json"))


async def start_engine(root: Path) -> int:
    """``cockpit engine start``; the engine's pid."""
    done = await acockpit(root, "engine", "start")
    assert done.returncode == 0, done.stderr
    status = await engine_status(root)
    assert status["engine"], status
    return int(status["pid"])


async def submit(root: Path, scenario: str, task: str = "keep going") -> str:
    """``cockpit run app TASK --scenario FILE`` (queued to the engine); the run's id."""
    done = await acockpit(root, "run", "app", task, "--scenario", scenario, "--json")
    assert done.returncode == 0, done.stderr
    return as_json(done)["id"]


async def runs_by_id(root: Path) -> dict[str, dict[str, Any]]:
    """``cockpit runs --json``, by run id."""
    return {run["id"]: run for run in as_json(await acockpit(root, "runs", "--json"))}


async def wait_state(root: Path, run_id: str, *states: str, timeout: float = 60) -> dict:
    """Poll ``cockpit runs --json`` until the run is in one of ``states``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        run = (await runs_by_id(root))[run_id]
        if run["state"] in states:
            return run
        if loop.time() > deadline:
            raise AssertionError(f"run {run_id} is {run['state']}, wanted {states}")
        await asyncio.sleep(0.2)


def client_app(ws: Workspace, **kwargs: Any) -> CockpitApp:
    """The cockpit as the workspace's detached engine's client (as ``cockpit`` opens it)."""
    return CockpitApp(ws, **kwargs)


def scenario_file(folder: Path, text: str, name: str) -> str:
    """Write a scenario for the scripted agent; its absolute path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return str(path)
