"""A run given a model script (``--scenario`` / a profile's ``scenario``) talks to its
own scripted model server instead of a real API: no key, no network. This is how
``cockpit demo`` shows the real harnesses at work, and how a user tries a backend
before adding a key. The server lives as long as the run and knows its worktree, so
``{cwd}`` in the script is the run's worktree."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path

from engine.adapters.modelserver import ModelServer, load_model_script

#: The key given to a client of a scripted server (it checks none).
SCRIPTED_KEY = "scripted-model-server"


def check_model_script(path: str) -> None:
    """Raise ScenarioError (exit 2) when the script cannot be used."""
    load_model_script(Path(path))


@asynccontextmanager
async def scripted_endpoint(script: str, worktree: Path) -> AsyncGenerator[str]:
    """Serve ``script`` for one run; yields the base URL."""
    async with ModelServer(load_model_script(Path(script)), cwd=str(worktree)) as server:
        yield server.url
