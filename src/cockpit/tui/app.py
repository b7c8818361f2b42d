"""The cockpit: a Textual app, a client of the engine of one workspace.

The app hosts the engine on Textual's loop (a worker) and reaches it only through an
:class:`~cockpit.client.EngineClient`. One stream of the client brings every run's
stored events (this engine's and other processes'), page by page, in order, once; the
app folds them into a :class:`CockpitModel` and renders at most once per refresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import os
import shlex
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from textual import events, work
from textual.app import App, ComposeResult, SuspendNotSupported, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Footer, Header

from cockpit.client import EngineClient, InProcessClient, open_client
from cockpit.client.local import EngineOptions, Workspace, repo_problem
from cockpit.tui.bridge import EngineEvents
from cockpit.tui.commands import COMMANDS, SlashCommand, parse
from cockpit.tui.memory import Collector
from cockpit.tui.model import CockpitModel, RunView
from cockpit.tui.screens.confirm import ConfirmScreen
from cockpit.tui.screens.inbox import InboxScreen, waiting
from cockpit.tui.screens.palette import as_binding, keys_shown
from cockpit.tui.settings import UiSettings, load_settings, save_settings, settings_path
from cockpit.tui.themes import DEFAULT_THEME, register_themes
from cockpit.tui.widgets.diff_panel import DiffPanel
from cockpit.tui.widgets.prompt_bar import PromptBar
from cockpit.tui.widgets.repo_pane import RepoPane
from cockpit.tui.widgets.run_list import RunList
from cockpit.tui.widgets.run_pane import RunPane, Transcript
from engine.domain.errors import BadInput, CockpitError, GatesRed
from engine.domain.events import Event
from engine.domain.gates import GateResult, GateStatus
from engine.domain.models import utcnow
from engine.domain.state import RunState

# Screens other than the inbox and the confirmations are imported when first opened:
# start-up (the first frame) does not wait for modules it does not show.
if TYPE_CHECKING:
    from cockpit.tui.screens.findings import Place

F = TypeVar("F", bound=Callable[..., Any])

#: How often the repos are re-read.
REPO_POLL = 3.0
#: Events read per run at start-up, and per "older" page; the store keeps them all.
PAGE = 300
#: Shortest time between two redraws of streaming panes (10 a second).
RENDER_INTERVAL = 0.1
#: The same while keys are being pressed (one in the last TYPING seconds): 4 a second.
#: Under load a streaming redraw takes ~15 ms, and a key arriving during one waits for
#: it; the frames go to the keys first.
RENDER_INTERVAL_TYPING = 0.25
TYPING = 0.5
#: Longest the first frame waits for the stored runs and the repos' statuses.
SNAPSHOT_WAIT = 1.0
#: Seconds the app waits, on its way out, for the engine to close the store.
ENGINE_CLOSE_WAIT = 5.0


def _focus_now(widget: Widget) -> None:
    """Focus ``widget`` before the next key is read. ``Widget.focus`` only queues the
    change, behind keys already typed: "/review" typed fast would open the inbox (`i`)
    from the list instead of landing in the prompt bar."""
    widget.screen.set_focus(widget)


def _while_mounted(method: F) -> F:
    """For background callbacks (timers, workers): stop quietly once the app tears its
    screen down, instead of failing on a widget that is already gone."""
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def guarded_async(*args: Any, **kwargs: Any) -> Any:
            with contextlib.suppress(NoMatches):
                return await method(*args, **kwargs)
            return None

        return cast(F, guarded_async)

    @functools.wraps(method)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        with contextlib.suppress(NoMatches):
            return method(*args, **kwargs)
        return None

    return cast(F, guarded)


def render_interval(since_input: float) -> float:
    """Shortest time between two redraws of streaming panes, given the seconds since the
    last key or mouse event: RENDER_INTERVAL, or RENDER_INTERVAL_TYPING while typing."""
    return RENDER_INTERVAL_TYPING if since_input < TYPING else RENDER_INTERVAL


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


def verdict_note(repo: str, results: list[GateResult]) -> tuple[str, SeverityLevel]:
    """What ``v`` says of a repo's verdicts: passed only when every gate passed."""
    if not results:
        return f"{repo}: no gates configured ([[repos.{repo}.gates]] in cockpit.toml)", "warning"
    held = [r.name for r in results if r.holds_back]
    if held:
        return f"{repo}: gates red ({', '.join(held)})", "error"
    others = [f"{r.name} {r.status.value}" for r in results if r.status is not GateStatus.PASSED]
    if others:
        return f"{repo}: blocking gates passed; advisory: {', '.join(others)}", "warning"
    return f"{repo}: gates passed", "information"


