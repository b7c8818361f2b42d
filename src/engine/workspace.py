"""Finding, creating and editing a workspace: a folder holding ``cockpit.toml``.

These are synchronous helpers for the CLI; they run git through
``engine.adapters.git.runner.git_sync``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from engine.config_toml import toml_key, toml_string
from engine.disk import NO_SPACE, disk_full
from engine.domain.errors import BadInput, ConfigError, UnknownRepo, WorkspaceNotFound

if TYPE_CHECKING:
    from engine.config import AgentProfile, CockpitConfig, RepoConfig


def load_config(path: Path) -> CockpitConfig:
    """``engine.config.load_config``, imported when first needed: the schema's models
    (and the validation library under them) are not loaded by a client that never
    reads the config itself, such as the cockpit."""
    from engine.config import load_config as load

    return load(path)


def parse_config(text: str, path: Path) -> CockpitConfig:
    """``engine.config.parse_config``, imported when first needed (see :func:`load_config`)."""
    from engine.config import parse_config as parse

    return parse(text, path)


def git_sync(args: list[str], cwd: Path) -> str | None:
    """``engine.adapters.git.runner.git_sync``, imported when first needed: opening a
    workspace (as every front end does) must not load the git adapter's machinery."""
    from engine.adapters.git.runner import git_sync as run

    return run(args, cwd)


CONFIG_NAME = "cockpit.toml"
STATE_DIR = ".cockpit"
#: Environment variable naming the workspace when ``--workspace`` is not given.
WORKSPACE_ENV = "COCKPIT_WORKSPACE"


def find_workspace(cwd: Path, explicit: str | None = None) -> Path:
    """The absolute root of the workspace to use.

    ``explicit`` (the ``--workspace`` flag) wins, then ``$COCKPIT_WORKSPACE``, then the
    nearest directory from ``cwd`` upwards that holds ``cockpit.toml``.
    """
    cwd = Path(cwd).expanduser()
    if not cwd.is_absolute():
        cwd = Path.cwd() / cwd
    for value, origin in (
        (explicit, "--workspace"),
        (os.environ.get(WORKSPACE_ENV), WORKSPACE_ENV),
    ):
        if value:
            root = (cwd / Path(value).expanduser()).resolve()
            # Accept the config file itself as well as its directory.
            if root.name == CONFIG_NAME and root.is_file():
                return root.parent
            if not (root / CONFIG_NAME).is_file():
                raise WorkspaceNotFound(f"no {CONFIG_NAME} in {root} (given by {origin})")
            return root
    start = cwd.resolve()
    for directory in (start, *start.parents):
        if (directory / CONFIG_NAME).is_file():
            return directory
    raise WorkspaceNotFound(
        f"no {CONFIG_NAME} in {start} or any parent (run `cockpit init` or pass --workspace)"
    )


class Workspace:
    """An opened workspace: its root, its parsed config and where its state lives.

    The config is read when first asked for when none is given (:func:`client_workspace`):
    the engine and the command line read it as they open the workspace, a client of the
    engine such as the cockpit only when it needs more than the engine tells it."""

    def __init__(self, root: Path, config_path: Path, config: CockpitConfig | None = None) -> None:
        self.root = root
        self.config_path = config_path
        self._config = config

    def __repr__(self) -> str:
        return f"Workspace(root={self.root!r})"

    @property
    def config(self) -> CockpitConfig:
        """The parsed ``cockpit.toml`` (``ConfigError`` when it does not load)."""
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    @config.setter
    def config(self, config: CockpitConfig) -> None:
        self._config = config

    @property
    def state_dir(self) -> Path:
        """``ROOT/.cockpit``: the database, logs, worktrees and salvage."""
        return self.root / STATE_DIR

    @property
    def db_path(self) -> Path:
        """The SQLite database holding runs and events."""
        return self.state_dir / "cockpit.db"

    @property
    def logs_dir(self) -> Path:
        """Per-run and engine logs."""
        return self.state_dir / "logs"

    @property
    def worktrees_dir(self) -> Path:
        """Where run worktrees are created (``[workspace] worktrees`` or ``.cockpit/worktrees``)."""
        configured = self.config.workspace.worktrees
        if configured:
            return (self.root / Path(configured).expanduser()).resolve()
        return self.state_dir / "worktrees"

    @property
    def salvage_dir(self) -> Path:
        """Where work rescued from discarded or broken worktrees is kept."""
        return self.state_dir / "salvage"

    def repo(self, name: str) -> RepoConfig:
        """The configured repo ``name``; :class:`UnknownRepo` if there is none."""
        try:
            return self.config.repos[name]
        except KeyError:
            raise UnknownRepo(
                f"unknown repo {name!r} (configured: {_names(self.config.repos)})"
            ) from None

    def repo_path(self, name: str) -> Path:
        """Absolute path of repo ``name``, its configured path resolved against the root."""
        return (self.root / Path(self.repo(name).path).expanduser()).resolve()

    def repo_paths(self) -> dict[str, Path]:
        """Every configured repo's absolute path, by name, in the config's order."""
        return {name: self.repo_path(name) for name in self.config.repos}

    def agent(self, name: str) -> AgentProfile:
        """The agent profile ``name``; :class:`BadInput` if there is none."""
        try:
            return self.config.agents[name]
        except KeyError:
            raise BadInput(
                f"unknown agent profile {name!r} in {self.config_path} "
                f"(configured: {_names(self.config.agents)})"
            ) from None


