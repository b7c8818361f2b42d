"""What the engine session reads besides the events: the repos' statuses (and their
working-tree diffs), each run's worktree diff, and older transcript pages.

:class:`Reads` is the part of :class:`~cockpit.tui.session.EngineSession` that asks the
engine for them, each in the background, and says what changed with the messages below
(``EngineSession.RunsChanged`` and the others: their handlers are named after the
session, whose messages they are).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.message import Message
from textual.message_pump import MessagePump

from cockpit.client.api import EngineClient
from cockpit.tui.model import CockpitModel, RunView
from cockpit.tui.opening import PAGE
from engine.domain.errors import CockpitError, EngineUnavailable

if TYPE_CHECKING:
    from cockpit.client.local import Workspace

__all__ = ["PAGE", "OlderLoaded", "Reads", "ReposChanged", "RunsChanged", "repo_problem"]


class RunsChanged(Message, namespace="engine_session"):
    """The views of ``run_ids`` changed; ``new_rows``: runs were added to the model."""

    def __init__(self, run_ids: set[str], new_rows: bool = False) -> None:
        super().__init__()
        self.run_ids = run_ids
        self.new_rows = new_rows


class ReposChanged(Message, namespace="engine_session"):
    """Every repo's status (and working-tree diff) was read again."""


class OlderLoaded(Message, namespace="engine_session"):
    """``added`` older transcript entries were put in front of ``view``'s."""

    def __init__(self, view: RunView, added: int) -> None:
        super().__init__()
        self.view = view
        self.added = added


def repo_problem(path: Path) -> str | None:
    """What keeps a configured repo's folder from being a git repo's top (None: it is).
    Blocking: it looks at the folder, and asks git when that does not settle it."""
    if (path / ".git").exists() or _is_git_top(path):
        # A work tree's top holds its .git (a folder, or a worktree's file): the usual
        # answer, without a git process or the engine's modules. What else may be wrong
        # with it, the engine's status says.
        return None
    # What is wrong, as the engine says it. Imported only then: cockpit.client.local
    # brings the engine's modules, which a cockpit that is a client never needs.
    from cockpit.client.local import repo_problem as problem_of

    return problem_of(path)


def _is_git_top(path: Path) -> bool:
    """Whether ``path`` is the top of a git work tree, asked as the engine asks it
    (``git rev-parse --show-toplevel`` there, without an inherited ``GIT_DIR``…)."""
    env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATIONS}
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=path,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return False  # no such folder, or no git: the engine's check says which
    top = done.stdout.strip()
    return done.returncode == 0 and bool(top) and Path(top).resolve() == path.resolve()


#: Variables that would point git at another repo than the folder's (a hook's GIT_DIR).
_GIT_LOCATIONS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR")


class Reads:
    """The engine's client (None while there is none) and what is read through it."""

    def __init__(self, app: App[Any], workspace: Workspace, model: CockpitModel) -> None:
        self.app = app
        self.workspace = workspace
        self.model = model
        #: The client (None until an engine is linked, and while none is).
        self.client: EngineClient | None = None
        #: The snapshot is in the model and the listener was told: commands may go.
        self.ready = asyncio.Event()
        self._listener: MessagePump | None = None
        #: What was said before there was a listener (no engine could be reached while
        #: the screen was built): told to it once attached.
        self._early: list[Message] = []

    def attach(self, listener: MessagePump) -> None:
        """Post this session's messages to ``listener`` (the main screen, once mounted:
        until then, what the engine read waits in the model)."""
        self._listener = listener
        for message in self._early:
            listener.post_message(message)
        self._early.clear()

    def _post(self, message: Message) -> None:
        if self._listener is not None:
            self._listener.post_message(message)
        else:
            self._early.append(message)

    # --- diffs --------------------------------------------------------------------------
    def fetch_diff(self, run_id: str) -> None:
        """Read the run's worktree diff again (in the background; many may run at once)."""
        self.app.run_worker(self._fetch_diff(run_id), group="diff", exclusive=False)

    async def _fetch_diff(self, run_id: str) -> None:
        view = self.model.runs.get(run_id)
        client = self.client
        if client is None or view is None or not view.run.worktree or not view.run.base_sha:
            return
        worktree = Path(view.run.worktree)
        if not worktree.is_dir():
            return
        with contextlib.suppress(CockpitError):
            view.diff = await client.worktree_diff(worktree, view.run.base_sha)
            self._post(RunsChanged({run_id}))

    # --- repos --------------------------------------------------------------------------
    async def _read_repos(self, client: EngineClient) -> None:
        """The configured repos, as the engine has them now (one added to
        ``cockpit.toml`` meanwhile is listed), and every repo's status (and working-tree
        diff when dirty) into the model."""
        await self._list_repos(client)
        await self._read_statuses(client)

    async def _list_repos(self, client: EngineClient) -> None:
        """The configured repos, as the engine has them now, into the model (unread)."""
        self.model.list_repos(await client.repos())

    async def _read_statuses(self, client: EngineClient) -> None:
        """Every listed repo's status (and working-tree diff when dirty) into the model."""
        model = self.model

        async def read(name: str) -> None:
            path = model.repo_paths[name]
            # First read: is the folder a repo's top at all? (git status also answers in
            # a subfolder.) Asked beside the status, in a thread.
            checking = (
                asyncio.ensure_future(asyncio.to_thread(repo_problem, path))
                if model.repos.get(name) is None
                else None
            )
            try:
                status = await client.repo_status(path)
            except EngineUnavailable:
                raise  # no engine to ask: the repo is as it was
            except CockpitError as exc:
                problem = await (checking or asyncio.to_thread(repo_problem, path))
                model.repo_problems[name] = problem or str(exc)
                return
            problem = await checking if checking is not None else None
            if problem:
                model.repo_problems[name] = problem
                return
            model.repo_problems.pop(name, None)
            model.repos[name] = status
            if status.head_sha and not status.clean:
                with contextlib.suppress(CockpitError):
                    model.repo_diffs[name] = await client.worktree_diff(path, status.head_sha)
            else:
                model.repo_diffs.pop(name, None)

        # Repos are independent git processes: read them side by side (each to its end,
        # even when the engine goes meanwhile).
        done = await asyncio.gather(*(read(n) for n in list(model.repos)), return_exceptions=True)
        for failed in done:
            if isinstance(failed, BaseException):
                raise failed

    async def refresh_repos(self) -> None:
        """Read every repo again (every REPO_POLL seconds once the snapshot is shown)."""
        client = self.client
        if client is None or not self.ready.is_set():
            return
        with contextlib.suppress(EngineUnavailable):
            await self._read_repos(client)
            self._post(ReposChanged())

    # --- older transcript pages -------------------------------------------------------------
    def load_older(self, view: RunView) -> None:
        """Put the run's previous page of events in front of its view (one at a time)."""
        self.app.run_worker(self._load_older(view), group="older", exclusive=True)

    async def _load_older(self, view: RunView) -> None:
        client = self.client
        if client is None or view.first_seq <= 1:
            return
        with contextlib.suppress(EngineUnavailable):  # no engine: o tries again later
            older = await client.events_tail(view.run.id, PAGE, before_seq=view.first_seq)
            added = view.prepend(older)
            if added:
                self._post(OlderLoaded(view, added))
