"""Where a model-backed run gets its model: the real API with the profile's key, or its own
scripted model server.

A run given a model script (``--scenario`` / a profile's ``scenario``) talks to a scripted
model server of its own instead of a real API: no key, no network. This is how
``cockpit demo`` shows the real harnesses at work, and how a user tries a backend before
adding a key. The server lives as long as the run and knows its worktree, so ``{cwd}`` in
the script is the run's worktree.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from engine.adapters.modelserver import ModelServer, load_model_script
from engine.domain.errors import BadInput, ScenarioError
from engine.ports.agent import AgentOutcome, RunContext

#: The key given to a client of a scripted server (it checks none).
SCRIPTED_KEY = "scripted-model-server"


def check_model_access(
    agent: str, profile: dict[str, Any], scenario: str | None, default_key_env: str
) -> None:
    """Preflight: a model script must be valid; else the key's variable must be set (its
    value is never looked at here). Raises BadInput / ScenarioError (exit 2)."""
    if scenario:
        load_model_script(Path(scenario))
        return
    key_env = profile.get("api_key_env") or default_key_env
    if not os.environ.get(key_env):
        raise BadInput(
            f"the {agent} agent needs an API key: set {key_env} in the environment"
            " (or name another variable with api_key_env in its [agents.NAME] profile)"
        )


async def with_model(
    ctx: RunContext,
    default_key_env: str,
    drive: Callable[[dict[str, Any], str], Awaitable[AgentOutcome]],
) -> AgentOutcome:
    """Call ``drive(profile, api_key)`` against the run's model: its scripted server (the
    profile's ``base_url`` pointed at it) or the real API with the key from the env."""
    if ctx.run.scenario:
        try:
            async with scripted_endpoint(ctx.run.scenario, ctx.worktree) as url:
                return await drive(dict(ctx.profile, base_url=url), SCRIPTED_KEY)
        except ScenarioError as exc:
            return AgentOutcome(ok=False, error=str(exc))
    key_env = ctx.profile.get("api_key_env") or default_key_env
    api_key = os.environ.get(key_env)
    if not api_key:
        return AgentOutcome(ok=False, error=f"{key_env} is not set: no API key")
    return await drive(ctx.profile, api_key)


@asynccontextmanager
async def scripted_endpoint(script: str, worktree: Path) -> AsyncGenerator[str]:
    """Serve ``script`` for one run; yields the base URL."""
    async with ModelServer(load_model_script(Path(script)), cwd=str(worktree)) as server:
        yield server.url
