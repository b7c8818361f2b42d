"""The ``anthropic`` backend end to end: a real engine, real git worktrees, the real
anthropic SDK talking to Cockpit's scripted model server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from engine.adapters.modelserver import ModelServer, parse_model_script
from engine.domain.errors import BadInput
from engine.domain.events import FileChanged, ToolCallFinished, UsageReported
from engine.domain.state import RunState
from engine.services.engine import Engine
from engine.workspace import open_workspace
from enginekit import git, running_engine, wait_for_state

KEY_ENV = "COCKPIT_TEST_ANTHROPIC_KEY"

WORK = {
    "turn": [
        {
            "text": "Looking around first.",
            "tool_use": [
                {"name": "list_dir", "input": {"path": "."}},
                {"name": "read_file", "input": {"path": "README.md"}},
            ],
        },
        {
            "text": "Adding the helper and noting it in the README.",
            "tool_use": [
                {"name": "write_file", "input": {"path": "app/helper.py", "content": "X = 1\n"}},
                {
                    "name": "edit_file",
                    "input": {"path": "README.md", "old": "# app", "new": "# app (with helper)"},
                },
            ],
        },
        {
            "text": "Checking, and trying to peek outside (the harness must refuse).",
            "tool_use": [
                {
                    "name": "run_command",
                    "input": {"command": "python3 -c 'import app.helper as h; print(h.X)'"},
                },
                {"name": "read_file", "input": {"path": "../../../etc/hostname"}},
                {
                    "name": "write_file",
                    "input": {"path": "/tmp/cockpit-escape.txt", "content": "x"},
                },
            ],
        },
        {"text": "Done: helper added and documented."},
    ]
}


@pytest.fixture
async def server() -> AsyncIterator[ModelServer]:
    async with ModelServer(parse_model_script(WORK)) as server:
        yield server


@pytest.fixture
def anthropic_workspace(
    workspace_root: Path, server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., object]:
    """The test workspace with an ``[agents.claude]`` profile on the scripted server."""
    monkeypatch.setenv(KEY_ENV, "sk-test-not-a-real-key")
    config = workspace_root / "cockpit.toml"
    config.write_text(
        config.read_text()
        + f"""
