"""The engine session: the cockpit's link to the engine, and the model kept from it.

:class:`EngineSession` links to the engine through a
:class:`~cockpit.tui.connector.Connector` (the workspace's detached engine, or one hosted
in this process), reads the snapshot (every stored run and its facts, the repos; the
runs' recent events right after the first frame), follows every run's events from one
subscription and folds them into the :class:`~cockpit.tui.model.CockpitModel`, and
keeps the repos, the runs' diffs and older transcript pages coming
(:mod:`cockpit.tui.reads`).

A detached engine may go away while the cockpit is open (stopped, killed): the session
then says so once (:class:`EngineSession.Lost`), keeps the model as it was, refuses
commands with that one line, and links again by itself as soon as an engine answers
(or starts one when the human asks): the runs are read again and the subscription
resumes after the last event folded in, so nothing is missed and nothing is shown twice.

It never touches a widget: what changed is said with the messages below, posted to its
listener (the main screen), which draws it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.message import Message
from textual.message_pump import MessagePump

from cockpit.client.api import EngineClient
from cockpit.tui.connector import Connector, Link
from cockpit.tui.model import CockpitModel
from cockpit.tui.opening import FIRST_SNAPSHOT, PAGE
from cockpit.tui.reads import OlderLoaded, Reads, ReposChanged, RunsChanged
from engine.domain.errors import CockpitError, EngineUnavailable
from engine.domain.events import Event

if TYPE_CHECKING:
    from cockpit.client.local import Workspace

__all__ = ["PAGE", "RECONNECT_POLL", "REPO_POLL", "EngineSession"]

#: How often the repos are re-read.
REPO_POLL = 3.0
#: How often, while the detached engine is gone, the session looks for one again.
RECONNECT_POLL = 1.0
#: Runs whose recent events are asked for at once after the first frame: the engine
#: reads some while others are folded in; all at once would hold every page in memory
#: together.
TAILS_AT_ONCE = 5
#: Events after which a run's stored fields (worktree, base sha, error) and its diff may
#: have changed: the run is read again.
_REFETCH_ON = ("turn_finished", "work_committed", "file_changed", "run_state_changed")


class EngineSession(Reads):
    """The link to the engine, and the model kept up to date from it.

    ``start`` (as the app loads) links in a worker; ``ready`` is set once the first
    snapshot is in the model and the listener was told; ``closed`` once the session has
    ended (the app leaving; a hosted engine that stopped or could not start). ``lost``
    is the line said while no engine answers. The session's workers and timers are the
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

    #: What the reads say (defined with them, named after the session).
    RunsChanged = RunsChanged
    ReposChanged = ReposChanged
    OlderLoaded = OlderLoaded

    class Lost(Message):
        """No engine answers (it stopped, died, or could not start): ``line`` says so."""

        def __init__(self, line: str) -> None:
            super().__init__()
            self.line = line

    class Back(Message):
        """An engine answers again; what it did meanwhile is in the model."""

    def __init__(
        self,
        app: App[Any],
        workspace: Workspace,
        connector: Connector,
        model: CockpitModel,
        start_key: str = "ctrl+r",
        first_shown: str | None = None,
    ) -> None:
        super().__init__(app, workspace, model)
        #: The run the first frame shows (selected as the cockpit opens): its events
        #: are read with the snapshot, every other run's right after the first frame.
        self._first_shown = first_shown
        #: The stored runs and the repos are in the model (or no engine could be reached).
        self.snapshot_read = asyncio.Event()
        #: The listener drew its first frame showing the snapshot (it sets this).
        self.snapshot_drawn = asyncio.Event()
        #: The session ended: the app is leaving, or a hosted engine stopped.
        self.closed = asyncio.Event()
        #: While no engine answers: the one line that says so (None while linked).
        self.lost: str | None = None
        self._connector = connector
        #: The key that starts an engine again, as the lines name it.
        self._start_key = start_key
        self._link: Link | None = None
        self._started = False
        self._leaving = False
        #: Runs were read from an engine at least once (the model holds its snapshot).
        self._had_snapshot = False
        #: Runs whose events are still to read (after the first frame), in the order
        #: the list shows them.
        self._late: list[str] = []
        #: The human asked for an engine (the start key): the next try starts one.
        self._wanted = asyncio.Event()
        #: Set while no engine answers (commands waiting for the first link stop waiting).
        self._gone = asyncio.Event()
        self._attached = asyncio.Event()
        self._last_event_id = 0

    @property
    def detached(self) -> bool:
        """Whether the engine is a process of its own (it goes on when the cockpit quits)."""
        return self._connector.detached

    # --- lifecycle ----------------------------------------------------------------
    def start(self) -> None:
        """Link to the engine in a worker of the app (the repos come with the snapshot,
        as the engine has them configured)."""
        self.app.run_worker(self._main(), group="engine", name="engine", exit_on_error=False)
        self._started = True

    def attach(self, listener: MessagePump) -> None:
        super().attach(listener)
        self._attached.set()

    async def wait_closed(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) for a started session to end (a hosted
        engine closes its store on the way)."""
        if self._started:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.closed.wait(), timeout)

    def executing(self) -> list[str]:
        """The runs this process executes now (a hosted engine's; a client runs none)."""
        link = self._link
        return link.executing() if link is not None else []

    async def current_client(self) -> EngineClient:
        """The engine's client, once the first snapshot is shown; while no engine
        answers, :class:`EngineUnavailable` with the line that says so."""
        if not self.ready.is_set() and not self._gone.is_set():
            waits = [asyncio.ensure_future(e.wait()) for e in (self.ready, self._gone)]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()
        if self.client is None:
            raise EngineUnavailable(self.lost or "the engine is not reachable")
        return self.client

    def start_engine(self) -> bool:
        """Start an engine now (the start key), when none answers; False: one does (or
        the engine is this process's own)."""
        if not self.detached or self.client is not None:
            return False
        self._wanted.set()
        return True

    async def stop(self, timeout: float = 15.0) -> None:
        """Stop the engine (runs in flight become interrupted) and wait (at most
        ``timeout`` seconds) until it has; the session ends with it."""
        self._leaving = True
        link = self._link
        if link is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(link.stop_engine(), timeout)
        for worker in self.app.workers:
            if worker.group == "engine":
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(worker.wait(), timeout)

    async def _main(self) -> None:
        start = True  # the first link starts an engine when none runs
        try:
            while True:
                line = await self._linked_once(start)
                if self._leaving or not self.detached:
                    return
                self._lose(line)
                start = await self._next_try()
        finally:
            # Also when no engine was ever reached: neither the screen nor a command
            # waits for one.
            self.snapshot_read.set()
            self._gone.set()
            self.closed.set()

    async def _linked_once(self, start: bool) -> str | None:
        """Link (``start``: starting an engine when none runs) and follow the engine
        until it goes; then the line that says so (None: still none to link to)."""
        linked = False
        try:
            async with self._connector.link(start=start) as link:
                linked = True
                await self._follow(link)
        except CockpitError as exc:
            if not self.detached:
                # The cockpit stays open (the store can be moved aside, then the cockpit
                # reopened); what went wrong is said, not left to an empty screen.
                self.app.notify(f"the engine could not start: {exc}", severity="error", timeout=60)
                return None
            if not linked:
                if not start:
                    return None  # looked for one: none runs yet
                return f"the engine could not start: {exc} — {self._start_key} tries again"
        return (
            "the engine stopped — runs in flight are interrupted; "
            f"{self._start_key} starts it again"
        )

    # --- the engine going and coming back ---------------------------------------------
    def _lose(self, line: str | None) -> None:
        """No engine answers: ``line`` says so (None: nothing new to say)."""
        self.snapshot_read.set()  # the screen shows what it has, not placeholders
        self._gone.set()
        if not self.model.repos:
            self._list_configured_repos()
        if line is None:
            return
        self.lost = line
        self._post(self.Lost(line))

    def _list_configured_repos(self) -> None:
        """No engine has said which repos there are: list those of ``cockpit.toml`` as
        this cockpit reads it (unread; nothing if it does not load)."""
        try:
            paths = self.workspace.repo_paths()
        except CockpitError:
            return
        self.model.list_repos(paths)
        self._post(self.ReposChanged())

    async def _next_try(self) -> bool:
        """Wait until it is time to look for an engine again; True: start one (asked)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wanted.wait(), RECONNECT_POLL)
        wanted = self._wanted.is_set()
        self._wanted.clear()
        return wanted

    async def _follow(self, link: Link) -> None:
        """Read what the engine has (all of it the first time; what was missed after),
        then fold its events in until it goes."""
        client = link.client
        self.client, self._link = client, link
        batches: asyncio.Queue[tuple[int, list[Event]]] = asyncio.Queue()
        try:
            if self._had_snapshot:
                await self._catch_up(client)
            else:
                await self._read_snapshot(client)
                self.lost = None
                self._gone.clear()
                await self._opened(client)
            self.app.run_worker(self._subscribe(client, batches), group="follow", name="follow")
            self.app.run_worker(self._ingest_loop(batches), group="ingest", name="ingest")
            await link.held()
        finally:
            # Nothing may touch the engine once the link closes.
            self._link = None
            self.client = None
            for group in ("follow", "ingest", "diff", "older", "repos", "late"):
                self.app.workers.cancel_group(self.app, group)

    async def _opened(self, client: EngineClient) -> None:
        """The first snapshot is in the model: tell the listener, start the repo poll."""
        self._had_snapshot = True
        self.snapshot_read.set()
        await self._attached.wait()
        self._post(self.Opened())
        self.ready.set()
        # What can wait does until the snapshot is on screen: the diffs' git processes,
        # the other runs' events and the live ones would slow that frame down.
        await self.snapshot_drawn.wait()
        for view in self.model.runs.values():
            self.fetch_diff(view.run.id)
        self._start_late(client)
        self.app.set_interval(REPO_POLL, self.refresh_repos)
        status = await client.sandbox_status()
        if not status.enforced:
            self._post(self.Unconfined(status.detail))

    async def _read_snapshot(self, client: EngineClient) -> None:
        """Read every run and its facts, the recent events of the run shown first, and
        the repos into the model (no widgets: this may run before they exist); live
        events are followed from here on, the other runs' events read after the first
        frame."""

        async def read_runs() -> None:
            snapshot = await client.snapshot(**FIRST_SNAPSHOT)
            # What is stored after it is followed (a view drops what a page holds).
            self._last_event_id = snapshot.last_event_id
            for run in snapshot.runs:
                self.model.upsert(run, snapshot.facts.get(run.id))
            shown = self._first_shown
            if shown in self.model.runs:
                # Read after the snapshot: what it holds and what is followed meet.
                self.model.runs[shown].load(await client.events_tail(shown, PAGE))
            # The list's runs first, in its order; those it hides (decided long ago) last.
            listed = [view.run.id for view in self.model.shown_runs()]
            in_list = set(listed)
            hidden = [i for i in self.model.runs if i not in in_list]
            self._late = [i for i in [*listed, *hidden] if i != shown]

        async def read_gates() -> None:
            names = list(self.model.repos)
            gates = await asyncio.gather(*(client.gate_names(name) for name in names))
            self.model.gated_repos.update(name for name, g in zip(names, gates, strict=True) if g)

        async def read_repos() -> None:
            await self._list_repos(client)
            # The gates of the repos the engine listed, asked beside their statuses.
            await asyncio.gather(self._read_statuses(client), read_gates())

        # The repos' git processes run while the store is read.
        await asyncio.gather(read_runs(), read_repos())

    def _start_late(self, client: EngineClient) -> None:
        """Read the events of the runs not read yet, if any are left."""
        if self._late:
            self.app.run_worker(self._read_late(client), group="late", name="late")

    async def _read_late(self, client: EngineClient) -> None:
        """The recent events of the runs not read with the snapshot, a few at a time,
        after the first frame. Each is crossed off once read: what the engine's going
        away cut short is read after it comes back."""
        while self._late:
            some = self._late[:TAILS_AT_ONCE]
            try:
                tails = await asyncio.gather(*(client.events_tail(i, PAGE) for i in some))
            except EngineUnavailable:
                return  # read once the engine is back (see _catch_up)
            changed: set[str] = set()
            for run_id, tail in zip(some, tails, strict=True):
                view = self.model.runs.get(run_id)
                if view is None or not tail:
                    continue
                if not view.last_seq:
                    view.load(tail)
                    changed.add(run_id)
                    continue
                # It moved meanwhile (resumed): its live events are in; the page's
                # older part goes in front of them.
                added = view.prepend([e for e in tail if e.seq < view.first_seq])
                if added:
                    self._post(self.OlderLoaded(view, added))
            del self._late[: len(some)]
            if changed:
                self._post(self.RunsChanged(changed))

    async def _catch_up(self, client: EngineClient) -> None:
        """After the engine was gone: every run's stored row again, and the runs started
        meanwhile with their recent events; then the listener is told the engine is
        back. What happened to the known runs comes with the subscription, resumed after
        the last event folded in."""
        runs = await client.list_runs()
        new = [run for run in runs if run.id not in self.model.runs]
        facts = await client.run_facts([run.id for run in new]) if new else {}
        for run in runs:
            view = self.model.upsert(run, facts.get(run.id))
            if run.id in facts:  # started meanwhile
                view.load(await client.events_tail(run.id, PAGE))
        new_rows = bool(new)
        self.lost = None
        self._gone.clear()
        self._post(self.Back())
        self._post(self.RunsChanged(set(self.model.runs), new_rows))
        self.app.run_worker(self.refresh_repos(), group="repos")
        self._start_late(client)

    # --- events -------------------------------------------------------------------
    async def _subscribe(
        self, client: EngineClient, batches: asyncio.Queue[tuple[int, list[Event]]]
    ) -> None:
        """Every run's stored events, this engine's and other processes', page by page
        from the last one folded in."""
        with contextlib.suppress(EngineUnavailable):  # the link ends: _follow says so
            async for page in client.subscribe(self._last_event_id):
                batches.put_nowait((page.last_id, page.events))

    async def _ingest_loop(self, batches: asyncio.Queue[tuple[int, list[Event]]]) -> None:
        # One consumer folds batches in arrival order: views drop seqs they have passed,
        # so a batch overtaking an earlier one would lose events.
        with contextlib.suppress(EngineUnavailable):
            while True:
                last_id, events = await batches.get()
                await self._ingest(events)
                # Only now: a link that breaks mid-batch resumes before this batch.
                self._last_event_id = last_id

    async def _ingest(self, events: list[Event]) -> None:
        client = self.client
        if client is None:
            return
        unknown = sorted({e.run_id for e in events if e.run_id not in self.model.runs})
        new_rows = False
        facts = await client.run_facts(unknown) if unknown else {}
        for run_id in unknown:
            run = await client.get_run(run_id)
            if run is not None:
                view = self.model.upsert(run, facts.get(run_id))
                view.load(await client.events_tail(run_id, PAGE))
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
