"""The cockpit: a Textual app over the engine of one workspace.

The engine runs on Textual's loop (a worker). Its bus delivers persisted event batches,
which the app folds into a :class:`CockpitModel` and renders at most once per refresh.
Events of runs executed by other processes are read from the store (ids close gaps).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from textual import events, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Header

from cockpit.bridge import EngineEvents
from cockpit.commands import COMMANDS, SlashCommand, parse
from cockpit.memory import Collector
from cockpit.model import CockpitModel, RunView
from cockpit.screens.confirm import ConfirmScreen
from cockpit.screens.inbox import InboxScreen, waiting
from cockpit.settings import UiSettings, load_settings, save_settings, settings_path
from cockpit.themes import DEFAULT_THEME, register_themes
from cockpit.widgets.diff_panel import DiffPanel
from cockpit.widgets.prompt_bar import PromptBar
from cockpit.widgets.repo_pane import RepoPane
from cockpit.widgets.run_list import RunList
from cockpit.widgets.run_pane import RunPane, Transcript
from engine.bootstrap import open_engine
from engine.domain.errors import BadInput, CockpitError
from engine.domain.events import Event
from engine.domain.gates import GateResult, GateStatus
from engine.domain.models import utcnow
from engine.domain.state import RunState
from engine.ports.sandbox import SandboxStatus
from engine.services.engine import Engine, EngineOptions
from engine.workspace import Workspace, repo_problem

# Screens other than the inbox and the confirmations are imported when first opened:
# start-up (the first frame) does not wait for modules it does not show.
if TYPE_CHECKING:
    from cockpit.screens.findings import Place

F = TypeVar("F", bound=Callable[..., Any])

#: How often runs of other engines are read from the store, and repos re-read.
FOREIGN_POLL = 0.5
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
    HELP_GROUP = "Global"
    BINDINGS = [
        Binding("question_mark", "help", "Help", id="cockpit.help"),
        Binding("i", "inbox", "Inbox", id="cockpit.inbox"),
        Binding("slash", "prompt('/')", "Command", id="cockpit.command"),
        Binding("s", "prompt('')", "Steer", id="cockpit.steer"),
        Binding("z", "zoom", "Zoom", id="cockpit.zoom"),
        Binding("right_square_bracket", "cycle(1)", "Next run", id="cockpit.next_run"),
        Binding("left_square_bracket", "cycle(-1)", "Prev run", show=False, id="cockpit.prev_run"),
        Binding("c", "cancel_run", "Cancel run", id="cockpit.cancel"),
        Binding("r", "resume_run", "Resume", show=False, id="cockpit.resume"),
        Binding("v", "run_gates", "Verify", show=False, id="cockpit.gates"),
        Binding("f", "findings", "Findings", show=False, id="cockpit.findings"),
        Binding("l", "guard", "Guard ledger", show=False, id="cockpit.guard"),
        Binding("a", "all_runs", "Older runs", show=False, id="cockpit.all_runs"),
        Binding("q", "quit_cockpit", "Quit", id="cockpit.quit"),
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
        self.engine: Engine | None = None
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
        #: Runs full garbage collections while no key is pressed (see cockpit.memory).
        self.collector = Collector()
        self.title = f"Cockpit — {workspace.root.name}"
        # Themes are chosen before the first frame: switching later restyles every widget.
        self._theme_errors = register_themes(self, workspace.root)
        # The last /theme choice wins; else the workspace's [ui] theme; else the default.
        wanted = self.settings.theme if settings_path().exists() else workspace.config.ui.theme
        self.theme = wanted if wanted in self.available_themes else DEFAULT_THEME

    # --- layout -------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        with Horizontal(id="main"):
            yield RunList(id="runs")
            with ContentSwitcher(id="detail", initial="run-pane"):
                yield RunPane(id="run-pane")
                yield RepoPane(id="repo-pane")
        yield PromptBar(self._candidates, id="prompt")
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
        async with open_engine(self.workspace, self._engine_options) as engine:
            self.engine = engine
            engine.bus.add_sink(lambda batch: self.post_message(EngineEvents(batch)))
            await self._read_snapshot(engine)
            self._snapshot_read.set()
            await self._mounted_event.wait()
            self._show_snapshot()
            self._engine_ready.set()
            for view in self.model.runs.values():
                self._fetch_diff(view.run.id)
            self.set_timer(1.0, self.collector.settle)
            self._say_sandbox(await engine.sandbox_status())
            follow = self.set_interval(FOREIGN_POLL, self._follow_store)
            self.run_worker(self._ingest_loop(), group="ingest", name="ingest")
            try:
                await engine.run()
            finally:
                # Nothing may touch the store once the context below closes it.
                self.engine = None
                follow.stop()
                for group in ("ingest", "diff", "older"):
                    self.workers.cancel_group(self, group)

    async def _read_snapshot(self, engine: Engine) -> None:
        """Read every run, its recent events and the repos into the model (no widgets:
        this may run before they exist); live events are followed from here on."""

        async def read_runs() -> None:
            for run in await engine.list_runs():
                self.model.upsert(run).load(await engine.store.events_tail(run.id, PAGE))
            self._last_event_id = await engine.store.last_event_id()

        async def read_gates() -> None:
            for name in self.workspace.config.repos:
                if await engine.gate_names(name):
                    self.gated_repos.add(name)

        # The repos' git processes run while the store is read.
        await asyncio.gather(read_runs(), self._read_repos(engine), read_gates())

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

    async def _follow_store(self) -> None:
        """Pick up events written by other processes (a CLI `--wait`, a background engine)."""
        if self.engine is None:
            return
        # Runs this engine executes reach the app through its bus: not read twice.
        engine = self.engine
        self._last_event_id, events = await engine.store.follow_events(
            self._last_event_id, 2000, skip_runs=engine.running_ids
        )
        if events:
            self._batches.put_nowait(events)

    def on_engine_events(self, message: EngineEvents) -> None:
        self._batches.put_nowait(message.events)

    @_while_mounted
    async def _ingest_loop(self) -> None:
        while True:
            await self._ingest(await self._batches.get())

    async def _ingest(self, events: list[Event]) -> None:
        if self.engine is None:
            return
        store = self.engine.store
        unknown = {e.run_id for e in events if e.run_id not in self.model.runs}
        new_rows = False
        for run_id in unknown:
            run = await store.get_run(run_id)
            if run is not None:
                self.model.upsert(run).load(await store.events_tail(run_id, PAGE))
                new_rows = True
        changed, notices = self.model.apply(events)
        for notice in notices:
            self.notify(notice, severity="error" if "failed" in notice else "information")
            if self._bell:
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
        if self.engine is None:
            return
        run = await self.engine.store.get_run(run_id)
        if run is not None and run_id in self.model.runs:
            # Events are stored before they are delivered, so the row is never older.
            self.model.runs[run_id].run = run
            self._fetch_diff(run_id)

    @work(group="diff", exclusive=False)
    @_while_mounted
    async def _fetch_diff(self, run_id: str) -> None:
        view = self.model.runs.get(run_id)
        if self.engine is None or view is None or not view.run.worktree or not view.run.base_sha:
            return
        worktree = Path(view.run.worktree)
        if not worktree.is_dir():
            return
        with contextlib.suppress(CockpitError):
            view.diff = await self.engine.worktrees.diff(worktree, view.run.base_sha)
            self._dirty.add(run_id)
            self._schedule_render()

    async def _read_repos(self, engine: Engine) -> None:
        """Every repo's status (and working-tree diff when dirty) into the model."""

        async def read(name: str) -> None:
            path = self.workspace.repo_path(name)
            try:
                if self.model.repos.get(name) is None:  # first read: is it a repo at all?
                    problem = await asyncio.to_thread(repo_problem, path)
                    if problem:
                        raise CockpitError(problem)
                status = await engine.worktrees.status(path)
            except CockpitError as exc:
                problem = await asyncio.to_thread(repo_problem, path)
                self.repo_problems[name] = problem or str(exc)
                return
            self.repo_problems.pop(name, None)
            self.model.repos[name] = status
            if status.head_sha and not status.clean:
                with contextlib.suppress(CockpitError):
                    self._repo_diffs[name] = await engine.worktrees.diff(path, status.head_sha)
            else:
                self._repo_diffs.pop(name, None)

        # Repos are independent git processes: read them side by side.
        await asyncio.gather(*(read(name) for name in list(self.model.repos)))

    @_while_mounted
    async def _refresh_repos(self) -> None:
        engine = self.engine
        if engine is None or not self._snapshot_shown:
            return
        await self._read_repos(engine)
        run_list = self.query_one(RunList)
        for name in self.model.repos:
            run_list.update_repo(self.model, name)
        self._show_selected(refresh_only=True)

    def on_transcript_wants_older(self, message: Transcript.WantsOlder) -> None:
        self._load_older(message.view)

    @work(group="older", exclusive=True)
    @_while_mounted
    async def _load_older(self, view: RunView) -> None:
        if self.engine is None or view.first_seq <= 1:
            return
        older = await self.engine.store.events_tail(view.run.id, PAGE, before_seq=view.first_seq)
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

    def _say_sandbox(self, status: SandboxStatus) -> None:
        """Without a sandbox, say so once, plainly, and keep saying it in the header."""
        if status.enforced:
            return
        self._unconfined = True
        self.notify(
            f"{status.detail} (see cockpit doctor)",
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

        from cockpit.screens.findings import FindingsScreen

        self.push_screen(FindingsScreen(view, gated=view.run.repo in self.gated_repos), opened)

    def open_review(self, run_id: str) -> None:
        """The review screen on a run; its outcome is notified when it closes."""
        view = self.model.runs.get(run_id)
        if self.engine is None or view is None:
            self.notify("the engine is still starting", severity="warning")
            return

        def closed(outcome: str | None) -> None:
            if outcome:
                self.notify(outcome, timeout=8)
            self._show_selected()

        # Imported on first use: the review screen brings the diff parser and a syntax
        # highlighter, which the cockpit's first frame has no need to wait for.
        from cockpit.screens.review import ReviewScreen

        self.push_screen(ReviewScreen(self.engine, view), closed)

    def action_guard(self) -> None:
        """The highlighted run's guard ledger, where a refusal can be overridden."""
        run_id = self._selected_run_id()
        if run_id is None:
            self.notify("l shows a run's guard ledger: highlight a run")
            return
        self._command(SlashCommand("guard", [run_id]))

    def _open_guard(self, run_id: str) -> None:
        engine = self.engine
        assert engine is not None

        async def load():
            return await engine.store.guard_ledger(run_id), await engine.store.guard_counts()

        async def override(rule: str) -> str:
            await engine.override_guard(run_id, rule)
            return f"{rule} lifted for the rest of {run_id}; the agent is told it may retry"

        from cockpit.screens.guard import GuardScreen

        self.push_screen(GuardScreen(run_id, load, override))

    async def _open_skills(self, target: str | None) -> None:
        """The skills of a run (loaded, and what its repo offers) or of a repo."""
        engine = self.engine
        assert engine is not None
        if target in self.workspace.config.repos:
            repo, loaded, title = target, None, f"Skills for runs on {target}"
        elif target is not None:
            run = await engine.resolve_run(target)
            view = self.model.runs.get(run.id)
            repo, loaded = run.repo, (view.skills if view else [])
            title = f"Skills of {run.id} ({run.repo})"
        else:
            raise BadInput("/skills needs a run or a repo: highlight one or name it")
        available = await engine.available_skills(repo)
        from cockpit.screens.skills import SkillsScreen

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
        if self.engine is None:
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
            _, results = await self.engine.check_gates(name)
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
        from cockpit.screens.help import HelpScreen, collect_bindings

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
        prompt.value = prefix
        prompt.cursor_position = len(prefix)
        prompt.focus()

    def action_focus_panes(self) -> None:
        self.query_one(RunList).focus()

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

    def action_resume_run(self) -> None:
        run_id = self._selected_run_id()
        if run_id:
            self._command(SlashCommand("resume", [run_id]))

    def action_quit_cockpit(self) -> None:
        in_flight = [
            v.run.id
            for v in self.model.runs.values()
            if v.run.state.is_active and self.engine and v.run.id in self.engine.running_ids
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
        if self.engine is not None:
            self.engine.request_stop()
            for worker in self.workers:
                if worker.group == "engine":
                    await worker.wait()
        self.exit()

    # --- prompt bar and commands --------------------------------------------------
    def on_prompt_bar_sent(self, message: PromptBar.Sent) -> None:
        text = message.text
        if text.startswith("/"):
            try:
                command = parse(text)
            except CockpitError as exc:
                self.notify(str(exc), severity="error")
                return
            self._command(command)
            return
        run_id = self._selected_run_id()
        if run_id is None:
            self.notify("select a run to steer (or use /steer RUN MESSAGE)", severity="warning")
            return
        self._command(SlashCommand("steer", [run_id, text]))

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
        engine = self.engine
        assert engine is not None
        name, args = command.name, command.args
        run_id = args[0] if args else self._selected_run_id()
        if name == "run":
            scenario = (
                str(Path(command.scenario).expanduser().resolve()) if command.scenario else None
            )
            run = await engine.submit(
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
            self._open_guard((await engine.resolve_run(run_id)).id)
            return
        if name == "steer":
            run = await engine.resolve_run(args[0])
            message_id = await engine.steer(run.id, args[1])
            view = self.model.runs.get(run.id)
            if view is not None:
                view.note_sent(message_id, args[1])
                self._dirty.add(run.id)
                self._schedule_render()
        elif name == "cancel":
            run = await engine.cancel(run_id)
            self.notify(f"run {run.id} {run.state.value}")
        elif name == "resume":
            run = await engine.resume(run_id)
            self.notify(f"run {run.id} resumed")
        elif name == "review":
            run = await engine.resolve_run(run_id)
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

    def _candidates(self, kind: str) -> list[str]:
        if kind == "repo":
            return list(self.workspace.config.repos)
        if kind == "run":
            return list(reversed(self.model.runs))
        if kind == "theme":
            return sorted(self.available_themes)
        if kind == "agent":
            return list(self.workspace.config.agents)
        return []

    # --- command palette ----------------------------------------------------------
    def get_system_commands(self, screen: Screen):
        yield from super().get_system_commands(screen)
        yield SystemCommand("Inbox", "Everything waiting on you", self.action_inbox)
        yield SystemCommand("Help: key bindings", "Every binding, by screen", self.action_help)
        yield SystemCommand("Zoom pane", "Toggle the run list", self.action_zoom)
        yield SystemCommand("Cancel selected run", "Stop the selected run", self.action_cancel_run)
        yield SystemCommand(
            "Resume selected run", "Continue an interrupted run", self.action_resume_run
        )
        yield SystemCommand("Start a run…", COMMANDS["run"][0], lambda: self.action_prompt("/run "))
        yield SystemCommand("Guard ledger of selected run", COMMANDS["guard"][1], self.action_guard)
        yield SystemCommand(
            "Skills of selected run or repo",
            COMMANDS["skills"][1],
            lambda: self._command(SlashCommand("skills")),
        )
        yield SystemCommand(
            "Steer selected run…", "Type a message to the agent", lambda: self.action_prompt("")
        )
        yield SystemCommand(
            "Review selected run",
            COMMANDS["review"][1],
            lambda: self._command(SlashCommand("review")),
        )
        for theme in sorted(t for t in self.available_themes if t.startswith("cockpit")):
            yield SystemCommand(
                f"Theme: {theme}", "Switch and remember", lambda t=theme: self._set_theme(t)
            )
