"""Issue 23: a Codex command that was refused, never started or failed unreported is
said by the run — from the JSON stream where it has it, from Codex's session file where
it does not (without the CLI; the end-to-end case is in test_codex_backend.py)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from engine.adapters.agents.codex import _say_refused, _Stream, exec_calls
from engine.domain.events import ErrorOccurred, Event

THREAD = "01a2-thread"


class Ctx:
    def __init__(self, worktree: Path) -> None:
        self.run = SimpleNamespace(id="r1")
        self.worktree = worktree
        self.events: list[Event] = []

    async def emit(self, event: Event) -> None:
        self.events.append(event)


def _call(call_id: str, cmd: str) -> dict:
    args = json.dumps({"cmd": cmd})
    payload = {"type": "function_call", "name": "exec_command", "arguments": args}
    return {"type": "response_item", "payload": {**payload, "call_id": call_id}}


def _output(call_id: str, code: int, out: str) -> dict:
    text = f"Chunk ID: 1\nProcess exited with code {code}\nOutput:\n{out}\n"
    payload = {"type": "function_call_output", "call_id": call_id, "output": text}
    return {"type": "response_item", "payload": payload}


def _reported(call_id: str) -> dict:
    item = {"type": "CommandExecution", "id": call_id}
    return {"type": "event_msg", "payload": {"type": "item_completed", "item": item}}


def _session(home: Path, *records: dict) -> None:
    folder = home / "sessions" / "2026" / "12" / "06"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r) for r in records] + ["not json"]
    (folder / f"rollout-2026-12-06T04-00-00-{THREAD}.jsonl").write_text("\n".join(lines))


async def test_refused_and_unreported_failures_become_errors_once(tmp_path: Path) -> None:
    home = tmp_path / "codex"
    _session(
        home,
        _call("c1", "touch ../outside.txt"),
        _output("c1", 1, "touch: cannot touch '../outside.txt': Read-only file system"),
        _call("c2", "ls"),
        _output("c2", 0, "README.md"),
        _reported("c2"),
        _call("c3", "make build"),
        _output("c3", 2, "make: *** No rule to make target 'build'"),
        _call("c4", "pytest"),  # reported and failed: its tool line says it all
        _output("c4", 1, "1 failed"),
        _reported("c4"),
    )
    calls = exec_calls(home, THREAD)
    assert [(c.call_id, c.reported, c.exit_code) for c in calls] == [
        ("c1", False, 1),
        ("c2", True, 0),
        ("c3", False, 2),
        ("c4", True, 1),
    ]
    ctx, seen = Ctx(tmp_path), set()
    await _say_refused(ctx, home, THREAD, seen)  # ty: ignore[invalid-argument-type]
    messages = [e.message for e in ctx.events if isinstance(e, ErrorOccurred)]
    assert messages == [
        "Codex's sandbox refused a command: touch ../outside.txt",
        "a command Codex did not report failed (exit 2): make build",
    ]
    await _say_refused(ctx, home, THREAD, seen)  # ty: ignore[invalid-argument-type]
    assert len(ctx.events) == 2  # said once


async def test_no_session_file_says_nothing(tmp_path: Path) -> None:
    assert exec_calls(tmp_path / "codex", THREAD) == []


async def test_a_declined_or_unstarted_command_is_an_error(tmp_path: Path) -> None:
    ctx = Ctx(tmp_path)
    stream = _Stream(ctx)  # ty: ignore[invalid-argument-type]
    for status in ("declined", "failed"):
        item = {"id": "i1", "type": "command_execution", "command": "rm -rf /", "status": status}
        await stream.handle({"type": "item.completed", "item": {**item, "exit_code": None}})
    messages = [e.message for e in ctx.events if isinstance(e, ErrorOccurred)]
    assert messages == [
        "Codex declined to run a command: rm -rf /",
        "Codex could not start a command: rm -rf /",
    ]
