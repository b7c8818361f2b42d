"""The ``cockpit.toml`` schema and its loader.

Every model forbids unknown keys and is strict about types, so a typo or a quoted number
in the file is reported instead of silently ignored or coerced. :func:`load_config` turns
every problem (missing file, TOML syntax, schema) into one :class:`ConfigError` line that
names the file and the offending line or key (found in the text by :mod:`engine.config_toml`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from engine.backends import BACKENDS
from engine.config_toml import describe_validation_error, parse_toml, read_toml
from engine.domain.errors import ConfigError
from engine.gate_kinds import GATES

#: Repo names and agent profile names: typeable on a command line, usable in paths.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([hms])")
_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0}


def parse_duration(value: object) -> float:
    """Turn ``"90s"``, ``"45m"``, ``"2h"``, ``"1h30m"`` or a number of seconds into seconds.

    Raises ``ValueError`` with a message fit to show a user when the value is not a
    positive duration.
    """
    # bool is an int subclass; `timeout = true` is a mistake, not one second.
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}: use e.g. 90s, 45m, 2h, 1h30m or seconds")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        seconds = _parse_duration_text(text)
        if seconds is None:
            raise ValueError(f"invalid duration {value!r}: use e.g. 90s, 45m, 2h, 1h30m or seconds")
    else:
        raise ValueError(f"invalid duration {value!r}: use e.g. 90s, 45m, 2h, 1h30m or seconds")
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"invalid duration {value!r}: must be more than zero")
    return seconds


def _parse_duration_text(text: str) -> float | None:
    """Seconds for a duration string, or None when it is not one."""
    try:
        return float(text)
    except ValueError:
        pass
    if not text:
        return None
    pos = 0
    total = 0.0
    seen: set[str] = set()
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None:
            return None
        unit = match.group(2)
        # "5m10m" is almost certainly a typo; refuse it rather than guess.
        if unit in seen:
            return None
        seen.add(unit)
        total += float(match.group(1)) * _DURATION_UNITS[unit]
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return total


def _check_name(value: str) -> str:
    if not NAME_PATTERN.match(value):
        raise ValueError(
            f"invalid name {value!r}: use letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


#: Seconds, written in the file as a duration string or a number.
Duration = Annotated[float, BeforeValidator(parse_duration)]
#: A repo or agent profile name (a table key in the file).
Name = Annotated[str, AfterValidator(_check_name)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Limits(_Model):
    """``[limits]``: how many runs may work at once and for how long."""

    max_running: int = Field(default=4, ge=1)
    max_running_per_repo: int = Field(default=2, ge=1)
    run_timeout: Duration = 45 * 60.0


class WorkspaceSettings(_Model):
    """``[workspace]``: where the workspace keeps things."""

    #: Directory for run worktrees, relative to the workspace root; None = ``.cockpit/worktrees``.
    worktrees: str | None = None


if TYPE_CHECKING:
    GateKind = str
else:
    #: A gate's kind: one of ``engine.gate_kinds.GATES`` (the error lists them).
    GateKind = Literal[tuple(GATES)]


class GateConfig(_Model):
    """One ``[[repos.NAME.gates]]`` entry: a check run on a run's worktree."""

    name: str = Field(min_length=1)
    kind: GateKind
    blocking: bool = True
    when: Literal["turn", "finish", "manual"] = "turn"
    timeout: Duration = 60.0
    command: str | None = None
    args: list[str] = Field(default_factory=list)
    #: ``command`` gates: a regex whose named groups (``path``, ``line``, ``code``,
    #: ``message``) turn output lines into findings.
    pattern: str | None = None
    #: ``pytest`` gates: run only the test files that changed or that mention a changed
    #: module (a heuristic: a test reaching the change indirectly is not run).
    changed_only: bool = False

    @model_validator(mode="after")
    def _command_needs_command(self) -> GateConfig:
        if self.kind == "command" and not (self.command and self.command.strip()):
            raise ValueError('kind = "command" needs a command')
        if self.changed_only and self.kind != "pytest":
            raise ValueError("changed_only is for pytest gates")
        if self.pattern is not None:
            try:
                compiled = re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regex: {exc}") from None
            if "path" not in compiled.groupindex:
                raise ValueError("pattern needs a named group (?P<path>...)")
        return self


class GuardRule(_Model):
    """One ``[[guard.rules]]`` entry: allow, ask about or deny matching tool calls."""

    name: str = Field(min_length=1)
    decision: Literal["allow", "ask", "deny"]
    tool: str | None = None
    #: Regular expression matched against shell commands.
    command: Annotated[str | None, AfterValidator(_check_regex)] = None
    #: Glob matched against file paths.
    path: str | None = None
    reason: str | None = None


class RepoGuardConfig(_Model):
    """``[repos.NAME.guard]``: a repo's own rules (judged before the workspace's) and
    default rules it turns off."""

    #: Names of built-in rules to turn off.
    disable: list[str] = Field(default_factory=list)
    rules: list[GuardRule] = Field(default_factory=list)


class GuardConfig(RepoGuardConfig):
    """``[guard]``: rules deciding which agent tool calls are allowed, asked about or
    refused, in every repo."""

    #: Seconds a run waits for the human to answer the guard's "ask" before the call is
    #: refused (an unattended cockpit must not leave agents stuck forever).
    ask_timeout: float = Field(default=600.0, gt=0)


