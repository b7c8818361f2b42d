"""The engine session: the engine the cockpit hosts, seen through its client.

:class:`EngineSession` opens the client (the engine runs on Textual's loop, in a
worker), reads the snapshot (every stored run with its recent events, the repos), follows
every run's events from one subscription and folds them into the
:class:`~cockpit.tui.model.CockpitModel`, and keeps the repos, the runs' diffs and older
transcript pages coming. It never touches a widget: what changed is said with the
messages below, posted to its listener (the main screen), which draws it.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from textual.app import App
from textual.message import Message
from textual.message_pump import MessagePump
from textual.timer import Timer

from cockpit.client import EngineClient, InProcessClient, open_client
from cockpit.client.local import EngineOptions, Workspace, repo_problem
from cockpit.tui.model import CockpitModel, RunView
from engine.domain.errors import CockpitError
from engine.domain.events import Event

__all__ = ["PAGE", "REPO_POLL", "EngineSession"]

#: How often the repos are re-read.
REPO_POLL = 3.0
#: Events read per run at start-up, and per "older" page; the store keeps them all.
PAGE = 300
#: Events after which a run's stored fields (worktree, base sha, error) and its diff may
#: have changed: the run is read again.
_REFETCH_ON = ("turn_finished", "work_committed", "file_changed", "run_state_changed")


class EngineSession:
    """The client of the engine the app hosts, and the model kept up to date from it.

    ``start`` (as the app loads) opens the engine in a worker; ``ready`` is set once the
    snapshot is in the model and the listener was told; ``closed`` once the engine has
    closed its store (or could not start). The session's workers and timers are the
    app's (a session is no widget); its messages go to the listener given to ``attach``.
    """

    class Opened(Message):
        """The engine is open and the snapshot (stored runs, repos) is in the model."""

    class Unconfined(Message):
        """Runs here are not confined by a sandbox: ``detail`` says why."""

        def __init__(self, detail: str) -> None:
            super().__init__()
            self.detail = detail

    class Noticed(Message):
        """Runs changed in a way the human is told about (finished, failed…)."""

        def __init__(self, notices: list[str]) -> None:
            super().__init__()
            self.notices = notices

    class RunsChanged(Message):
        """The views of ``run_ids`` changed; ``new_rows``: runs were added to the model."""

        def __init__(self, run_ids: set[str], new_rows: bool = False) -> None:
            super().__init__()
            self.run_ids = run_ids
            self.new_rows = new_rows

    class ReposChanged(Message):
        """Every repo's status (and working-tree diff) was read again."""

    class OlderLoaded(Message):
        """``added`` older transcript entries were put in front of ``view``'s."""

        def __init__(self, view: RunView, added: int) -> None:
            super().__init__()
            self.view = view
            self.added = added

    def __init__(
        self,
        app: App[Any],
        workspace: Workspace,
        options: EngineOptions,
        model: CockpitModel,
    ) -> None:
        self.app = app
        self.workspace = workspace
        self.model = model
        #: The client (None until the engine opened, and once it closed).
        self.client: InProcessClient | None = None
        #: The snapshot is in the model and the listener was told: commands may go.
        self.ready = asyncio.Event()
        #: The stored runs and the repos are in the model (or the engine gave up).
        self.snapshot_read = asyncio.Event()
        #: The engine closed its store (or never opened it).
        self.closed = asyncio.Event()
        self._options = options
        self._started = False
        self._listener: MessagePump | None = None
        self._attached = asyncio.Event()
        # One consumer folds batches in arrival order: views drop seqs they have passed, so
        # a batch overtaking an earlier one would lose events.
        self._batches: asyncio.Queue[list[Event]] = asyncio.Queue()
        self._last_event_id = 0
        self._poll: Timer | None = None

    # --- lifecycle ----------------------------------------------------------------
    def start(self) -> None:
        """Open the engine in a worker of the app (the repos are listed at once, unread)."""
        for name in self.workspace.config.repos:
            self.model.repos[name] = None
        self.app.run_worker(self._main(), group="engine", name="engine", exit_on_error=False)
        self._started = True

    def attach(self, listener: MessagePump) -> None:
        """Post this session's messages to ``listener`` (the main screen, once mounted:
        until then, what the engine read waits in the model)."""
        self._listener = listener
        self._attached.set()

    async def wait_closed(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) for a started engine to close its store."""
        if self._started:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.closed.wait(), timeout)

    def executing(self) -> list[str]:
        """The runs this process's engine executes now."""
        client = self.client
        return client.executing() if client is not None else []

    async def stop(self) -> None:
        """Stop the engine (runs in flight become interrupted) and wait until it has."""
        client = self.client
        if client is None:
            return
        client.stop()
        for worker in self.app.workers:
            if worker.group == "engine":
                await worker.wait()

    def _post(self, message: Message) -> None:
        if self._listener is not None:
            self._listener.post_message(message)

    async def _main(self) -> None:
        try:
            await self._serve()
        except CockpitError as exc:
            # The cockpit stays open (the store can be moved aside, then the cockpit
            # reopened); what went wrong is said, not left to an empty screen.
            self.app.notify(f"the engine could not start: {exc}", severity="error", timeout=60)
        finally:
            # Also when the engine could not start: the screen must not wait for it.
            self.snapshot_read.set()
            self.closed.set()

    async def _serve(self) -> None:
        async with open_client(self.workspace, self._options) as client:
            self.client = client
            await self._read_snapshot(client)
            self.snapshot_read.set()
            await self._attached.wait()
            self._post(self.Opened())
            self.ready.set()
            for view in self.model.runs.values():
                self.fetch_diff(view.run.id)
            status = await client.sandbox_status()
            if not status.enforced:
                self._post(self.Unconfined(status.detail))
            self.app.run_worker(self._follow_events(client), group="follow", name="follow")
            self.app.run_worker(self._ingest_loop(), group="ingest", name="ingest")
            self._poll = self.app.set_interval(REPO_POLL, self.refresh_repos)
            try:
                await client.serve()
            finally:
                # Nothing may touch the store once the context below closes it.
                self.client = None
                self._poll.stop()
                for group in ("follow", "ingest", "diff", "older"):
                    self.app.workers.cancel_group(self.app, group)

    async def _read_snapshot(self, client: EngineClient) -> None:
        """Read every run, its recent events and the repos into the model (no widgets:
        this may run before they exist); live events are followed from here on."""

        async def read_runs() -> None:
            # The id first: what is stored meanwhile is followed too (a view drops the
            # events its recent ones already hold).
            self._last_event_id = await client.last_event_id()
            for run in await client.list_runs():
                self.model.upsert(run).load(await client.events_tail(run.id, PAGE))

        async def read_gates() -> None:
            for name in self.workspace.config.repos:
                if await client.gate_names(name):
                    self.model.gated_repos.add(name)

        # The repos' git processes run while the store is read.
        await asyncio.gather(read_runs(), self._read_repos(client), read_gates())

    # --- events -------------------------------------------------------------------
    async def _follow_events(self, client: EngineClient) -> None:
        """Every run's stored events, this engine's and other processes' (a CLI `--wait`,
        a background engine), page by page from where the snapshot left off."""
        async for page in client.subscribe(self._last_event_id):
            self._last_event_id = page.last_id
            self._batches.put_nowait(page.events)

    async def _ingest_loop(self) -> None:
        while True:
            await self._ingest(await self._batches.get())

    async def _ingest(self, events: list[Event]) -> None:
        client = self.client
        if client is None:
            return
        unknown = {e.run_id for e in events if e.run_id not in self.model.runs}
        new_rows = False
        for run_id in unknown:
            run = await client.get_run(run_id)
            if run is not None:
                self.model.upsert(run).load(await client.events_tail(run_id, PAGE))
                new_rows = True
        changed, notices = self.model.apply(events)
        if notices:
            self._post(self.Noticed(notices))
        for run_id in {e.run_id for e in events if e.type in _REFETCH_ON}:
            await self._refresh_run(run_id)
        # Also when nothing changed: the listener's redraw is what shows the list's
        # new rows and the header's counts.
        self._post(self.RunsChanged(changed, new_rows))

    async def _refresh_run(self, run_id: str) -> None:
        """Stored fields (worktree, base sha, error) change with states: re-read the run."""
        client = self.client
        if client is None:
            return
        run = await client.get_run(run_id)
        if run is not None and run_id in self.model.runs:
            # Events are stored before they are delivered, so the row is never older.
            self.model.runs[run_id].run = run
            self.fetch_diff(run_id)

    # --- diffs, repos, older pages ----------------------------------------------------
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
            self._post(self.RunsChanged({run_id}))

    async def _read_repos(self, client: EngineClient) -> None:
        """Every repo's status (and working-tree diff when dirty) into the model."""
        model = self.model

        async def read(name: str) -> None:
            path = self.workspace.repo_path(name)
            try:
                if model.repos.get(name) is None:  # first read: is it a repo at all?
                    problem = await asyncio.to_thread(repo_problem, path)
                    if problem:
                        raise CockpitError(problem)
                status = await client.repo_status(path)
            except CockpitError as exc:
                problem = await asyncio.to_thread(repo_problem, path)
                model.repo_problems[name] = problem or str(exc)
                return
            model.repo_problems.pop(name, None)
            model.repos[name] = status
            if status.head_sha and not status.clean:
                with contextlib.suppress(CockpitError):
                    model.repo_diffs[name] = await client.worktree_diff(path, status.head_sha)
            else:
                model.repo_diffs.pop(name, None)

        # Repos are independent git processes: read them side by side.
        await asyncio.gather(*(read(name) for name in list(model.repos)))

    async def refresh_repos(self) -> None:
        """Read every repo again (every REPO_POLL seconds once the snapshot is shown)."""
        client = self.client
        if client is None or not self.ready.is_set():
            return
        await self._read_repos(client)
        self._post(self.ReposChanged())

    def load_older(self, view: RunView) -> None:
        """Put the run's previous page of events in front of its view (one at a time)."""
        self.app.run_worker(self._load_older(view), group="older", exclusive=True)

    async def _load_older(self, view: RunView) -> None:
        client = self.client
        if client is None or view.first_seq <= 1:
            return
        older = await client.events_tail(view.run.id, PAGE, before_seq=view.first_seq)
        added = view.prepend(older)
        if added:
            self._post(self.OlderLoaded(view, added))
