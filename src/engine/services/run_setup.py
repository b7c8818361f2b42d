"""What a run's execution is given, in two bundles the engine builds for it.

:class:`RunSetup` is what this one run gets from the workspace and its config (where it
works, which agent, its limits, rules and jail); :class:`RunServices` is what every run
of an engine shares (its store, bus, git and shell). Also here: the environment a run's
commands get, without the engine's credentials.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.domain.redact import KEY_VARIABLES, Redactor
from engine.guard import Policy
from engine.ports.agent import AgentBackend
from engine.ports.git import Worktrees
from engine.ports.sandbox import RUN_MARK, Jail
from engine.ports.skills import SkillLibrary
from engine.ports.store import RunStore
from engine.services.bus import EventBus
from engine.services.gates import GatePlan
from engine.workspace import Workspace

#: Runs a command line (argv) in a folder: (argv, cwd, timeout, env) -> (exit code, output).
Shell = Callable[..., Awaitable[tuple[int, str]]]


@dataclass(frozen=True)
class RunSetup:
    """What one run gets from the workspace and its config, worked out as it starts."""

    #: The repo's own checkout, the worktree is made from.
    repo_path: Path
    #: The run's worktree (made if missing; kept across resumes).
    worktree: Path
    #: The agent profile, as a plain mapping (what backends read).
    profile: dict[str, Any]
    backend: AgentBackend
    #: The run's overall time limit (None: none).
    timeout: float | None
    #: The backend's private folder for this run (None: one beside the worktree).
    state_dir: Path | None = None
    #: Skills to load: the repo's configured ones, then those the run names.
    wanted_skills: tuple[str, ...] = ()
    #: Makes the run's gate plan from its worktree (the repo's pyproject there).
    gates: Callable[[Path], GatePlan] | None = None
    #: The guard's policy for the run's tool calls (None: every call is allowed).
    policy: Policy | None = None
    #: How long a guard "ask" waits for the human before it refuses.
    ask_timeout: float = 600.0
    #: Confines every process of the run (None: commands run as they are).
    jail: Jail | None = None
    #: The environment of the run's commands (None inherits the engine's).
    command_env: dict[str, str] | None = None


@dataclass(frozen=True)
class RunServices:
    """What every run of one engine shares: its collaborators, built once."""

    store: RunStore
    bus: EventBus
    worktrees: Worktrees
    run_shell: Shell
    #: How often a waiting run looks for steering a lost poke did not announce.
    poll_interval: float
    skill_library: SkillLibrary | None = None
    #: Masks every key the workspace knows (each run adds its own profile's).
    redactor: Redactor | None = None
    #: Ends every live process marked as a run's (left by an earlier execution).
    end_processes: Callable[[str], Awaitable[int]] | None = None


#: Words in the names of variables that hold credentials: an agent's commands never see
#: them (nor the agents' sockets that hand out keys).
_SECRET_NAME = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL")
_AGENT_SOCKETS = {"SSH_AUTH_SOCK", "GPG_AGENT_INFO", "GNUPGHOME"}


def command_env(run_id: str, keys: set[str]) -> dict[str, str]:
    """The environment of a run's commands: the engine's, without API keys and other
    credentials (an ``env`` dump must not print them), with the run's mark."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in keys
        and name not in _AGENT_SOCKETS
        and not any(word in name.upper() for word in _SECRET_NAME)
    }
    env[RUN_MARK] = run_id
    return env


def key_variables(workspace: Workspace) -> set[str]:
    """The variables holding API keys: every profile's ``api_key_env``, and the usual."""
    named = {p.api_key_env for p in workspace.config.agents.values() if p.api_key_env}
    return named | set(KEY_VARIABLES)