[agents.claude]
backend = "anthropic"
model = "claude-scripted"
base_url = "{server.url}"
api_key_env = "{KEY_ENV}"
"""
    )
    (workspace_root.parent / "repos" / "app" / "app").mkdir(exist_ok=True)
    (workspace_root.parent / "repos" / "app" / "app" / "__init__.py").write_text("")
    git(workspace_root.parent / "repos" / "app", "add", "-A")
    git(workspace_root.parent / "repos" / "app", "commit", "-qm", "package")
    return lambda: open_workspace(workspace_root)


async def events_of(engine: Engine, run_id: str):
    return await engine._store.events_for(run_id)


async def test_a_run_reads_writes_edits_runs_and_is_confined(
    anthropic_workspace, server: ModelServer, workspace_root: Path
) -> None:
    ws = anthropic_workspace()
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "add a helper", "claude")
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED, timeout=60)
        assert run.state is RunState.FINISHED, run.error
        events = await events_of(engine, run.id)
        saved = await engine._store.load_agent_state(run.id)

    # Four model calls, each answered with the conversation so far (tool results included).
    requests = server.turn_requests
    assert len(requests) == 4
    assert requests[0].body["model"] == "claude-scripted"
    assert "coding agent" in requests[0].body["system"]
    second = requests[1].body["messages"]
    results = {block["tool_use_id"]: block for block in second[-1]["content"]}
    readme = [b for b in results.values() if "# app" in str(b["content"])]
    assert readme, "the README's text went back to the model as a tool result"

    finished = [e for e in events if isinstance(e, ToolCallFinished)]
    by_tool = {(e.tool, e.is_error) for e in finished}
    assert ("run_command", False) in by_tool
    refused = [e for e in finished if e.is_error]
    assert len(refused) == 2
    assert all("outside the worktree" in e.output for e in refused)
    assert not Path("/tmp/cockpit-escape.txt").exists()
    command = next(e for e in finished if e.tool == "run_command")
    assert command.exit_code == 0 and command.output.strip() == "1"
    # The model is told the exit code with the output.
    sent = [
        block["content"]
        for block in requests[3].body["messages"][-1]["content"]
        if block.get("content", "").startswith("exit code")
    ]
    assert sent == ["exit code 0\n1\n"]

    changed = {(e.path, e.change) for e in events if isinstance(e, FileChanged)}
    assert changed == {("app/helper.py", "added"), ("README.md", "modified")}
    assert sum(isinstance(e, UsageReported) for e in events) == 4

    # The work is on the run's branch; the user's checkout is untouched.
    repo = workspace_root.parent / "repos" / "app"
    assert git(repo, "show", f"{run.branch}:app/helper.py") == "X = 1\n"
    assert "# app (with helper)" in git(repo, "show", f"{run.branch}:README.md")
    assert not (repo / "app" / "helper.py").exists()
    assert run.turns_completed == 4

    # The conversation is kept for resuming: task, 4 replies, 3 rounds of tool results.
    assert saved is not None
    roles = [m["role"] for m in saved["messages"]]
    assert roles == [
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
    ]


async def test_an_interrupted_run_resumes_its_conversation(
    anthropic_workspace, server: ModelServer
) -> None:
    ws = anthropic_workspace()
    # The second reply hangs: the engine is stopped while the run waits on it.
    slow = parse_model_script(WORK)
    slow.turn[1].delay = 60
    server.script = slow
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "add a helper", "claude")
        deadline = asyncio.get_running_loop().time() + 30
        while len(server.turn_requests) < 2:
            assert asyncio.get_running_loop().time() < deadline, "the second request never came"
            await asyncio.sleep(0.05)
    server.script = parse_model_script(WORK)
    before = len(server.turn_requests)
    async with running_engine(ws) as engine:
        stopped = await wait_for_state(engine, run.id, RunState.INTERRUPTED)
        assert stopped.turns_completed == 1
        await engine.resume(run.id)
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED, timeout=60)
        assert run.state is RunState.FINISHED, run.error
    resumed = server.turn_requests[before:]
    # It went on from the saved conversation (one reply in it), not from the task again.
    assert sum(m["role"] == "assistant" for m in resumed[0].body["messages"]) == 1
    assert len(resumed) == 3


async def test_steering_joins_the_conversation(anthropic_workspace, server: ModelServer) -> None:
    ws = anthropic_workspace()
    slow = parse_model_script(WORK)
    slow.turn[0].delay = 1.0
    server.script = slow
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "add a helper", "claude")
        while not server.turn_requests:
            await asyncio.sleep(0.02)
        await engine.steer(run.id, "also add a docstring")
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED, timeout=60)
    texts = [
        block.get("text", "")
        for request in server.turn_requests[1:2]
        for block in request.body["messages"][-1]["content"]
    ]
    assert any("also add a docstring" in text for text in texts), texts


async def test_missing_key_and_api_errors_are_one_clear_line(
    anthropic_workspace, server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = anthropic_workspace()
    monkeypatch.delenv(KEY_ENV)
    async with running_engine(ws) as engine:
        with pytest.raises(BadInput, match=f"set {KEY_ENV}"):
            await engine.submit("app", "x", "claude")
    monkeypatch.setenv(KEY_ENV, "sk-test")
    server.script = parse_model_script(
        {
            "turn": [
                {"error": {"status": 400, "type": "invalid_request_error", "message": "bad tools"}}
            ]
        }
    )
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "x", "claude")
        run = await wait_for_state(engine, run.id, RunState.FAILED, timeout=60)
    assert run.error == "model API error 400: bad tools"
