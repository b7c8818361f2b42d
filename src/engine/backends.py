"""The agent backends, by the name a profile gives in ``backend = "..."``: the one list of
them. The config's schema takes its names from here, the composition root its classes
and ``cockpit doctor`` their client packages; adding a backend is adding a line here.

Plain data, no imports of the backends: each is imported only when a run first needs it
(see ``engine.bootstrap.LazyBackends``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BackendEntry:
    """Where a backend lives, and what ``cockpit doctor`` looks for."""

    #: The module defining the backend's class, and the class.
    module: str
    cls: str
    #: The Python package the backend is built on (its client); None when it needs none.
    client: str | None = None


BACKENDS: dict[str, BackendEntry] = {
    "scripted": BackendEntry("engine.adapters.agents.scripted", "ScriptedAgentBackend"),
    "anthropic": BackendEntry(
        "engine.adapters.agents.anthropic_backend", "AnthropicBackend", "anthropic"
    ),
    "claude-code": BackendEntry(
        "engine.adapters.agents.claude_code", "ClaudeCodeBackend", "claude-agent-sdk"
    ),
    "acp": BackendEntry(
        "engine.adapters.agents.acp_backend", "AcpBackend", "agent-client-protocol"
    ),
    "codex": BackendEntry("engine.adapters.agents.codex", "CodexBackend"),
}
