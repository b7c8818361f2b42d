"""The contract suite's fixtures: a ``client`` of a workspace's engine, one per transport.

Every test of this folder talks to the engine only through the :class:`EngineClient` it
is given (and the files of the workspace it set up), so a client of a detached engine
over its socket runs the same tests unchanged: add its name to :data:`TRANSPORTS` and
build it in :func:`client`. Whatever the transport, the client's engine executes runs
while the test runs (an in-process client serves in a task here).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from clientkit import KEY_VALUE, KEY_VARIABLE, detached_engine

from cockpit.client import EngineClient, open_client
from cockpit.client.local import EngineOptions, open_workspace

#: The ways a client reaches an engine: an engine in the test's process, and the
#: workspace's detached engine (a real ``cockpit engine start`` process) over its socket.
TRANSPORTS = ["in-process", "socket"]

#: What the suite adds to the shared test workspace (repos ``app`` and ``lib`` and a
#: ``scripted`` profile): a profile whose key the engine must mask, a blocking gate on
#: ``lib`` that only approvals and ``check_gates`` run, and a rule of ``lib``'s own.
CONTRACT_CONFIG = f"""
[agents.keyed]
backend = "scripted"
api_key_env = "{KEY_VARIABLE}"

[[repos.lib.gates]]
name = "no-blocked"
kind = "command"
when = "manual"
command = "test ! -e blocked.txt"

[[repos.lib.guard.rules]]
name = "lib-no-rm"
decision = "deny"
tool = "shell"
command = "^rm "
reason = "lib keeps its files"
"""

#: A skill of the workspace's own (``skills/<name>/SKILL.md``).
SKILL = """---
name: contract-notes
description: Notes the contract suite leaves for agents.
---
Keep notes short.
"""


@pytest.fixture
def contract_root(workspace_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shared test workspace with :data:`CONTRACT_CONFIG`, a skill, and the key
    ``keyed`` names set in the environment (the engine reads it when it starts)."""
    config = workspace_root / "cockpit.toml"
    config.write_text(config.read_text() + CONTRACT_CONFIG)
    skill = workspace_root / "skills" / "contract-notes" / "SKILL.md"
    skill.parent.mkdir(parents=True)
    skill.write_text(SKILL)
    monkeypatch.setenv(KEY_VARIABLE, KEY_VALUE)
    return workspace_root


@pytest.fixture
def repos(contract_root: Path) -> dict[str, Path]:
    """The workspace's repos (the user's checkouts), by name."""
    return {name: (contract_root.parent / "repos" / name).resolve() for name in ("app", "lib")}


@pytest.fixture
def scenario(tmp_path: Path) -> Callable[[str], str]:
    """Factory: a scenario file of the scripted agent, its absolute path."""
    folder = tmp_path / "scenarios"
    folder.mkdir()
    count = 0

    def write(text: str) -> str:
        nonlocal count
        count += 1
        path = folder / f"s{count}.toml"
        path.write_text(text)
        return str(path)

    return write


@pytest.fixture(params=TRANSPORTS)
async def client(
    request: pytest.FixtureRequest, contract_root: Path
) -> AsyncIterator[EngineClient]:
    """A client of the workspace's engine, which executes runs until the test ends."""
    workspace = open_workspace(contract_root)
    if request.param == "socket":
        async with detached_engine(workspace) as remote:
            yield remote
        return
    async with open_client(workspace, EngineOptions(poll_interval=0.1)) as inprocess:
        serving = asyncio.create_task(inprocess.serve(), name="contract-engine")
        try:
            yield inprocess
        finally:
            inprocess.stop()
            await serving
