"""The ``anthropic`` and ``claude-code`` backends against an Anthropic-compatible server
that is not Cockpit's scripted one — a gateway with a base path of its own and a key it
checks — configured only through the profile (``base_url``, ``api_key_env``), as a user
points them at a proxy or another provider."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from agentkit import with_profiles
from gateway import PREFIX, Gateway

from engine.adapters.modelserver import ModelServer, parse_model_script
from engine.bootstrap import open_engine
from engine.domain.state import RunState
from engine.workspace import Workspace
from enginekit import git, running_engine, wait_for_state

KEY_ENV = "COCKPIT_TEST_GATEWAY_KEY"
KEY = "sk-gateway-test-key"

#: Per backend, its file-writing tool call.
WRITE = {
    "anthropic": {"name": "write_file", "input": {"path": "via.txt", "content": "gateway\n"}},
    "claude-code": {
        "name": "Write",
        "input": {"file_path": "{cwd}/via.txt", "content": "gateway\n"},
    },
}


@pytest.fixture
async def server() -> AsyncIterator[ModelServer]:
    """The model behind the gateway (its script is set per test)."""
    async with ModelServer(parse_model_script({"turn": []})) as server:
        yield server


@pytest.fixture
async def gateway(server: ModelServer) -> AsyncIterator[Gateway]:
    async with Gateway(server.url, KEY) as gateway:
        yield gateway


def workspace(workspace_root: Path, backend: str, gateway: Gateway) -> Workspace:
    return with_profiles(
        workspace_root,
        f"""
[agents.via-gateway]
backend = "{backend}"
model = "claude-sonnet-5"
base_url = "{gateway.url}"
api_key_env = "{KEY_ENV}"
env = {{ CLAUDE_CODE_MAX_RETRIES = "0" }}
""",
    )


@pytest.mark.parametrize("backend", ["anthropic", "claude-code"])
async def test_a_run_through_another_anthropic_compatible_server(
    backend: str,
    workspace_root: Path,
    server: ModelServer,
    gateway: Gateway,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    server.script = parse_model_script(
        {"turn": [{"text": "Writing.", "tool_use": [WRITE[backend]]}, {"text": "Done."}]}
    )
    ws = workspace(workspace_root, backend, gateway)
    async with open_engine(ws, listen=False) as engine:
        run = await engine.submit("app", "write via.txt", "via-gateway")
    server.cwd = str((ws.worktrees_dir / "app" / run.id).resolve())
    async with running_engine(ws) as engine:
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED, timeout=120)
    assert run.state is RunState.FINISHED, run.error
    assert git(ws.repo_path("app"), "show", f"{run.branch}:via.txt") == "gateway\n"
    messages = [s for s in gateway.seen if s.path.startswith(f"{PREFIX}/v1/messages")]
    assert len(messages) >= 2
    assert all(s.key == KEY for s in gateway.seen)


@pytest.mark.parametrize("backend", ["anthropic", "claude-code"])
async def test_a_key_the_server_refuses_fails_the_run_clearly(
    backend: str, workspace_root: Path, gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-wrong-key-for-this-gateway")
    ws = workspace(workspace_root, backend, gateway)
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "write via.txt", "via-gateway")
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED, timeout=120)
    assert run.state is RunState.FAILED
    assert gateway.seen and all(s.key != KEY for s in gateway.seen)
    # One line saying so: "model API error 401: invalid x-api-key" from the harness,
    # "Invalid API key" from Claude Code.
    assert run.error and ("401" in run.error or "Invalid API key" in run.error), run.error