class RepoConfig(_Model):
    """``[repos.NAME]``: a git repository agents may work in."""

    #: Relative to the workspace root, or absolute.
    path: str = Field(min_length=1)
    base: str = Field(default="main", min_length=1)
    skills: list[str] = Field(default_factory=list)
    fix_rounds: int = Field(default=0, ge=0)
    #: None (not written): the defaults a repo's pyproject.toml calls for; ``gates = []``:
    #: none at all.
    gates: list[GateConfig] | None = None
    guard: RepoGuardConfig = Field(default_factory=RepoGuardConfig)
    #: How an approved run lands on ``base``: a merge commit, or one squashed commit.
    merge: Literal["merge", "squash"] = "merge"

    @model_validator(mode="after")
    def _unique_gate_names(self) -> RepoConfig:
        seen: set[str] = set()
        for gate in self.gates or []:
            if gate.name in seen:
                raise ValueError(f"two gates are named {gate.name!r}")
            seen.add(gate.name)
        return self


if TYPE_CHECKING:
    Backend = str
else:
    #: A backend's name: one of ``engine.backends.BACKENDS`` (the error lists them).
    Backend = Literal[tuple(BACKENDS)]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_env_name(value: str | None) -> str | None:
    # Catches the common mistake of pasting the key itself, which must never sit in the file.
    if value is not None and not _ENV_NAME.match(value):
        raise ValueError(
            "must be the NAME of an environment variable (e.g. ANTHROPIC_API_KEY), not the key"
        )
    return value


class ProfileSandbox(_Model):
    """``[agents.NAME.sandbox]``: this profile's exceptions to ``[sandbox]``."""

    #: Whether the agent's commands may reach the network (default: ``[sandbox] network``).
    network: bool | None = None


class SandboxSettings(_Model):
    """``[sandbox]``: how runs are confined by the kernel (bubblewrap on Linux)."""

    #: Refuse to start runs where no sandbox can be had, instead of the guard alone.
    required: bool = False
    #: Whether the commands of the built-in harness and the scripted agent reach the
    #: network (agent CLIs that call their model always do).
    network: bool = False


class EngineSettings(_Model):
    """``[engine]``: the detached engine (the daemon the front ends talk to)."""

    #: With no client attached and no run queued or running for this long, it exits.
    idle_exit: Duration = 600.0


#: What a notification is about: a run waits for you, is ready for review, or failed.
NotifyKind = Literal["needs_input", "review", "failed"]
NOTIFY_KINDS: tuple[NotifyKind, ...] = ("needs_input", "review", "failed")


class NotifySettings(_Model):
    """``[notify]``: a command run when a run needs the human (see
    :mod:`engine.services.notify` for what it gets on stdin)."""

    #: The command's argv, e.g. ``["notify-send", "Cockpit"]``; empty: no notifications.
    command: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    #: Which kinds run the command.
    kinds: list[NotifyKind] = Field(default_factory=lambda: list(NOTIFY_KINDS))
    #: A notify command still running after this long is killed.
    timeout: Duration = 30.0


class AgentProfile(_Model):
    """``[agents.NAME]``: how to start one kind of agent."""

    backend: Backend
    model: str | None = None
    base_url: str | None = None
    #: Name of the environment variable holding the API key; the key never goes in the file.
    api_key_env: Annotated[str | None, AfterValidator(_check_env_name)] = None
    command: str | None = None
    args: list[str] = Field(default_factory=list)
    #: Scenario file for the scripted backend, relative to the workspace root.
    scenario: str | None = None
    #: Scripted backend only: with no scenario, make up a plausible run from the task.
    improvise: bool = False
    env: dict[str, str] = Field(default_factory=dict)
    idle_timeout: Duration | None = None
    #: The built-in harness's limits: model replies per run, tokens per reply.
    max_turns: int | None = None
    max_tokens: int | None = None
    sandbox: ProfileSandbox = Field(default_factory=ProfileSandbox)


def _check_regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None
    return value


class CockpitConfig(_Model):
    """The whole ``cockpit.toml``; every section is optional, so an empty file is valid."""

    limits: Limits = Field(default_factory=Limits)
    workspace: WorkspaceSettings = Field(default_factory=WorkspaceSettings)
    repos: dict[Name, RepoConfig] = Field(default_factory=dict)
    agents: dict[Name, AgentProfile] = Field(default_factory=dict)
    guard: GuardConfig = Field(default_factory=GuardConfig)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    #: ``[ui]`` and ``[keys]``: the full-screen cockpit's own sections, kept as written.
    #: The engine has no use for them; the cockpit reads and checks them
    #: (``cockpit.tui.ui_config``), and says in one line what is wrong there.
    ui: dict[str, Any] = Field(default_factory=dict)
    keys: dict[str, Any] = Field(default_factory=dict)


def load_config(path: Path) -> CockpitConfig:
    """Read and validate ``path``; any problem becomes a one-line :class:`ConfigError`."""
    text, raw = read_toml(path)
    return _validated(raw, text, path)


def parse_config(text: str, path: Path) -> CockpitConfig:
    """Validate TOML ``text`` as if read from ``path`` (which only names it in errors)."""
    return _validated(parse_toml(text, path), text, path)


def _validated(raw: dict[str, Any], text: str, path: Path) -> CockpitConfig:
    try:
        return CockpitConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, text, path)) from None
