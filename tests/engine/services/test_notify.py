"""Notifications on a real engine: the scripted agent finishes, fails or asks, and a real
notify command (a Python script) records what it was told on stdin and in its
environment."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from engine.config import NotifySettings
from engine.domain import codec
from engine.domain.events import RunStateChanged
from engine.domain.models import Run
from engine.domain.redact import MASK, Redactor
from engine.domain.state import RunState
from engine.services.engine import Engine
from engine.services.notify import Notifier
from engine.workspace import Workspace, open_workspace
from enginekit import ASK_TOUCH, running_engine, wait_for_state

#: Appends one JSON line per call to argv[1]: its stdin and its environment. argv[2]:
#: ``ok``, ``fail`` (exit 1 with a line on stderr) or ``hang`` (start a child, sleep).
SCRIPT = """\
import json, os, subprocess, sys, time
out, mode = sys.argv[1], sys.argv[2]
record = {
    "stdin": sys.stdin.read(),
    "env": {k: os.environ.get(k) for k in (
        "COCKPIT_NOTIFY_KIND", "COCKPIT_NOTIFY_RUN", "COCKPIT_NOTIFY_SUMMARY", "COCKPIT_RUN"
    )},
    "pids": [os.getpid()],
}
if mode == "hang":
    record["pids"].append(subprocess.Popen(["sleep", "60"]).pid)
with open(out, "a") as f:
    f.write(json.dumps(record) + "\\n")
if mode == "fail":
    print("no display here", file=sys.stderr)
    sys.exit(1)
if mode == "hang":
    time.sleep(60)