def _names(table: Mapping[str, object]) -> str:
    return ", ".join(table) if table else "none"


def open_workspace(root: Path) -> Workspace:
    """Load the workspace at ``root``, creating its state dir and keeping it out of git."""
    root = Path(root).expanduser().resolve()
    config_path = root / CONFIG_NAME
    config = load_config(config_path)
    workspace = Workspace(root=root, config_path=config_path, config=config)
    workspace.logs_dir.mkdir(parents=True, exist_ok=True)
    ensure_git_excluded(workspace.state_dir)
    if workspace.state_dir not in workspace.worktrees_dir.parents:
        # Worktrees configured elsewhere must not show up in a repo's tracked tree either.
        ensure_git_excluded(workspace.worktrees_dir)
    return workspace


def client_workspace(root: Path) -> Workspace:
    """The workspace at ``root`` as a client of its engine sees it: nothing created or
    read yet (the engine does that as it starts), the config read when first asked for."""
    root = Path(root).expanduser().resolve()
    return Workspace(root=root, config_path=root / CONFIG_NAME)


def _git_toplevel(directory: Path) -> Path | None:
    out = git_sync(["rev-parse", "--show-toplevel"], directory)
    return Path(out).resolve() if out else None


def _gitignore_escape(relative: str) -> str:
    # Glob characters and leading '#'/'!' are special in ignore files; escape them so
    # the pattern matches exactly this directory.
    out = "".join("\\" + ch if ch in "*?[]\\!#" else ch for ch in relative)
    return out.rstrip() + "\\ " * (len(out) - len(out.rstrip()))


def ensure_git_excluded(path: Path) -> None:
    """Add directory ``path`` to ``info/exclude`` of the git work tree containing it.

    Does nothing outside a git work tree or when the line is already there. Uses the
    repo-local exclude file rather than ``.gitignore`` so the user's tracked files are
    never modified.
    """
    path = Path(path).expanduser().resolve()
    # The directory may not exist yet; git needs an existing cwd.
    probe = path
    while not probe.is_dir():
        if probe.parent == probe:
            return
        probe = probe.parent
    top = _git_toplevel(probe)
    if top is None:
        return
    try:
        relative = path.relative_to(top)
    except ValueError:
        return
    if not relative.parts:
        return  # Excluding the whole work tree would hide everything.
    pattern = "/" + _gitignore_escape(relative.as_posix()) + "/"
    exclude = git_sync(["rev-parse", "--git-path", "info/exclude"], top)
    if not exclude:
        return
    exclude_path = top / exclude  # relative to cwd unless git printed an absolute path
    try:
        existing = exclude_path.read_text(encoding="utf-8") if exclude_path.exists() else ""
        if pattern in (line.strip() for line in existing.splitlines()):
            return
        exclude_path.parent.mkdir(parents=True, exist_ok=True)
        prefix = "" if not existing or existing.endswith("\n") else "\n"
        with exclude_path.open("a", encoding="utf-8") as fh:
            fh.write(f"{prefix}# Cockpit's state directory\n{pattern}\n")
    except OSError:
        # Best effort: a read-only repo must not stop the workspace from opening.
        return


