"""What the agent backend benchmarks share: the real clients' paths, their profiles, and
a count of the processes working in a folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACP_AGENT = ROOT / "tests" / "engine" / "adapters" / "agents" / "acp_scripted_agent.py"
CODEX = ROOT / "node_modules" / ".bin" / "codex"
BACKENDS = ("anthropic", "claude-code", "acp", "codex")
#: One ``[agents.NAME]`` table per backend, named after it.
PROFILES = f"""
[agents.anthropic]
backend = "anthropic"

[agents.claude-code]
backend = "claude-code"
env = {{ CLAUDE_CODE_MAX_RETRIES = "0" }}

[agents.acp]
backend = "acp"
command = "{sys.executable}"
args = ["{ACP_AGENT}"]

[agents.codex]
backend = "codex"
command = "{CODEX}"
model = "gpt-scripted"
"""


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
