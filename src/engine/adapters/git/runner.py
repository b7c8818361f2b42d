"""Running git: the worktrees, the merges, recovery and the workspace go through here.

:func:`git` and :func:`git_exit` run git as an ``asyncio`` subprocess (the event loop
never blocks), located by ``cwd`` alone (inherited ``GIT_DIR`` and the like are dropped),
never prompting, and tied to this process during a review decision (see ``lifeline``).
:func:`commit_tree` is how Cockpit makes every commit of its own. :func:`git_sync` is the
blocking runner for code that runs before any event loop (opening a workspace).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from engine.adapters.git.lifeline import spawn_options
from engine.disk import disk_full
from engine.domain.errors import GitError
from engine.domain.redact import KEY_VARIABLES, Redactor

#: Identity used for Cockpit's own commits when the repo has none configured.
_IDENTITY = {
    "GIT_AUTHOR_NAME": "Cockpit",
    "GIT_AUTHOR_EMAIL": "cockpit@localhost",
    "GIT_COMMITTER_NAME": "Cockpit",
    "GIT_COMMITTER_EMAIL": "cockpit@localhost",
}

#: Inherited variables that would point git at another repo or index (e.g. when Cockpit is
#: started from a git hook); every command locates its repo from ``cwd`` instead.
_LOCATING_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_PREFIX",
)

#: What git prints when a write found no room (it does not always say: see
#: ``GitWorktrees._room_for``).
_NO_SPACE = ("No space left on device", "Out of diskspace", "Disk quota exceeded")


async def git(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> str:
    """Run ``git args`` in ``cwd`` and return its stdout; raise GitError when it fails."""
    code, out, err = await git_exit(*args, cwd=cwd, env=env)
    if check and code != 0 and any(words in err for words in _NO_SPACE):
        raise disk_full(cwd)
    if check and code != 0:
        lines = [ln.strip() for ln in err.splitlines() if ln.strip()]
        # git prints progress ("Preparing worktree …") before the line that matters.
        fatal = [ln for ln in lines if ln.startswith(("fatal:", "error:"))]
        reason = (fatal or lines or [f"exit code {code}"])[0]
        raise GitError(f"git {' '.join(args)} (in {cwd}) failed: {reason}")
    return out


async def git_exit(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None
) -> tuple[int, str, str]:
    """Run ``git args`` in ``cwd``: (exit code, stdout, stderr), for commands whose exit
    code is an answer (``merge-tree`` exits 1 on a conflict). GitError when git cannot
    be started at all."""
    full_env = {k: v for k, v in os.environ.items() if k not in _LOCATING_VARS}
    full_env["GIT_TERMINAL_PROMPT"] = "0"
    if env:
        full_env.update(env)
    # During a review decision git dies with this process (see lifeline).
    cmd, tie = spawn_options(("git", "-c", "core.quotepath=off", *args), full_env)
    try:
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            cwd=cwd,
            env=full_env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            **tie,
        )
    except OSError as exc:  # git missing, or cwd gone
        raise GitError(f"git {' '.join(args)} (in {cwd}): {exc}") from exc
    try:
        out, err = await proc.communicate()
    except asyncio.CancelledError:
        # A cancelled run must not leave a git process holding index.lock behind.
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise
    code = proc.returncode
    assert code is not None
    return code, out.decode(errors="surrogateescape"), err.decode(errors="replace")


def masked(message: str) -> str:
    """A commit or reflog message with keys and tokens masked: a task quoting a token
    must not put it in the repo's history, where it is pushed and kept for good."""
    return Redactor(os.environ.get(name) for name in KEY_VARIABLES).text(message)


async def commit_tree(cwd: Path, tree: str, parents: list[str], message: str) -> str:
    """Commit ``tree`` with these parents and return the commit's sha: no hooks, no
    signing (nobody can answer a pinentry prompt), and Cockpit's identity only when the
    repo has none. Every commit Cockpit makes goes through here, so its message is
    masked here (:func:`masked`)."""
    message = masked(message)
    email = await git("config", "user.email", cwd=cwd, check=False)
    env = None
    if not email.strip():
        env = {k: os.environ.get(k) or v for k, v in _IDENTITY.items()}
    args = ["commit-tree", "--no-gpg-sign", tree]
    for parent in parents:
        args += ["-p", parent]
    out = await git(*args, "-m", message, cwd=cwd, env=env)
    return out.strip()


def split_z(out: str) -> list[str]:
    """Split NUL-separated git output (``-z``), which is safe for any file name."""
    return [item for item in out.split("\0") if item]


def git_sync(args: list[str], cwd: Path) -> str | None:
    """Stdout of ``git ARGS`` run in ``cwd`` (stripped), or None when it fails. Blocking:
    for code that runs before any event loop. (It drops fewer inherited variables than
    :func:`git_exit`, as it always has.)"""
    # A GIT_DIR inherited from e.g. a hook would point every command at the wrong repo.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR")
    }
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip()
