"""Outside the cockpit: a shell or an editor in a run's worktree, the terminal handed
over to it (the app suspended) until it exits.

What to run, where, and the hand-over itself; the main screen says when (``!``, ``E``)
and puts the selection and the focus back afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
from pathlib import Path
from typing import Any

from textual.app import App, SuspendNotSupported
from textual.notifications import SeverityLevel

from cockpit.client import EngineClient
from cockpit.tui.model import RunView
from engine.domain.errors import BadInput, CockpitError

__all__ = [
    "Said",
    "changed_files",
    "editor_argv",
    "hand_over",
    "program",
    "shell_argv",
    "worktree_of",
]


#: A line for the human, and how it is said.
Said = tuple[str, SeverityLevel]


def worktree_of(view: RunView) -> Path | Said:
    """The run's worktree, when there is one to work in; else why not (a line, and how
    it is said)."""
    run = view.run
    worktree = run.worktree_path
    if run.decided:
        return f"run {run.id} is {run.outcome}: its worktree is removed", "information"
    if worktree is None:
        return f"run {run.id} has no worktree yet ({run.state.value})", "information"
    if not worktree.is_dir():
        return f"run {run.id}'s worktree is gone ({worktree})", "warning"
    return worktree


def shell_argv() -> list[str]:
    """The human's shell ($SHELL, else /bin/sh)."""
    return [os.environ.get("SHELL") or "/bin/sh"]


def editor_argv(files: list[str]) -> list[str]:
    """$EDITOR (else $VISUAL, else vi) on ``files``; BadInput when it cannot be read as
    a command line."""
    editor = os.environ.get("EDITOR") or os.environ.get("VISUAL") or "vi"
    try:
        words = shlex.split(editor) or ["vi"]
    except ValueError as exc:
        raise BadInput(f"the editor {editor!r} cannot be read: {exc}") from None
    return [*words, *files]


async def changed_files(client: EngineClient | None, view: RunView, worktree: Path) -> list[str]:
    """The files of the run's diff (read again: the pane's may be a moment old) that
    are there to edit (not deleted)."""
    diff = view.diff
    if client is not None and view.run.base_sha:
        with contextlib.suppress(CockpitError):
            diff = await client.worktree_diff(worktree, view.run.base_sha)
    return [f.path for f in diff.files if (worktree / f.path).is_file()] if diff else []


async def program(
    what: str, client: EngineClient | None, view: RunView, worktree: Path
) -> list[str] | Said:
    """The command line of the ``shell`` or the ``editor`` (on the run's changed files);
    else why there is none to run."""
    if what == "shell":
        return shell_argv()
    files = await changed_files(client, view, worktree)
    if not files:
        return f"run {view.run.id} changed no files yet (! opens a shell there)", "information"
    try:
        return editor_argv(files)
    except BadInput as exc:
        return str(exc), "error"


async def visit(
    app: App[Any], client: EngineClient | None, view: RunView, worktree: Path, what: str
) -> int | None:
    """The ``shell`` or the ``editor`` in the run's worktree, the terminal handed over to
    it: its exit status once it ran (else None, and one line says why not)."""
    argv = await program(what, client, view, worktree)
    if isinstance(argv, tuple):
        note, severity = argv
        app.notify(note, severity=severity)
        return None
    try:
        code = await hand_over(app, argv, worktree)
    except SuspendNotSupported:
        app.notify(f"this terminal cannot be handed over to a {what}", severity="error")
        return None
    if isinstance(code, OSError):
        app.notify(f"{what} {argv[0]!r} could not start: {code}", severity="error")
        return None
    return code


async def hand_over(app: App[Any], argv: list[str], cwd: Path) -> int | OSError:
    """Run ``argv`` in ``cwd`` with the terminal handed over (the app suspended): its
    exit status, or why it could not start. ``SuspendNotSupported`` when the terminal
    cannot be handed over. The engine (on this loop) keeps running its runs meanwhile."""
    code: int | OSError = 0
    # Nothing is drawn while the terminal is the program's (see App._display).
    with app.batch_update(), app.suspend():
        # Nothing may escape this block: App.suspend would not resume the app.
        try:
            code = await _run_in_terminal(argv, cwd)
        except OSError as exc:
            code = exc
    return code


async def _run_in_terminal(argv: list[str], cwd: Path) -> int:
    """Run a program on the terminal until it exits; its exit status.

    Ctrl+C (and Ctrl+\\) typed to it reach the whole foreground process group, the
    cockpit too: while it runs they are caught and dropped here. A handler, not SIG_IGN,
    so the program starts with the default ones (an ignored signal would be inherited).
    """
    saved: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGQUIT):
        previous = signal.getsignal(sig)
        if previous is not None:
            with contextlib.suppress(ValueError):  # not the main thread: left as is
                signal.signal(sig, _dropped)
                saved[sig] = previous
    try:
        process = await asyncio.create_subprocess_exec(*argv, cwd=cwd)
        return await process.wait()
    finally:
        for sig, previous in saved.items():
            signal.signal(sig, previous)


def _dropped(_signum: int, _frame: object) -> None:
    """A signal meant for the program the terminal was handed to."""