def _write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so readers see the old or the new file, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            shutil.copymode(path, tmp)
        else:
            # mkstemp creates 0600; a config file should get the usual umask-based mode.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


STARTER_CONFIG = """\
# cockpit.toml — the Cockpit workspace file.
#
# This folder is a Cockpit workspace: the repos listed here are the ones agents may work
# in, and the [agents.*] profiles say how agents are started. Cockpit keeps its own state
# (database, logs, run worktrees) in .cockpit/ next to this file.
#
# Add a repo with:   cockpit repo add PATH [--name NAME]
# Durations are written like "90s", "45m", "2h", "1h30m" or as a number of seconds.

[limits]
# At most this many runs work at the same time across all repos.
max_running = 4
# ...and at most this many in any one repo.
max_running_per_repo = 2
# A run still working after this long is stopped.
run_timeout = "45m"

# [workspace]
# worktrees = ".cockpit/worktrees"   # where run worktrees go, relative to this file

# Repos are tables like this one (`cockpit repo add` writes them for you):
#
# [repos.api]
# path = "../api"        # relative to this file, or absolute
# base = "main"          # branch runs start from and merge back into
# skills = []
#
# Gates are checks run on an agent's worktree:
#
# [[repos.api.gates]]
# name = "lint"
# kind = "ruff"          # ruff, ruff-format, ty, tach, secrets, pytest, hooks or command
# blocking = true        # a failing blocking gate stops the run from finishing
# when = "turn"          # turn, finish or manual
# timeout = "60s"
#
# [[repos.api.gates]]
# name = "tests"
# kind = "command"
# command = "make test"
# when = "finish"

# Agent profiles: pick one with `cockpit run REPO "TASK" --agent NAME`.

# Replays a scenario file instead of calling a model; handy to try Cockpit out:
#   cockpit run REPO "TASK" --agent scripted --scenario FILE
[agents.scripted]
backend = "scripted"

# [agents.claude]
# backend = "anthropic"
# model = "claude-sonnet-5"
# api_key_env = "ANTHROPIC_API_KEY"   # the NAME of the variable holding the key, never the key
#
# [agents.claude-code]
# backend = "claude-code"
# command = "claude"
#
# [agents.gemini]
# backend = "acp"
# command = "gemini"
# args = ["--experimental-acp"]

# [guard]
# Rules deciding which agent tool calls run freely, need your approval or are refused.
# The built-in rules apply until you change them here.

# [engine]
# idle_exit = "10m"    # the detached engine exits after this long with no client and no run

# [notify]
# A command told (one JSON document on stdin) when a run needs you, is ready for review
# or failed; $COCKPIT_NOTIFY_SUMMARY holds one line saying which.
# command = ["sh", "-c", 'notify-send Cockpit "$COCKPIT_NOTIFY_SUMMARY"']
# kinds = ["needs_input", "review", "failed"]
# timeout = "30s"
"""


def init_workspace(directory: Path) -> Path:
    """Create a workspace in ``directory`` with a commented starter ``cockpit.toml``.

    Creates the directory when missing and refuses to overwrite an existing config.
    Returns the path of the new config file.
    """
    directory = Path(directory).expanduser().resolve()
    config_path = directory / CONFIG_NAME
    if config_path.exists():
        raise BadInput(f"{config_path} already exists; not overwritten")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"{directory}: cannot create directory: {exc.strerror or exc}") from None
    # The starter is a constant, but checking it here keeps it from drifting from the schema.
    parse_config(STARTER_CONFIG, config_path)
    _write_atomic(config_path, STARTER_CONFIG)
    ensure_git_excluded(directory / STATE_DIR)
    return config_path


