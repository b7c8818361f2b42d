"""Running a gate's tool: found on the PATH (or beside Cockpit's own interpreter), started
in the tree as an asyncio subprocess in its own process group, killed at its timeout."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from engine.adapters.process import kill_group

#: Output kept from a tool that crashed (its stderr's tail) for the verdict's detail.
DETAIL_CHARS = 2000


@dataclass(frozen=True)
class ToolRun:
    """How one tool run ended."""

    exit_code: int | None  # None: killed at the timeout
    stdout: str
    stderr: str

    @property
    def timed_out(self) -> bool:
        return self.exit_code is None

    def tail(self) -> str:
        """The end of what it said (stderr first), for a verdict's detail."""
        text = (self.stderr.strip() or self.stdout.strip())[-DETAIL_CHARS:]
        return text or f"exit code {self.exit_code}"


def find_tool(name: str) -> str | None:
    """The tool's path: on the PATH, else beside the interpreter Cockpit runs in (its
    virtualenv's bin, which an installed ``cockpit`` need not have on the PATH)."""
    found = shutil.which(name)
    if found:
        return found
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


async def run_tool(
    argv: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None
) -> ToolRun:
    """Run ``argv`` in ``cwd``; at ``timeout`` seconds its whole process group is killed."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        await kill_group(process.pid)
        out, err = await process.communicate()
        return ToolRun(None, out.decode(errors="replace"), err.decode(errors="replace"))
    except asyncio.CancelledError:
        await asyncio.shield(kill_group(process.pid))
        raise
    return ToolRun(process.returncode, out.decode(errors="replace"), err.decode(errors="replace"))


def relative(path: str, tree: Path) -> str:
    """A tool's path (absolute, or relative to the tree) as a tree-relative POSIX path."""
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            candidate = candidate.resolve().relative_to(tree.resolve())
        except ValueError:
            return path  # outside the tree: kept as the tool said it
    return candidate.as_posix()
