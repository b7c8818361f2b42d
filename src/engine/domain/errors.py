"""Typed errors raised where a problem is found and turned into one clear line at the edge."""

from __future__ import annotations


class CockpitError(Exception):
    """Base of every error Cockpit reports to a user as one line."""

    #: Process exit code the CLI uses for this error (2 = bad input).
    exit_code: int = 1


class BadInput(CockpitError):
    """The user gave something unusable: unknown repo, broken config, not a git repo."""

    exit_code = 2


class ConfigError(BadInput):
    """``cockpit.toml`` cannot be read or does not validate."""


class StoreError(BadInput):
    """The workspace's run store (its SQLite file) cannot be opened or read."""


class DiskFull(CockpitError):
    """A write failed for want of space: the thing ran and did not succeed (exit 1)."""


class WorkspaceNotFound(BadInput):
    """No ``cockpit.toml`` between the current directory and the filesystem root."""


class UnknownRun(BadInput):
    """A run id (or prefix) matches no run, or more than one."""


class UnknownRepo(BadInput):
    """A repo name is not configured in the workspace."""


class ScenarioError(BadInput):
    """A scripted-backend scenario file is missing or malformed."""


class IllegalTransition(CockpitError):
    """A run was asked to move between two states the state machine does not connect."""


class GitError(CockpitError):
    """A git command failed; the message carries git's own stderr."""


class AgentFailed(CockpitError):
    """The agent ended the run as failed (crash, scripted ``fail`` step, missing CLI)."""


class ReviewRefused(CockpitError):
    """An approval that cannot go ahead as things are: a merge conflict, red blocking
    gates, or uncommitted changes where the base branch is checked out. Nothing moved."""


class GatesRed(ReviewRefused):
    """An approval refused because blocking gates are red (``gates`` names them); the
    human may override it, which is recorded."""

    def __init__(self, message: str, gates: list[str]) -> None:
        super().__init__(message)
        self.gates = gates


class EngineUnavailable(CockpitError):
    """No engine answers for the workspace (none runs, it died, or it would not start)."""