def add_repo(root: Path, path: str, name: str | None = None) -> tuple[str, Path, str]:
    """Append a ``[repos.NAME]`` table for the git repo at ``path`` to the workspace config.

    ``path`` is resolved against the current directory, as typed by the user. The name
    defaults to the directory's name and ``base`` to the repo's current branch. Returns
    ``(name, absolute path, base)``. On any error the file is left untouched.
    """
    root = Path(root).expanduser().resolve()
    config_path = root / CONFIG_NAME
    config = load_config(config_path)  # a broken file is refused with its own error
    text = config_path.read_text(encoding="utf-8")

    target = (Path.cwd() / Path(path).expanduser()).resolve()
    if not target.is_dir():
        raise BadInput(f"{path}: no such directory")
    top = _git_toplevel(target)
    if top is None:
        raise BadInput(f"{path}: not a git repository")
    if top != target:
        raise BadInput(f"{path}: not a git repository (it lies inside {top}; add that instead)")

    name = name if name is not None else target.name
    from engine.config import NAME_PATTERN

    if not NAME_PATTERN.match(name):
        raise BadInput(
            f"invalid repo name {name!r}: use letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (pass --name)"
        )
    if name in config.repos:
        raise BadInput(f"repo {name!r} already exists in {config_path}")
    workspace = Workspace(root=root, config_path=config_path, config=config)
    for other in config.repos:
        if workspace.repo_path(other) == target:
            raise BadInput(f"{path} is already configured as repo {other!r} in {config_path}")

    base = git_sync(["symbolic-ref", "--short", "-q", "HEAD"], target) or "main"
    try:
        written = Path(os.path.relpath(target, root)).as_posix()
    except ValueError:  # another drive on Windows: no relative path exists
        written = str(target)

    if text and not text.endswith("\n"):
        text += "\n"
    table = f"[repos.{toml_key(name)}]\npath = {toml_string(written)}\nbase = {toml_string(base)}\n"
    new_text = f"{text}\n{table}" if text else table
    try:
        parse_config(new_text, config_path)
    except ConfigError as exc:
        raise BadInput(f"cannot add [repos.{toml_key(name)}]: {exc}") from None
    _write_config(config_path, new_text)
    return name, target, base


def _write_config(path: Path, text: str) -> None:
    """Replace the config file, refusing a read-only one: the atomic replace would go
    through a file its owner made read-only (and root writes any file), so the mode
    bits are asked, not only the system. Any failure leaves the file as it was."""
    mode = path.stat().st_mode
    if not os.access(path, os.W_OK) or not mode & 0o222:
        raise BadInput(f"{path} is read-only; nothing was changed")
    try:
        _write_atomic(path, text)
    except OSError as exc:
        if exc.errno in NO_SPACE:
            raise disk_full(path) from None
        raise BadInput(f"{path} cannot be written: {exc.strerror}; nothing was changed") from None


def repo_problem(path: Path) -> str | None:
    """What keeps the folder of a configured repo from being one, as a sentence naming
    the path (``/x/api is not a git repository``), or None when it is a git repo's top.
    Blocking: it asks git."""
    if not path.exists():
        return f"{path} does not exist"
    if not path.is_dir():
        return f"{path} is not a directory"
    top = _git_toplevel(path)
    if top is None:
        return f"{path} is not a git repository"
    if top != path.resolve():
        return f"{path} is not a git repository (it lies inside {top})"
    return None


def list_repos(ws: Workspace) -> list[dict[str, str]]:
    """The configured repos in file order, as ``{"name", "path" (absolute), "base"}``,
    with a ``"problem"`` (see :func:`repo_problem`) when the path is no git repo."""
    repos: list[dict[str, str]] = []
    for name, repo in ws.config.repos.items():
        path = ws.repo_path(name)
        entry = {"name": name, "path": str(path), "base": repo.base}
        problem = repo_problem(path)
        if problem:
            entry["problem"] = problem
        repos.append(entry)
    return repos


def repo_warnings(ws: Workspace) -> list[str]:
    """One line per configured repo whose path is no git repo, as the CLI warns on
    stderr: ``repo 'api': /x/api is not a git repository``. Blocking."""
    return [
        f"repo {name!r}: {problem}"
        for name in ws.config.repos
        if (problem := repo_problem(ws.repo_path(name)))
    ]