"""

FINISH = '[[step]]\nsay = "done"\n'
FAIL = '[[step]]\nsay = "x"\n[[step]]\nfail = "simulated crash"\n'
QUESTION = '[[step]]\nask = "Should I add tests too?"\n[[step]]\nsay = "thanks"\n'
ASK = '[[step]]\nask = "Should I add tests too?"\n[[step]]\nrun = "touch one.txt"\n'


class Recorder:
    """The notify command and what it recorded."""

    def __init__(self, tmp_path: Path) -> None:
        self.script = tmp_path / "notify.py"
        self.script.write_text(SCRIPT)
        self.out = tmp_path / "notified.jsonl"

    def command(self, mode: str = "ok") -> list[str]:
        return [sys.executable, str(self.script), str(self.out), mode]

    def calls(self) -> list[dict[str, Any]]:
        if not self.out.exists():
            return []
        records = [json.loads(line) for line in self.out.read_text().splitlines()]
        return [{**r, "doc": json.loads(r["stdin"])} for r in records]

    def kinds(self) -> list[str]:
        return [c["doc"]["kind"] for c in self.calls()]

    async def wait_for(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.calls()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"wanted {count} notifications, got {self.kinds()}")
            await asyncio.sleep(0.05)
        return self.calls()


@pytest.fixture
def recorder(tmp_path: Path) -> Recorder:
    return Recorder(tmp_path)


def with_config(root: Path, extra: str) -> Workspace:
    config = root / "cockpit.toml"
    config.write_text(config.read_text() + extra)
    return open_workspace(root)


@asynccontextmanager
async def notifying(ws: Workspace, settings: NotifySettings) -> AsyncGenerator[Engine]:
    """A running engine with a notifier wired as the daemon wires it; on exit the
    engine stops (its last events delivered), then the notifier closes."""
    notifier: Notifier | None = None
    try:
        async with running_engine(ws) as engine:
            notifier = Notifier(lambda: settings, engine.get_run, engine.redact)
            engine.on_events(notifier.deliver)
            yield engine
    finally:
        if notifier is not None:
            await notifier.close()


async def run_to_end(engine: Engine, scenario: str, task: str = "a task") -> str:
    run = await engine.submit("app", task, "scripted", scenario)
    final = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED)
    return final.id


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] != "Z"


async def test_a_finished_run_notifies_review_once(
    workspace_root: Path,
    scenario: Callable[..., str],
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The reaper marks agent processes with COCKPIT_RUN: a notify command must not carry it.
    monkeypatch.setenv("COCKPIT_RUN", "not-a-run")
    command = json.dumps(recorder.command())
    ws = with_config(workspace_root, f"\n[notify]\ncommand = {command}\n")
    async with notifying(ws, ws.config.notify) as engine:
        run_id = await run_to_end(engine, scenario(FINISH), task="add a greeting")
    [call] = recorder.calls()
    doc = call["doc"]
    assert call["env"] == {
        "COCKPIT_NOTIFY_KIND": "review",
        "COCKPIT_NOTIFY_RUN": run_id,
        "COCKPIT_NOTIFY_SUMMARY": doc["summary"],
        "COCKPIT_RUN": None,
    }
    event = doc.pop("event")
    assert doc == {
        "kind": "review",
        "run_id": run_id,
        "repo": "app",
        "task": "add a greeting",
        "state": "finished",
        "reason": None,
        "summary": f"run {run_id} on app is ready for review: add a greeting",
    }
    assert codec.decode(RunStateChanged, event).new is RunState.FINISHED
    assert event["run_id"] == run_id and event["old"] == "running"


async def test_a_failed_run_notifies_failed_once(
    workspace: Workspace, scenario: Callable[..., str], recorder: Recorder
) -> None:
    async with notifying(workspace, NotifySettings(command=recorder.command())) as engine:
        run_id = await run_to_end(engine, scenario(FAIL))
    [call] = recorder.calls()
    assert call["env"]["COCKPIT_NOTIFY_KIND"] == "failed"
    assert call["doc"]["state"] == "failed" and call["doc"]["reason"] == "simulated crash"
    assert call["doc"]["summary"] == f"run {run_id} on app failed: simulated crash"


async def test_a_question_and_a_guard_ask_each_notify_needs_input_once(
    workspace_root: Path, scenario: Callable[..., str], recorder: Recorder
) -> None:
    ws = with_config(workspace_root, ASK_TOUCH)
    async with notifying(ws, NotifySettings(command=recorder.command())) as engine:
        run = await engine.submit("app", "ask me", "scripted", scenario(ASK))
        [question] = await recorder.wait_for(1)
        await engine.steer(run.id, "yes please")
        permission = (await recorder.wait_for(2))[1]
        await engine.steer(run.id, "allow once")
        final = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED)
    assert final.state is RunState.FINISHED, final.error
    # The question is one HumanAsked and one move to waiting_for_human: one notification.
    assert recorder.kinds() == ["needs_input", "needs_input", "review"]
    assert question["doc"]["reason"] == "Should I add tests too?"
    assert question["doc"]["state"] == "waiting_for_human"
    assert question["doc"]["summary"] == f"run {run.id} on app needs you: Should I add tests too?"
    assert permission["doc"]["reason"].startswith("Allow run_command touch one.txt?")


@pytest.mark.parametrize("broken", ["fail", "missing"])
async def test_a_broken_command_is_logged_once_and_the_run_goes_on(
    broken: str,
    workspace: Workspace,
    scenario: Callable[..., str],
    recorder: Recorder,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    command = recorder.command("fail") if broken == "fail" else [str(tmp_path / "no-notifier")]
    caplog.set_level(logging.WARNING, logger="engine.services.notify")
    async with notifying(workspace, NotifySettings(command=command)) as engine:
        run_id = await run_to_end(engine, scenario(FINISH))
        final = await engine.get_run(run_id)
        assert final is not None and final.state is RunState.FINISHED
    warnings = [r.getMessage() for r in caplog.records if r.name == "engine.services.notify"]
    [warning] = warnings  # logged once, and not tried again
    assert command[0] in warning
    if broken == "fail":
        assert "exited with 1: no display here" in warning
        assert recorder.kinds() == ["review"]
    else:
        assert "could not start" in warning


async def test_a_hanging_command_is_killed_at_its_timeout_and_holds_nothing_back(
    workspace: Workspace,
    scenario: Callable[..., str],
    recorder: Recorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="engine.services.notify")
    settings = NotifySettings(command=recorder.command("hang"), timeout=1.0)
    started = time.monotonic()
    async with notifying(workspace, settings) as engine:
        run = await engine.submit("app", "ask me", "scripted", scenario(QUESTION))
        await recorder.wait_for(1)
        # The notify command still sleeps: the run is answered and goes on regardless.
        await engine.steer(run.id, "yes please")
        final = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED)
        assert final.state is RunState.FINISHED
    assert time.monotonic() - started < 30  # each command would sleep 60s
    assert recorder.kinds() == ["needs_input", "review"]
    pids = [pid for call in recorder.calls() for pid in call["pids"]]
    assert len(pids) == 4  # two commands, each with a child of its own
    # SIGKILL is delivered when the kernel next runs the process (and an orphan is reaped
    # by init): on a busy machine that takes a moment. One that lives on fails here.
    deadline = time.monotonic() + 5
    while [pid for pid in pids if alive(pid)] and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not [pid for pid in pids if alive(pid)]
    killed = [r.getMessage() for r in caplog.records if "killed" in r.getMessage()]
    assert len(killed) == 2 and "still running after 1s" in killed[0]


async def test_secrets_are_masked_in_all_the_command_gets(recorder: Recorder) -> None:
    # An engine masks what it stores with the keys it knows; a run stored by an engine
    # that knew fewer (another environment) still holds them: the notifier masks again.
    key = "cockpit-test-notify-key-0123456789"
    token = "ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
    run = Run(id="r1", repo="app", task=f"deploy with {key}", agent="scripted")

    async def get_run(run_id: str) -> Run | None:
        return run if run_id == run.id else None

    settings = NotifySettings(command=recorder.command())
    notifier = Notifier(lambda: settings, get_run, Redactor([key]).text)
    reason = f"push with {token} refused"
    notifier.deliver(
        [RunStateChanged(run_id="r1", old=RunState.RUNNING, new=RunState.FAILED, reason=reason)]
    )
    await notifier.close()
    [call] = recorder.calls()
    shown = json.dumps(call)
    assert key not in shown and token not in shown
    assert call["doc"]["task"] == f"deploy with {MASK}"
    assert call["doc"]["reason"] == call["doc"]["event"]["reason"] == f"push with {MASK} refused"
    assert (
        call["env"]["COCKPIT_NOTIFY_SUMMARY"] == f"run r1 on app failed: push with {MASK} refused"
    )


async def test_only_the_chosen_kinds_notify(
    workspace: Workspace, scenario: Callable[..., str], recorder: Recorder
) -> None:
    settings = NotifySettings(command=recorder.command(), kinds=["failed"])
    async with notifying(workspace, settings) as engine:
        await run_to_end(engine, scenario(FINISH))
        failed = await run_to_end(engine, scenario(FAIL, "fail.toml"))
    assert [(c["doc"]["kind"], c["doc"]["run_id"]) for c in recorder.calls()] == [
        ("failed", failed)
    ]


async def test_settings_changed_while_the_engine_runs_are_the_next_ones_used(
    workspace: Workspace, scenario: Callable[..., str], recorder: Recorder
) -> None:
    # The detached engine follows an edited cockpit.toml: the notifier asks for the
    # settings at each transition, not once.
    settings = [NotifySettings(command=recorder.command(), kinds=["failed"])]
    notifier: Notifier | None = None
    try:
        async with running_engine(workspace) as engine:
            notifier = Notifier(lambda: settings[0], engine.get_run, engine.redact)
            engine.on_events(notifier.deliver)
            await run_to_end(engine, scenario(FINISH))  # review: not wanted yet
            settings[0] = NotifySettings(command=recorder.command(), kinds=["review"])
            finished = await run_to_end(engine, scenario(FINISH), "another task")
            await run_to_end(engine, scenario(FAIL, "fail.toml"))  # failed: no longer
    finally:
        if notifier is not None:
            await notifier.close()
    assert [(c["doc"]["kind"], c["doc"]["run_id"]) for c in recorder.calls()] == [
        ("review", finished)
    ]


async def test_no_command_no_notifications(
    workspace: Workspace, scenario: Callable[..., str], recorder: Recorder
) -> None:
    async with notifying(workspace, NotifySettings()) as engine:
        await run_to_end(engine, scenario(FAIL))
    assert recorder.calls() == []


async def test_a_flood_beyond_the_queue_is_dropped_with_a_warning(
    recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="engine.services.notify")

    async def no_run(run_id: str) -> None:
        return None

    settings = NotifySettings(command=recorder.command())
    notifier = Notifier(lambda: settings, no_run, str, max_running=1, max_queued=2)
    events = [
        RunStateChanged(run_id=f"r{i}", old=RunState.RUNNING, new=RunState.FAILED, reason="x")
        for i in range(5)
    ]
    notifier.deliver(list(events))  # all at once: nothing has run yet
    await notifier.close()
    assert sorted(c["doc"]["run_id"] for c in recorder.calls()) == ["r0", "r1"]
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(dropped) == 3 and "failed of run r2" in dropped[0]
    assert recorder.calls()[0]["doc"]["repo"] is None
