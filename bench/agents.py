"""What the agent backend benchmarks share: the real clients' paths, their profiles, and
a count of the processes working in a folder."""

from __future__ import annotations

import os
from pathlib import Path

# common first: it puts the repo's root on sys.path, for tests.builders.
import common  # noqa: F401

# isort: split
from tests.builders import ACP_AGENT, CODEX, acp_profile, codex_profile

__all__ = ["ACP_AGENT", "BACKENDS", "CODEX", "PROFILES", "ROOT", "processes_in"]

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("anthropic", "claude-code", "acp", "codex")
#: One ``[agents.NAME]`` table per backend, named after it.
PROFILES = (
    """
[agents.anthropic]
backend = "anthropic"

[agents.claude-code]
backend = "claude-code"
env = { CLAUDE_CODE_MAX_RETRIES = "0" }
"""
    + acp_profile("acp")
    + codex_profile("codex")
)


def processes_in(folder: Path) -> int:
    """How many processes have their working directory inside ``folder``."""
    count = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        count += cwd == folder or folder in cwd.parents
    return count
