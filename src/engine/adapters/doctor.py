"""What this machine has for a workspace's runs: the sandbox, git, and each configured
agent profile's backend (its CLI and version, whether its key is set). ``cockpit doctor``
prints it; a missing piece that the workspace's configuration needs makes it fail."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.adapters.sandbox import probe
from engine.backends import BACKENDS
from engine.config import AgentProfile, CockpitConfig


@dataclass
class Check:
    """One thing checked: what, whether it is there, and the line that says so."""

    name: str
    ok: bool
    detail: str
    #: Whether the workspace needs it (a missing one it needs fails the doctor).
    needed: bool = True
    version: str | None = None
    path: str | None = None


@dataclass
class Report:
    """Everything ``cockpit doctor`` found."""

    sandbox: dict[str, Any]
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """False when something the workspace needs is missing."""
        sandbox_ok = self.sandbox["enforced"] or not self.sandbox["required"]
        return sandbox_ok and all(c.ok for c in self.checks if c.needed)

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` shape: ``{"ok", "sandbox": {…}, "checks": [{…}]}``."""
        return {"ok": self.ok, "sandbox": self.sandbox, "checks": [asdict(c) for c in self.checks]}


def examine(config: CockpitConfig | None, root: Path | None = None) -> Report:
    """Check the sandbox, git and every agent profile of ``config`` (None: no workspace)."""
    status = probe()
    settings = config.sandbox if config is not None else None
    sandbox = {
        "enforced": status.enforced,
        "tool": status.tool,
        "detail": status.detail,
        "required": bool(settings and settings.required),
        # The commands of the built-in harness and the scripted agent (agent CLIs keep
        # the network their model needs; their commands lose it).
        "network": "on" if settings and settings.network else "off",
    }
    report = Report(sandbox)
    report.checks.append(_program("git", "git", ["--version"]))
    for name, profile in (config.agents if config is not None else {}).items():
        report.checks.append(_profile(name, profile, root))
    return report


def _program(name: str, command: str, version_args: list[str], needed: bool = True) -> Check:
    found = shutil.which(command)
    if found is None:
        return Check(name, False, f"{command} not found on PATH", needed)
    version = _version([found, *version_args])
    return Check(name, True, version or found, needed, version, found)


def _version(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0].strip() if lines else None


def _package(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _profile(name: str, profile: AgentProfile, root: Path | None) -> Check:
    label = f"agent {name} ({profile.backend})"
    key = _key(profile)
    if profile.backend == "scripted":
        return Check(label, True, "built in")
    if profile.backend in ("codex", "acp") or (
        profile.backend == "claude-code" and profile.command
    ):
        command = profile.command or "codex"
        if root is not None and "/" in command and not os.path.isabs(command):
            command = str(root / command)
        check = _program(label, command, ["--version"] if profile.backend != "acp" else [])
        if profile.backend == "acp" and check.ok:
            check.detail = check.path or command
            check.version = None
    else:
        package = BACKENDS[profile.backend].client
        assert package is not None, f"backend {profile.backend} names no client package"
        version = _package(package)
        check = Check(
            label,
            version is not None,
            f"{package} {version}" if version else f"{package} is not installed",
            version=version,
        )
        if profile.backend == "claude-code" and version is not None:
            check = _bundled_claude(label, version)
    if key:
        check.detail += f"; {key}"
    return check


def _bundled_claude(label: str, sdk_version: str) -> Check:
    try:
        import claude_agent_sdk
    except ImportError:
        return Check(label, False, "claude-agent-sdk is not installed")
    cli = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
    if not cli.is_file():
        return Check(label, False, f"claude-agent-sdk {sdk_version} has no bundled CLI")
    version = _version([str(cli), "--version"])
    return Check(
        label,
        True,
        f"claude-agent-sdk {sdk_version}, {version or 'claude'}",
        True,
        version,
        str(cli),
    )


def _key(profile: AgentProfile) -> str:
    """Whether the profile's key is set (never the key): a scripted model needs none."""
    if profile.scenario or not profile.api_key_env:
        return ""
    state = "set" if os.environ.get(profile.api_key_env) else "not set"
    return f"{profile.api_key_env} {state}"