class CockpitApp(App[None]):
    """Panes per repo and per run, a steering bar, an inbox."""

    TITLE = "Cockpit"
    CSS_PATH = "app.tcss"
    #: Screen classes by terminal width (app.tcss keys the layout on them): below 90
    #: columns the run list stacks above the pane, below 120 it narrows.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (90, "-medium"), (120, "-wide")]
    HELP_GROUP = "Global"
    #: The main screen's keys. The command palette offers each action (its title is the
    #: description, its help the tooltip and the key): a key cannot be missing there.
    BINDINGS = [
        Binding("question_mark", "help", "Help", id="cockpit.help", tooltip="every key, by screen"),
        Binding("i", "inbox", "Inbox", id="cockpit.inbox", tooltip="everything waiting on you"),
        # Priority: the bar takes the focus before the next key is read, so "/review x"
        # typed fast lands in it instead of acting on the list (`i` would open the inbox).
        Binding(
            "slash",
            "prompt('/')",
            "Command",
            id="cockpit.command",
            tooltip="a / command (/help)",
            priority=True,
        ),
        Binding(
            "s",
            "prompt('')",
            "Steer",
            id="cockpit.steer",
            tooltip="message the selected run",
            priority=True,
        ),
        Binding("z", "zoom", "Zoom", id="cockpit.zoom", tooltip="the pane full screen, or back"),
        Binding(
            "right_square_bracket",
            "cycle(1)",
            "Next run",
            id="cockpit.next_run",
            tooltip="select the next run",
        ),
        Binding(
            "left_square_bracket",
            "cycle(-1)",
            "Prev run",
            show=False,
            id="cockpit.prev_run",
            tooltip="select the previous run",
        ),
        Binding(
            "c", "cancel_run", "Cancel run", id="cockpit.cancel", tooltip="stop the selected run"
        ),
        Binding(
            "r",
            "resume_run",
            "Resume",
            show=False,
            id="cockpit.resume",
            tooltip="continue the selected interrupted or failed run",
        ),
        Binding(
            "v",
            "run_gates",
            "Verify",
            show=False,
            id="cockpit.gates",
            tooltip="run the selected repo's gates on its working tree",
        ),
        Binding(
            "f",
            "findings",
            "Findings",
            show=False,
            id="cockpit.findings",
            tooltip="the selected run's gate findings by file",
        ),
        Binding(
            "l",
            "guard",
            "Guard ledger",
            show=False,
            id="cockpit.guard",
            tooltip="what the guard allowed and refused in the selected run",
        ),
        Binding(
            "a",
            "all_runs",
            "Older runs",
            show=False,
            id="cockpit.all_runs",
            tooltip="show or hide the runs decided over a day ago",
        ),
        # The pane's keys, here so they work from the list too (on the selected run's pane).
        Binding(
            "e",
            "pane('expand')",
            "Expand tools",
            show=False,
            id="run.expand",
            tooltip="expand or collapse the transcript's tool output",
        ),
        Binding(
            "o",
            "pane('older')",
            "Older lines",
            show=False,
            id="run.older",
            tooltip="load the transcript's older lines",
        ),
        Binding(
            "d",
            "hunks",
            "Diff hunks",
            show=False,
            id="run.hunks",
            tooltip="show or hide the selected run's diff hunks",
        ),
        Binding(
            "exclamation_mark",
            "shell",
            "Shell in worktree",
            show=False,
            id="cockpit.shell",
            tooltip="a shell in the selected run's worktree (exit to come back)",
        ),
        Binding(
            "E",
            "editor",
            "Edit changed files",
            show=False,
            id="cockpit.editor",
            tooltip="$EDITOR on the selected run's changed files",
        ),
        Binding("q", "quit_cockpit", "Quit", id="cockpit.quit", tooltip="leave the cockpit"),
        Binding(
            "ctrl+c", "quit_cockpit", "Quit", show=False, priority=True, id="cockpit.quit_ctrl_c"
        ),
    ]

    def __init__(
        self,
        workspace: Workspace,
        engine_options: EngineOptions | None = None,
        select: str | None = None,
        welcome: str | None = None,
        review: bool = False,
    ) -> None:
        super().__init__()
        self.workspace = workspace
        #: The client of the engine the app hosts (None until it opened, and once closed).
        self.client: InProcessClient | None = None
        self.model = CockpitModel()
        self.settings: UiSettings = load_settings()
        self._engine_options = engine_options or EngineOptions()
        self._engine_ready = asyncio.Event()
        #: The stored runs and the repos are in the model (or the engine gave up).
        self._snapshot_read = asyncio.Event()
        self._snapshot_shown = False
        self._engine_closed = asyncio.Event()
        self._engine_started = False
        #: Set once the engine said runs are not confined by a sandbox here.
        self._unconfined = False
        #: Repos whose gates (configured, or their pyproject's defaults) are not empty.
        self.gated_repos: set[str] = set()
        #: Repos whose path is no git repo: what is wrong, as said to the human.
        self.repo_problems: dict[str, str] = {}
        self._dirty: set[str] = set()
        # One consumer folds batches in arrival order: views drop seqs they have passed, so
        # a batch overtaking an earlier one would lose events.
        self._batches: asyncio.Queue[list[Event]] = asyncio.Queue()
        self._render_scheduled = False
        self._last_render = 0.0
        self._last_event_id = 0
        self._repo_diffs: dict = {}
        self._initial_select = select
        #: Open the review screen on ``select`` once loaded (``cockpit review RUN``).
        self._initial_review = review
        self._welcome = welcome
        self._bell = workspace.config.ui.bell
        #: Runs full garbage collections while no key is pressed (see cockpit.tui.memory).
        self.collector = Collector()
        #: Where the focus was when the prompt bar took it: it goes back there after
        #: enter or escape.
        self._before_prompt: Widget | None = None
        #: A finished (or failed) run the text kept in the prompt bar would continue: enter
        #: again sends it back to its agent with that text.
        self._continue_offer: str | None = None
        #: A shell or an editor has the terminal (the app is suspended): no bell.
        self._outside = False
        self.title = f"Cockpit — {workspace.root.name}"
        # Themes are chosen before the first frame: switching later restyles every widget.
        self._theme_errors = register_themes(self, workspace.root)
        # The last /theme choice wins; else the workspace's [ui] theme; else the default.
        wanted = self.settings.theme if settings_path().exists() else workspace.config.ui.theme
        self.theme = wanted if wanted in self.available_themes else DEFAULT_THEME

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The main screen's keys (the actions of BINDINGS) do nothing, and are not shown,
        while a screen is pushed over it (the review, the inbox, help…): there ``q`` and
        ``escape`` close that screen. ``?`` (the keys of where you are) and the priority
        keys (ctrl+c, ctrl+q, the palette) work everywhere."""
        if action == "prompt":  # `/` and `s` are typed, not acted on, in the bar itself
            return len(self.screen_stack) <= 1 and not isinstance(self.focused, PromptBar)
        if len(self.screen_stack) <= 1 or action == "help":
            return True
        bound = [b for b in self.BINDINGS if isinstance(b, Binding)]
        everywhere = {b.action.partition("(")[0] for b in bound if b.priority} - {"prompt"}
        return action in everywhere or all(b.action.partition("(")[0] != action for b in bound)

    # --- layout -------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        with Horizontal(id="main"):
            yield RunList(id="runs")
            with ContentSwitcher(id="detail", initial="run-pane"):
                yield RunPane(id="run-pane")
                yield RepoPane(id="repo-pane")
        yield PromptBar(self._candidates, self._prompt_sent, id="prompt")
        yield Footer()

    async def on_load(self) -> None:
        # The engine opens before the screen is composed: the stored runs and the repos'
        # statuses are then usually in the model when the widgets are built, and the
        # first frame shows them, instead of a frame of placeholders followed by a
        # relayout per arrival (each costing as much as the first). A store or a git
        # that is slow to answer only delays the first frame by SNAPSHOT_WAIT: what comes
        # later is shown when it comes.
        for name in self.workspace.config.repos:
            self.model.repos[name] = None
        self.run_worker(self._engine_main(), group="engine", name="engine", exit_on_error=False)
        self._engine_started = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._snapshot_read.wait(), SNAPSHOT_WAIT)

    def on_mount(self) -> None:
        for error in self._theme_errors:
            self.notify(error, severity="warning", timeout=8)
        if self.workspace.config.keys:
            self.set_keymap(dict(self.workspace.config.keys))
        run_list = self.query_one(RunList)
        run_list.focus()
        self.watch(run_list, "highlighted", self._highlight_moved, init=False)
        self.watch(self.screen, "focused", self._focus_moved, init=False)
        if self._snapshot_read.is_set():
            self._show_snapshot()
        self._update_counts()
        if self._welcome:
            self.notify(self._welcome_text(), title="Cockpit", timeout=20)
        self.set_interval(1.0, self._tick)
        self.set_interval(REPO_POLL, self._refresh_repos)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(
            event, (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp)
        ):
            self.collector.input_seen()
        await super().on_event(event)

    async def on_unmount(self) -> None:
        self.collector.release()
        # However the app ends (quit, a test leaving run_test, an error), the engine
        # worker was cancelled: wait for it to close the store, whose connection threads
        # would otherwise keep the process alive after the app is gone.
        if self._engine_started:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._engine_closed.wait(), ENGINE_CLOSE_WAIT)

    # --- engine -------------------------------------------------------------------
    async def _engine_main(self) -> None:
        try:
            await self._engine_session()
        except CockpitError as exc:
            # The cockpit stays open (the store can be moved aside, then the cockpit
            # reopened); what went wrong is said, not left to an empty screen.
            self.notify(f"the engine could not start: {exc}", severity="error", timeout=60)
        finally:
            # Also when the engine could not start: the screen must not wait for it.
            self._snapshot_read.set()
            self._engine_closed.set()

    async def _engine_session(self) -> None:
        async with open_client(self.workspace, self._engine_options) as client:
            self.client = client
            await self._read_snapshot(client)
            self._snapshot_read.set()
            await self._mounted_event.wait()
            self._show_snapshot()
            self._engine_ready.set()
            for view in self.model.runs.values():
                self._fetch_diff(view.run.id)
            self.set_timer(1.0, self.collector.settle)
            status = await client.sandbox_status()
            self._say_sandbox(status.enforced, status.detail)
            self.run_worker(self._follow_events(client), group="follow", name="follow")
            self.run_worker(self._ingest_loop(), group="ingest", name="ingest")
            try:
                await client.serve()
            finally:
                # Nothing may touch the store once the context below closes it.
                self.client = None
                for group in ("follow", "ingest", "diff", "older"):
                    self.workers.cancel_group(self, group)

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
                    self.gated_repos.add(name)

        # The repos' git processes run while the store is read.
        await asyncio.gather(read_runs(), self._read_repos(client), read_gates())

    @_while_mounted
    def _show_snapshot(self) -> None:
        """Fill the widgets from the snapshot read (once, whichever comes last of the
        mount and the read)."""
        if self._snapshot_shown:
            return
        self._snapshot_shown = True
        run_list = self.query_one(RunList)
        run_list.rebuild(self.model)
        if self._initial_select:
            run_list.select_id(f"run:{self._initial_select}")
            if self._initial_review:
                self.open_review(self._initial_select)
        self._show_selected()
        self._update_counts()

    async def _follow_events(self, client: EngineClient) -> None:
        """Every run's stored events, this engine's and other processes' (a CLI `--wait`,
        a background engine), page by page from where the snapshot left off: one message
        each, folded in order."""
        async for page in client.subscribe(self._last_event_id):
            self._last_event_id = page.last_id
            self.post_message(EngineEvents(page.events))

    def on_engine_events(self, message: EngineEvents) -> None:
        self._batches.put_nowait(message.events)

    @_while_mounted
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
        for notice in notices:
            self.notify(notice, severity="error" if "failed" in notice else "information")
            if self._bell and not self._outside:
                self.bell()
        refetch = {
            e.run_id
            for e in events
            if e.type in ("turn_finished", "work_committed", "file_changed", "run_state_changed")
        }
        for run_id in refetch:
            await self._refresh_run(run_id)
        if new_rows:
            self.query_one(RunList).rebuild(self.model)
        self._dirty |= changed
        self._schedule_render()

    async def _refresh_run(self, run_id: str) -> None:
        """Stored fields (worktree, base sha, error) change with states: re-read the run."""
        client = self.client
        if client is None:
            return
        run = await client.get_run(run_id)
        if run is not None and run_id in self.model.runs:
            # Events are stored before they are delivered, so the row is never older.
            self.model.runs[run_id].run = run
            self._fetch_diff(run_id)

    @work(group="diff", exclusive=False)
    @_while_mounted
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
            self._dirty.add(run_id)
            self._schedule_render()

    async def _read_repos(self, client: EngineClient) -> None:
        """Every repo's status (and working-tree diff when dirty) into the model."""

        async def read(name: str) -> None:
            path = self.workspace.repo_path(name)
            try:
                if self.model.repos.get(name) is None:  # first read: is it a repo at all?
                    problem = await asyncio.to_thread(repo_problem, path)
                    if problem:
                        raise CockpitError(problem)
                status = await client.repo_status(path)
            except CockpitError as exc:
                problem = await asyncio.to_thread(repo_problem, path)
                self.repo_problems[name] = problem or str(exc)
                return
            self.repo_problems.pop(name, None)
            self.model.repos[name] = status
            if status.head_sha and not status.clean:
                with contextlib.suppress(CockpitError):
                    self._repo_diffs[name] = await client.worktree_diff(path, status.head_sha)
            else:
                self._repo_diffs.pop(name, None)

        # Repos are independent git processes: read them side by side.
        await asyncio.gather(*(read(name) for name in list(self.model.repos)))

    @_while_mounted
    async def _refresh_repos(self) -> None:
        client = self.client
        if client is None or not self._snapshot_shown:
            return
        await self._read_repos(client)
        run_list = self.query_one(RunList)
        for name in self.model.repos:
            run_list.update_repo(self.model, name)
        self._show_selected(refresh_only=True)

    def on_transcript_wants_older(self, message: Transcript.WantsOlder) -> None:
        self._load_older(message.view)

    @work(group="older", exclusive=True)
    @_while_mounted
    async def _load_older(self, view: RunView) -> None:
        client = self.client
        if client is None or view.first_seq <= 1:
            return
        older = await client.events_tail(view.run.id, PAGE, before_seq=view.first_seq)
        added = view.prepend(older)
        if added:
            pane = self.query_one(RunPane)
            if pane.view is view:
                pane.query_one(Transcript).show(view, revealed=added)

    # --- rendering ----------------------------------------------------------------
    def _schedule_render(self) -> None:
        # Many events between two frames cost one widget update.
        # Streaming panes are redrawn at most every RENDER_INTERVAL: a growing transcript
        # relayouts the whole screen in Textual, which 60 times a second would starve the
        # keyboard. Keys (selection, zoom…) redraw at once, not through here.
        if not self._render_scheduled:
            self._render_scheduled = True
            now = time.monotonic()
            interval = render_interval(now - self.collector.last_input)
            wait = self._last_render + interval - now
            if wait > 0:
                self.set_timer(wait, self._render_dirty)
            else:
                self.call_after_refresh(self._render_dirty)

    @_while_mounted
    def _render_dirty(self) -> None:
        self._render_scheduled = False
        self._last_render = time.monotonic()
        dirty, self._dirty = self._dirty, set()
        run_list = self.query_one(RunList)
        for run_id in dirty:
            run_list.update_run(self.model, run_id)
        selected = self._selected()
        if selected and selected.startswith("run:") and selected[4:] in dirty:
            self._show_selected(refresh_only=True)
        self._update_counts()
        if isinstance(self.screen, InboxScreen):
            self.screen.refresh_items()

    def _say_sandbox(self, enforced: bool, detail: str) -> None:
        """Without a sandbox, say so once, plainly, and keep saying it in the header."""
        if enforced:
            return
        self._unconfined = True
        self.notify(
            f"{detail} (see cockpit doctor)",
            title="No sandbox",
            severity="warning",
            timeout=20,
        )
        self._update_counts()

    def _welcome_text(self) -> str:
        """The welcome, its ``{inbox}`` saying what the inbox holds now (nothing when
        nothing waits: a question is only promised when one is there)."""
        items = waiting(self.model)
        if any(item.kind == "question" for item in items):
            hint = " (a question waits)"
        else:
            hint = f" ({len(items)} waiting on you)" if items else ""
        return self._welcome.replace("{inbox}", hint) if self._welcome else ""

    def _update_counts(self) -> None:
        counts = self.model.counts()
        self.sub_title = (
            f"{self.workspace.root} · {counts['running']} running · "
            f"{counts['queued']} queued · {len(waiting(self.model))} waiting on you"
            + (" · no sandbox: guard only" if self._unconfined else "")
        )

    @_while_mounted
    def _tick(self) -> None:
        self.collector.tick()
        pane = self.query_one(RunPane)
        if pane.view is not None and pane.view.run.state.is_active:
            pane.refresh_header()

    def _selected(self) -> str | None:
        option = self.query_one(RunList).highlighted_option
        return option.id if option else None

    def _selected_run_id(self) -> str | None:
        selected = self._selected()
        return selected[4:] if selected and selected.startswith("run:") else None

    def _highlight_moved(self, _old: int | None, _new: int | None) -> None:
        # Called by the run list's reactive as the highlight moves, in the same turn as
        # its rows are marked for repainting: the pane's new content then goes out in
        # the same frame as the moved highlight. (Its OptionHighlighted message arrives
        # a turn later, after a frame showing only the highlight had been drawn: a key's
        # effect then waited for the next screen update, up to 17 ms more.)
        self._show_selected()

    def _show_selected(self, refresh_only: bool = False) -> None:
        selected = self._selected()
        switcher = self.query_one(ContentSwitcher)
        if selected and selected.startswith("run:") and selected[4:] in self.model.runs:
            switcher.current = "run-pane"
            self.query_one(RunPane).show(self.model.runs[selected[4:]])
        elif selected and selected.startswith("repo:"):
            name = selected[5:]
            switcher.current = "repo-pane"
            self.query_one(RepoPane).show(
                name,
                self.workspace.repo_path(name),
                self.model.repos.get(name),
                self._repo_diffs.get(name),
                self.model,
                problem=self.repo_problems.get(name),
                gated=name in self.gated_repos,
            )

    # --- actions ------------------------------------------------------------------
    def action_findings(self) -> None:
        """The selected run's gate findings by file; picking one opens the diff there."""
        run_id = self._selected_run_id()
        view = self.model.runs.get(run_id) if run_id else None
        if view is None:
            self.notify("f shows a run's gate findings: highlight a run")
            return

        def opened(place: Place | None) -> None:
            if place is not None:
                self.query_one(DiffPanel).jump(*place)

        from cockpit.tui.screens.findings import FindingsScreen

        self.push_screen(FindingsScreen(view, gated=view.run.repo in self.gated_repos), opened)

    # --- outside the cockpit: a shell, an editor ------------------------------------
    def _selected_worktree(self, key: str) -> tuple[RunView, Path] | None:
        """The selected run and its worktree, when it has one (else one line saying why)."""
        run_id = self._selected_run_id()
        view = self.model.runs.get(run_id) if run_id else None
        if view is None:
            self.notify(f"{key} works in a run's worktree: highlight a run")
            return None
        run = view.run
        worktree = run.worktree_path
        if run.decided:
            self.notify(f"run {run.id} is {run.outcome}: its worktree is removed")
        elif worktree is None:
            self.notify(f"run {run.id} has no worktree yet ({run.state.value})")
        elif not worktree.is_dir():
            self.notify(f"run {run.id}'s worktree is gone ({worktree})", severity="warning")
        else:
            return view, worktree
        return None

    def action_shell(self) -> None:
        """`!`: a shell ($SHELL) in the selected run's worktree; exit it to come back."""
        found = self._selected_worktree("!")
        if found is not None and not self._outside:
            self._outside = True
            self._go_outside(*found, "shell")

    def action_editor(self) -> None:
        """`E`: $EDITOR (else $VISUAL, else vi) on the selected run's changed files."""
        found = self._selected_worktree("E")
        if found is not None and not self._outside:
            self._outside = True
            self._go_outside(*found, "editor")

    @work(group="outside")
    async def _go_outside(self, view: RunView, worktree: Path, what: str) -> None:
        try:
            if what == "shell":
                argv = [os.environ.get("SHELL") or "/bin/sh"]
            else:
                files = await self._changed_files(view, worktree)
                if not files:
                    self.notify(f"run {view.run.id} changed no files yet (! opens a shell there)")
                    return
                editor = os.environ.get("EDITOR") or os.environ.get("VISUAL") or "vi"
                try:
                    words = shlex.split(editor) or ["vi"]
                except ValueError as exc:
                    self.notify(f"the editor {editor!r} cannot be read: {exc}", severity="error")
                    return
                argv = [*words, *files]
            await self._hand_over(view.run.id, argv, worktree, what)
        finally:
            self._outside = False

    async def _changed_files(self, view: RunView, worktree: Path) -> list[str]:
        """The files of the run's diff (read again: the pane's may be a moment old) that
        are there to edit (not deleted)."""
        diff = view.diff
        client = self.client
        if client is not None and view.run.base_sha:
            with contextlib.suppress(CockpitError):
                diff = await client.worktree_diff(worktree, view.run.base_sha)
        return [f.path for f in diff.files if (worktree / f.path).is_file()] if diff else []

    async def _hand_over(self, run_id: str, argv: list[str], cwd: Path, what: str) -> None:
        """Run ``argv`` in ``cwd`` with the terminal handed over (the app suspended), then
        come back as it was: the same selection and focus, the screen redrawn. The engine
        (on this loop) keeps running its runs meanwhile."""
        main = self.screen_stack[0]
        focused, selected = main.focused, self._selected()
        code: int | OSError = 0
        try:
            # Nothing is drawn while the terminal is the program's (see App._display).
            with self.batch_update(), self.suspend():
                # Nothing may escape this block: App.suspend would not resume the app.
                try:
                    code = await _run_in_terminal(argv, cwd)
                except OSError as exc:
                    code = exc
        except SuspendNotSupported:
            self.notify(f"this terminal cannot be handed over to a {what}", severity="error")
            return
        if isinstance(code, OSError):
            self.notify(f"{what} {argv[0]!r} could not start: {code}", severity="error")
            return
        if selected and self._selected() != selected:
            self.query_one(RunList).select_id(selected)
        if focused is not None and focused in main.focus_chain:
            focused.focus()
        self._fetch_diff(run_id)  # its files may have changed
        self._show_selected()
        self.refresh(layout=True)
        if code:
            self.notify(f"{what} exited with status {code}", severity="warning")

    def open_review(self, run_id: str) -> None:
        """The review screen on a run; its outcome is notified when it closes."""
        view = self.model.runs.get(run_id)
        client = self.client
        if client is None or view is None:
            self.notify("the engine is still starting", severity="warning")
            return

        def closed(outcome: str | None) -> None:
            if outcome:
                self.notify(outcome, timeout=8)
            self._show_selected()

        # Imported on first use: the review screen brings the diff parser and a syntax
        # highlighter, which the cockpit's first frame has no need to wait for.
        from cockpit.tui.screens.review import ReviewScreen

        self.push_screen(ReviewScreen(client, view), closed)

    def action_guard(self) -> None:
        """The highlighted run's guard ledger, where a refusal can be overridden."""
        run_id = self._selected_run_id()
        if run_id is None:
            self.notify("l shows a run's guard ledger: highlight a run")
            return
        self._command(SlashCommand("guard", [run_id]))

    def _open_guard(self, run_id: str) -> None:
        client = self.client
        assert client is not None
        from cockpit.tui.screens.guard import GuardScreen

        self.push_screen(GuardScreen(client, run_id))

    async def _open_skills(self, target: str | None) -> None:
        """The skills of a run (loaded, and what its repo offers) or of a repo."""
        client = self.client
        assert client is not None
        if target in self.workspace.config.repos:
            repo, loaded, title = target, None, f"Skills for runs on {target}"
        elif target is not None:
            run = await client.resolve_run(target)
            view = self.model.runs.get(run.id)
            repo, loaded = run.repo, (view.skills if view else [])
            title = f"Skills of {run.id} ({run.repo})"
        else:
            raise BadInput("/skills needs a run or a repo: highlight one or name it")
        available = await client.available_skills(repo)
        from cockpit.tui.screens.skills import SkillsScreen

        self.push_screen(SkillsScreen(title, available, loaded))

    def action_run_gates(self) -> None:
        """Verify: run the highlighted repo's gates on its working tree (runs are judged on
        every turn already)."""
        selected = self._selected()
        if not selected or not selected.startswith("repo:"):
            self.notify("v runs a repo's gates: highlight a repo (runs are judged every turn)")
            return
        self._check_repo_gates(selected[5:])

    @work(group="commands")
    async def _check_repo_gates(self, name: str) -> None:
        client = self.client
        if client is None:
            self.notify("the engine is still starting", severity="warning")
            return
        problem = await asyncio.to_thread(repo_problem, self.workspace.repo_path(name))
        if problem:
            self.repo_problems[name] = problem
            self.notify(f"{name}: {problem}", severity="error")
            self._show_selected()
            return
        self.model.repo_gates[name] = (utcnow(), None)
        self._show_selected()
        try:
            _, results = await client.check_gates(name)
        except CockpitError as exc:
            self.model.repo_gates.pop(name, None)
            self.notify(str(exc), severity="error")
            return
        self.model.repo_gates[name] = (utcnow(), results)
        if results:
            self.gated_repos.add(name)
        else:
            self.gated_repos.discard(name)
        note, severity = verdict_note(name, results)
        self.notify(note, severity=severity)
        self._show_selected()

    def action_help(self) -> None:
        from cockpit.tui.screens.help import HelpScreen, collect_bindings

        self.push_screen(HelpScreen(collect_bindings(self)))

    def action_inbox(self) -> None:
        def jump(run_id: str | None) -> None:
            if run_id:
                self.query_one(RunList).select_id(f"run:{run_id}")
                self.query_one(RunList).focus()
                view = self.model.runs.get(run_id)
                if view is not None and view.run.state is RunState.FINISHED:
                    self.open_review(run_id)  # a run ready for review: straight to it

        self.push_screen(InboxScreen(self.model), jump)

    def action_prompt(self, prefix: str) -> None:
        prompt = self.query_one(PromptBar)
        # `s` on a message kept in the bar (a draft left with escape) goes back to it.
        if prefix or prompt.value.startswith("/"):
            prompt.value = prefix
        prompt.cursor_position = len(prompt.value)
        _focus_now(prompt)

    def action_focus_panes(self) -> None:
        """Leave the prompt bar (escape): back to where the focus was before it."""
        self._return_focus()

    # --- focus: the panels of the main screen --------------------------------------
    def _focus_moved(self, old: Widget | None, new: Widget | None) -> None:
        if isinstance(new, PromptBar) and old is not None and not isinstance(old, PromptBar):
            self._before_prompt = old

    def _panels(self) -> list[Widget]:
        """What tab cycles through on the main screen, in order: the list (unless zoomed),
        then the pane: a run's transcript and its diff hunks (when shown), or the repo's
        pane. The prompt bar is not one (`s` and `/` open it, escape leaves it)."""
        main = self.screen_stack[0]
        return [w for w in main.focus_chain if not isinstance(w, PromptBar)]

    def _return_focus(self) -> None:
        """Focus the panel the prompt bar was opened from (or the first one left)."""
        panels = self._panels()
        target = self._before_prompt
        if target not in panels:
            target = panels[0] if panels else None
        if target is not None:
            _focus_now(target)

    def _cycle_panels(self, step: int) -> bool:
        """Tab / shift+tab on the main screen (False elsewhere: the screen's own order)."""
        if self.screen is not self.screen_stack[0]:
            return False
        focused = self.screen.focused
        if isinstance(focused, PromptBar):
            self._return_focus()
            return True
        panels = self._panels()
        if panels:
            index = panels.index(focused) if focused in panels else -step
            panels[(index + step) % len(panels)].focus()
        return True

    def action_focus_next(self) -> None:
        if not self._cycle_panels(1):
            super().action_focus_next()

    def action_focus_previous(self) -> None:
        if not self._cycle_panels(-1):
            super().action_focus_previous()

    def _run_pane_view(self, key: str, what: str) -> RunView | None:
        """The selected run's view when the run pane shows it (else say why not)."""
        pane = self.query_one(RunPane)
        if self.query_one(ContentSwitcher).current != "run-pane" or pane.view is None:
            self.notify(f"{key} {what}: highlight a run")
            return None
        return pane.view

    def action_pane(self, what: str) -> None:
        """`e` expands tool output, `o` loads older transcript lines: in the selected run's
        pane, wherever the focus is."""
        key, said = {
            "expand": ("e", "expands a run's tool output"),
            "older": ("o", "loads a run's older transcript lines"),
        }[what]
        view = self._run_pane_view(key, said)
        if view is None:
            return
        transcript = self.query_one(Transcript)
        if what == "expand":
            transcript.action_toggle_expand()
            shown = "expanded" if transcript.expanded else "collapsed"
            self.notify(f"tool output {shown}", timeout=2)
        elif transcript.has_older:
            transcript.action_older()
        else:
            self.notify(f"the whole transcript of {view.run.id} is shown", timeout=2)

    def action_hunks(self) -> None:
        """`d`: show the selected run's diff hunks beside its transcript (tab reaches them
        then), or hide them again (the focus, if it was in them, goes back to the list)."""
        view = self._run_pane_view("d", "shows a run's diff hunks")
        if view is None:
            return
        if view.run.decided:
            self.notify(f"run {view.run.id} is {view.run.outcome}: its worktree's diff is gone")
            return
        panel = self.query_one(DiffPanel)
        hunks = panel.query_one("#diff-hunks")
        was_focused = hunks.has_focus
        panel.action_toggle_hunks()
        if was_focused and not panel.hunks:
            self._before_prompt = None
            self._return_focus()

    def action_zoom(self) -> None:
        run_list = self.query_one(RunList)
        run_list.display = not run_list.display
        self.query_one("#main").set_class(not run_list.display, "zoomed")
        if not run_list.display:
            self.notify("zoomed: z restores the list", timeout=2)

    def action_all_runs(self) -> None:
        """Show (or hide again) runs decided over a day ago."""
        self.model.show_all = not self.model.show_all
        self.query_one(RunList).rebuild(self.model)
        shown = "shown" if self.model.show_all else "hidden"
        self.notify(f"runs decided over a day ago: {shown}", timeout=2)

    def action_cycle(self, step: int) -> None:
        ids = [f"run:{v.run.id}" for v in self.model.shown_runs()]
        if not ids:
            return
        current = self._selected()
        index = ids.index(current) if current in ids else -1
        self.query_one(RunList).select_id(ids[(index + step) % len(ids)])

    def action_cancel_run(self) -> None:
        run_id = self._selected_run_id()
        if run_id is None:
            self.notify("select a run first", severity="warning")
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._command(SlashCommand("cancel", [run_id]))

        self.push_screen(ConfirmScreen(f"Cancel run {run_id}?"), confirmed)

    def _to_decide(self, verb: str) -> RunView | None:
        """The selected run, if it is one that can be approved or rejected."""
        run_id = self._selected_run_id()
        view = self.model.runs.get(run_id) if run_id else None
        if view is None:
            self.notify(f"highlight a run to {verb}")
            return None
        run = view.run
        if run.decided:
            self.notify(f"run {run.id} is already {run.outcome}")
        elif run.state is not RunState.FINISHED:
            self.notify(f"run {run.id} is {run.state.value}: only a finished run can be {verb}d")
        else:
            return view
        return None

    def action_approve_run(self) -> None:
        """Approve the selected run (merged as its repo's ``merge`` says), once confirmed;
        red blocking gates ask again (the review's M and y)."""
        view = self._to_decide("approve")
        if view is None:
            return
        config = self.workspace.repo(view.run.repo)
        how = "squash it into" if config.merge == "squash" else "merge it into"

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._approve(view.run.id)

        self.push_screen(ConfirmScreen(f"Approve {view.run.id}: {how} {config.base}?"), confirmed)

    @work(group="commands")
    async def _approve(self, run_id: str, override_gates: bool = False) -> None:
        await self._engine_ready.wait()
        client = self.client
        assert client is not None
        try:
            done = await client.approve(run_id, override_gates=override_gates)
        except GatesRed as red:

            def anyway(yes: bool | None) -> None:
                if yes:
                    self._approve(run_id, override_gates=True)

            question = (
                f"Blocking gates are red: {', '.join(red.gates)}. Approve anyway?"
                " (the override is recorded with the merge)"
            )
            self.push_screen(ConfirmScreen(question), anyway)
            return
        except CockpitError as exc:
            self.notify(str(exc), severity="error", timeout=10)
            return
        if not done.merged:
            self.notify(f"{run_id}: {done.base} already has its changes; nothing merged")
        else:
            how = "squashed" if done.squash else "merged"
            self.notify(f"{run_id} {how} into {done.base} as {done.sha[:12]}", timeout=8)

    def action_reject_run(self) -> None:
        """Reject the selected run (its work saved aside), once confirmed."""
        view = self._to_decide("reject")
        if view is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._reject(view.run.id)

        question = f"Reject {view.run.id}: save its work aside and remove its branch?"
        self.push_screen(ConfirmScreen(question), confirmed)

    @work(group="commands")
    async def _reject(self, run_id: str) -> None:
        await self._engine_ready.wait()
        client = self.client
        assert client is not None
        try:
            path = await client.reject(run_id)
        except CockpitError as exc:
            self.notify(str(exc), severity="error", timeout=10)
            return
        self.notify(f"{run_id} rejected; its work is saved in {path}", timeout=8)

    def action_resume_run(self) -> None:
        run_id = self._selected_run_id()
        if run_id:
            self._command(SlashCommand("resume", [run_id]))

    def action_quit_cockpit(self) -> None:
        client = self.client
        executing = client.executing() if client is not None else []
        in_flight = [
            v.run.id
            for v in self.model.runs.values()
            if v.run.state.is_active and v.run.id in executing
        ]
        if not in_flight:
            self._stop_engine_and_exit()
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._stop_engine_and_exit()

        self.push_screen(
            ConfirmScreen(
                f"{len(in_flight)} run(s) in flight will be interrupted (resume them later). Quit?"
            ),
            confirmed,
        )

    @work(group="commands")
    async def _stop_engine_and_exit(self) -> None:
        client = self.client
        if client is not None:
            client.stop()
            for worker in self.workers:
                if worker.group == "engine":
                    await worker.wait()
        self.exit()

    # --- prompt bar and commands --------------------------------------------------
    def _prompt_sent(self, text: str) -> None:
        """Enter in the prompt bar: the command or the message goes, and the focus goes
        back where it was (before the next key is read). What cannot go (a typo, a run
        that cannot be steered) stays in the bar, focused, with one line saying why."""
        if text.startswith("/"):
            try:
                command = parse(text)
            except CockpitError as exc:
                self._keep_in_prompt(text)
                self.notify(str(exc), severity="error")
                return
            if command.name == "steer" and not self._may_steer(
                command.args[0], text, command.args[1]
            ):
                return
            self._return_focus()
            self._command(command)
            return
        run_id = self._selected_run_id()
        if run_id is None:
            self._keep_in_prompt(text)
            self.notify("select a run to steer (or use /steer RUN MESSAGE)", severity="warning")
            return
        if not self._may_steer(run_id, text, text):
            return
        self._return_focus()
        self._command(SlashCommand("steer", [run_id, text]))

    def _keep_in_prompt(self, text: str) -> None:
        """Put ``text`` back in the (focused) prompt bar, the cursor at its end."""
        prompt = self.query_one(PromptBar)
        prompt.value = text
        prompt.cursor_position = len(text)
        _focus_now(prompt)

    def _view_of(self, ref: str) -> RunView | None:
        """The run ``ref`` names (its id or a unique prefix), if the model has it."""
        if ref in self.model.runs:
            return self.model.runs[ref]
        found = [view for run_id, view in self.model.runs.items() if run_id.startswith(ref)]
        return found[0] if len(found) == 1 else None

    def _may_steer(self, ref: str, text: str, message: str) -> bool:
        """Whether a message to run ``ref`` can go as steering. A finished (or failed) run
        cannot be steered: the text stays in the bar and enter again sends it back to the
        agent with it (as the review's send-back does); a cancelled or decided run cannot
        continue at all (the text stays too)."""
        view = self._view_of(ref)
        if view is None:  # not known here: the engine says
            self._continue_offer = None
            return True
        run = view.run
        if run.state in (RunState.FINISHED, RunState.FAILED) and not run.decided:
            if self._continue_offer == run.id:
                self._continue_offer = None
                self._return_focus()
                self._send_back(run.id, message)
                return False
            self._continue_offer = run.id
            self._keep_in_prompt(text)
            self.notify(
                f"run {run.id} is {run.state.value}: enter again continues it with this"
                " message (escape keeps it here)",
                severity="warning",
                timeout=15,
            )
            return False
        self._continue_offer = None
        if run.state is RunState.CANCELLED or run.decided:
            self._keep_in_prompt(text)
            self.notify(
                f"run {run.id} is {run.outcome}: it cannot continue (/run starts a new one)",
                severity="warning",
            )
            return False
        return True

    @work(group="commands")
    async def _send_back(self, run_id: str, message: str) -> None:
        """Continue a finished (or failed) run with ``message``: queued again, the message
        waiting for its agent (the review's send-back)."""
        await self._engine_ready.wait()
        client = self.client
        assert client is not None
        try:
            run = await client.send_back(run_id, message)
        except CockpitError as exc:
            self.notify(str(exc), severity="error")
            return
        self.notify(f"run {run.id} continues with your message", timeout=4)

    def on_inbox_screen_answered(self, message: InboxScreen.Answered) -> None:
        self._command(SlashCommand("steer", [message.run_id, message.text]))

    def on_inbox_screen_resume(self, message: InboxScreen.Resume) -> None:
        self._command(SlashCommand("resume", [message.run_id]))

    @work(group="commands")
    async def _command(self, command: SlashCommand) -> None:
        """Carry out a command; errors become one notification line."""
        name, args = command.name, command.args
        try:
            if name == "help":
                self.action_help()
            elif name == "inbox":
                self.action_inbox()
            elif name == "quit":
                self.action_quit_cockpit()
            elif name == "theme":
                self._set_theme(args[0])
            else:
                await self._engine_command(command)
        except CockpitError as exc:
            self.notify(str(exc), severity="error")

    async def _engine_command(self, command: SlashCommand) -> None:
        await self._engine_ready.wait()
        client = self.client
        assert client is not None
        name, args = command.name, command.args
        run_id = args[0] if args else self._selected_run_id()
        if name == "run":
            scenario = self._scenario_path(command.scenario) if command.scenario else None
            run = await client.submit(
                args[0], args[1], command.agent or "scripted", scenario, command.skills
            )
            self.model.upsert(run)
            self.query_one(RunList).rebuild(self.model)
            self.query_one(RunList).select_id(f"run:{run.id}")
            self.notify(f"run {run.id} queued on {run.repo}")
            return
        if name == "skills":
            selected = self._selected()
            repo = selected[5:] if selected and selected.startswith("repo:") else None
            await self._open_skills(args[0] if args else self._selected_run_id() or repo)
            return
        if run_id is None:
            self.notify(f"/{name} needs a run: select one or name it", severity="warning")
            return
        if name == "guard":
            self._open_guard((await client.resolve_run(run_id)).id)
            return
        if name == "steer":
            run = await client.resolve_run(args[0])
            try:
                message_id = await client.steer(run.id, args[1])
            except CockpitError:
                # The run ended meanwhile: the message is not thrown away.
                prompt = self.query_one(PromptBar)
                if not prompt.value:
                    prompt.value = f"/steer {run.id} {args[1]}"
                raise
            view = self.model.runs.get(run.id)
            if view is not None:
                view.note_sent(message_id, args[1])
                self._dirty.add(run.id)
                self._schedule_render()
        elif name == "cancel":
            run = await client.cancel(run_id)
            self.notify(f"run {run.id} {run.state.value}")
        elif name == "resume":
            run = await client.resume(run_id)
            self.notify(f"run {run.id} resumed")
        elif name == "review":
            run = await client.resolve_run(run_id)
            self.query_one(RunList).select_id(f"run:{run.id}")
            self.open_review(run.id)

    def _set_theme(self, name: str) -> None:
        if name not in self.available_themes:
            shipped = sorted(t for t in self.available_themes if t.startswith("cockpit"))
            raise CockpitError(f"unknown theme '{name}' (try: {', '.join(shipped)})")
        self.theme = name
        self.settings.theme = name
        save_settings(self.settings)
        self._show_selected(refresh_only=True)
        self.query_one(RunList).rebuild(self.model)

    def _scenario_path(self, given: str) -> str:
        """``--scenario`` as typed in the prompt bar: a relative path is the workspace
        root's (the folder the cockpit was started in is no place the human sees).
        BadInput, naming the path tried, when there is no such file."""
        path = Path(given).expanduser()
        if not path.is_absolute():
            path = self.workspace.root / path
        if not path.is_file():
            raise BadInput(f"scenario not found: {path}")
        return str(path.resolve())

    def _candidates(self, kind: str) -> list[str]:
        """Names of a kind for completion, the selection's first: the highlighted run
        (``run``), its repo or the highlighted repo (``repo``), either (``target``)."""
        selected = self._selected() or ""
        run_id = selected[4:] if selected.startswith("run:") else None
        view = self.model.runs.get(run_id) if run_id else None
        repo = view.run.repo if view else selected[5:] if selected.startswith("repo:") else None
        runs = ([run_id] if run_id else []) + [r for r in reversed(self.model.runs) if r != run_id]
        repos = ([repo] if repo else []) + [r for r in self.workspace.config.repos if r != repo]
        if kind == "repo":
            return repos
        if kind == "run":
            return runs
        if kind == "target":
            first = selected.partition(":")[2] if selected.startswith(("run:", "repo:")) else None
            rest = [name for name in runs + list(self.workspace.config.repos) if name != first]
            return ([first] if first else []) + rest
        if kind == "theme":
            return sorted(self.available_themes)
        if kind == "agent":
            return list(self.workspace.config.agents)
        return []

    # --- command palette ----------------------------------------------------------
    def _bound_commands(self) -> Iterator[SystemCommand]:
        """An entry per action bound on the main screen, read from BINDINGS (the keys as
        the keymap sets them, and the binding ids, in its help)."""
        by_action: dict[str, list[Binding]] = {}
        for item in self.BINDINGS:
            binding = as_binding(item)
            by_action.setdefault(binding.action, []).append(binding)
        for action, bindings in by_action.items():
            shown = ", ".join(keys_shown(self, b) for b in bindings)
            ids = ", ".join(b.id for b in bindings if b.id)
            tip = next((b.tooltip for b in bindings if b.tooltip), "")
            yield SystemCommand(
                bindings[0].description,
                f"{tip} · key {shown} ({ids})" if tip else f"key {shown} ({ids})",
                functools.partial(self.run_action, action),
            )

    def get_system_commands(self, screen: Screen):
        main = screen is self.screen_stack[0]
        bound = list(self._bound_commands()) if main else []
        # Textual's own (theme, keys, screenshot…), never its Quit: that one would not ask
        # about runs in flight (the main screen's palette has ours; elsewhere q closes).
        titles = {command.title for command in bound} | {"Quit"}
        yield from (c for c in super().get_system_commands(screen) if c.title not in titles)
        yield from bound
        if main:
            yield SystemCommand(
                "Start a run…", COMMANDS["run"][0], lambda: self.action_prompt("/run ")
            )
            yield SystemCommand(
                "Skills of selected run or repo",
                COMMANDS["skills"][1],
                lambda: self._command(SlashCommand("skills")),
            )
            yield SystemCommand(
                "Review selected run",
                COMMANDS["review"][1],
                lambda: self._command(SlashCommand("review")),
            )
            yield SystemCommand(
                "Approve selected run…",
                "merge its branch into its base, as the review's M (asks first)",
                self.action_approve_run,
            )
            yield SystemCommand(
                "Reject selected run…",
                "save its work aside and remove its branch, as the review's D (asks first)",
                self.action_reject_run,
            )
        for theme in sorted(t for t in self.available_themes if t.startswith("cockpit")):
            yield SystemCommand(
                f"Theme: {theme}", "Switch and remember", lambda t=theme: self._set_theme(t)
            )
