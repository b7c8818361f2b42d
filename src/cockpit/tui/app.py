"""The cockpit: a Textual app, a client of the engine of one workspace.

The app puts the cockpit together and keeps what is app-wide: the themes, the keymap,
the keys and the command palette, the screens, quitting. The rest is in modules of one
job each:

* :mod:`cockpit.tui.session`: the link to the engine (the workspace's detached engine,
  or one hosted on Textual's loop for tests: :mod:`cockpit.tui.connector`), reached only
  through an :class:`~cockpit.client.EngineClient`, and the :class:`CockpitModel` it
  keeps current from one stream of every run's stored events;
* :mod:`cockpit.tui.router`: the commands, one table for the ``/`` commands, the keys
  and the palette (:mod:`cockpit.tui.palette_provider`);
* :mod:`cockpit.tui.screens.main`: the main screen (list, panes, prompt bar), which draws
  what the session and the router tell it, at most once per refresh.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, ClassVar

from textual import events, work
from textual.actions import ActionParseResult, parse
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.screen import Screen

from cockpit.render import plural
from cockpit.tui.commands import SlashCommand
from cockpit.tui.connector import Connector, DetachedConnector, HostedConnector
from cockpit.tui.memory import Collector
from cockpit.tui.model import CockpitModel
from cockpit.tui.router import SCREEN_ACTIONS, CommandRouter, bindings
from cockpit.tui.screens.main import MainScreen
from cockpit.tui.session import EngineSession
from cockpit.tui.settings import load_settings, settings_path
from cockpit.tui.themes import DEFAULT_THEME, register_themes
from cockpit.tui.ui_config import ui_sections
from cockpit.tui.widgets.prompt_bar import PromptBar
from engine.domain.state import RunState

# The palette's entries and the screens pushed later (a confirmation) are imported when
# first needed: the first frame does not wait for them.
if TYPE_CHECKING:
    from cockpit.client.early import EarlyLink
    from cockpit.client.local import EngineOptions, Workspace
    from cockpit.tui.screens.inbox import InboxScreen

#: Longest the first frame waits for the stored runs and the repos' statuses.
SNAPSHOT_WAIT = 1.0
#: Seconds the app waits, on its way out, for the engine to close the store.
ENGINE_CLOSE_WAIT = 5.0


class CockpitApp(App[str | None]):
    """Panes per repo and per run, a steering bar, an inbox.

    A client of the workspace's detached engine (started when none runs); given
    ``engine_options``, it hosts an engine of its own instead (tests, benchmarks). Its
    result is the line to print once it has left the terminal (what goes on without it).
    """

    TITLE = "Cockpit"
    CSS_PATH = "app.tcss"
    #: Screen classes by terminal width (app.tcss keys the layout on them): below 90
    #: columns the run list stacks above the pane, below 120 it narrows.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (90, "-medium"), (120, "-wide")]
    HELP_GROUP = "Global"
    #: The main screen's keys (cockpit.tui.router.ROUTES). Bound here, not on the main
    #: screen: the footer and help list them first, as the cockpit's own, and
    #: check_action turns them off while a screen is pushed over it. Their actions are
    #: the main screen's (see run_action). The command palette offers each action (its
    #: title is the description, its help the tooltip and the key): a key cannot be
    #: missing there.
    BINDINGS: ClassVar[list[BindingType]] = list(bindings())

    def __init__(
        self,
        workspace: Workspace,
        engine_options: EngineOptions | None = None,
        select: str | None = None,
        welcome: str | None = None,
        review: bool = False,
        early: EarlyLink | None = None,
    ) -> None:
        super().__init__()
        self.workspace = workspace
        self.model = CockpitModel()
        #: Runs full garbage collections while no key is pressed (see cockpit.tui.memory).
        self.collector = Collector()
        #: ``[ui]`` and ``[keys]`` of cockpit.toml (a mistake there: one ConfigError line).
        self.sections = ui_sections(workspace)
        connector: Connector = (
            DetachedConnector(workspace, early)
            if engine_options is None
            else HostedConnector(workspace, engine_options)
        )
        start_key = self.sections.keys.get("cockpit.start_engine", "ctrl+r")
        self.session = EngineSession(
            self, workspace, connector, self.model, start_key, first_shown=select
        )
        self.router = CommandRouter(self.session, workspace)
        self._select, self._review, self._welcome = select, review, welcome
        self._main: MainScreen | None = None
        self.title = f"Cockpit — {workspace.root.name}"
        # Themes are chosen before the first frame: switching later restyles every widget.
        self._theme_errors = register_themes(self, workspace.root)
        # The last /theme choice wins; else the workspace's [ui] theme; else the default.
        settings = load_settings()
        wanted = settings.theme if settings_path().exists() else self.sections.ui.theme
        self.theme = wanted if wanted in self.available_themes else DEFAULT_THEME

    def refresh_css(self, animate: bool = True) -> None:
        if self._main is not None:
            super().refresh_css(animate)
            return
        # The theme chosen in __init__ asks for this before the first screen exists:
        # nothing is parsed or drawn yet, so its variables are all there is to refresh.
        # Textual's own refresh would parse the app's CSS here, then again (its cache
        # dropped) when the screen's widgets come.
        self.stylesheet.set_variables(self.get_css_variables())

    # --- screens --------------------------------------------------------------------
    def get_default_screen(self) -> Screen:
        self._main = MainScreen(
            self.workspace,
            self.session,
            self.router,
            self.collector,
            select=self._select,
            review=self._review,
            welcome=self._welcome,
            bell=self.sections.ui.bell,
        )
        return self._main

    @property
    def main_screen(self) -> MainScreen:
        """The cockpit's first screen: the list, the panes, the prompt bar."""
        assert self._main is not None, "the app has not composed its screen yet"
        return self._main

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

    async def run_action(
        self,
        action: str | ActionParseResult,
        default_namespace: DOMNode | None = None,
        namespaces: Mapping[str, DOMNode] | None = None,
    ) -> bool:
        """Run an action. The main screen's (SCREEN_ACTIONS), bound on the app, run on
        the main screen, if this app's check_action lets them (as for its own)."""
        if isinstance(action, str) and default_namespace in (None, self):
            namespace, name, parameters = parse(action)
            if not namespace and name in SCREEN_ACTIONS:
                if not self.check_action(name, parameters):
                    return False
                default_namespace = self.main_screen
        return await super().run_action(action, default_namespace, namespaces)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        from cockpit.tui.palette_provider import system_commands

        return system_commands(self, screen, self.router, super().get_system_commands(screen))

    # --- lifecycle ----------------------------------------------------------------
    async def on_load(self) -> None:
        # The engine opens before the screen is composed: the stored runs and the repos'
        # statuses are then usually in the model when the widgets are built, and the
        # first frame shows them, instead of a frame of placeholders followed by a
        # relayout per arrival (each costing as much as the first). A store or a git
        # that is slow to answer only delays the first frame by SNAPSHOT_WAIT: what comes
        # later is shown when it comes.
        self.session.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.session.snapshot_read.wait(), SNAPSHOT_WAIT)

    def on_mount(self) -> None:
        for error in self._theme_errors:
            self.notify(error, severity="warning", timeout=8)
        if self.sections.keys:
            self.set_keymap(dict(self.sections.keys))

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
        await self.session.wait_closed(ENGINE_CLOSE_WAIT)

    # --- app-wide keys ------------------------------------------------------------
    def action_help(self) -> None:
        from cockpit.tui.screens.help import HelpScreen, collect_bindings

        self.push_screen(HelpScreen(collect_bindings(self)))

    def action_quit_cockpit(self) -> None:
        """Leave. A client detaches (its engine goes on with the runs); a hosted engine
        stops with the cockpit, asking first when runs are in flight."""
        if self.session.detached:
            self.exit(self._farewell())
            return
        in_flight = self._in_flight()
        if not in_flight:
            self._stop_engine_and_exit()
            return
        self._ask_then_stop(
            f"{len(in_flight)} run(s) in flight will be interrupted (resume them later). Quit?"
        )

    async def action_quit(self) -> None:
        """Textual's own quit (``ctrl+q``, everywhere) leaves as ``q`` does: a client
        says what goes on in the engine, a hosted engine asks about runs in flight."""
        self.action_quit_cockpit()

    def action_quit_and_stop(self) -> None:
        """Stop the engine and leave, asking first when runs are in flight."""
        in_flight = self._in_flight()
        if not in_flight:
            self._stop_engine_and_exit()
            return
        self._ask_then_stop(
            f"{plural(len(in_flight), 'run')} in flight become interrupted (resume them"
            " later). Stop the engine and quit?"
        )

    def action_start_engine(self) -> None:
        """Start the workspace's engine when none answers (the session links to it)."""
        if self.session.start_engine():
            self.notify("starting the engine…", timeout=3)
        elif self.session.detached:
            self.notify("the engine is running", timeout=3)
        else:
            self.notify("this cockpit hosts its own engine", timeout=3)

    def _in_flight(self) -> list[str]:
        """Runs that stopping the engine would interrupt."""
        if self.session.detached:
            if self.session.client is None:
                return []  # no engine: nothing to stop
            return [v.run.id for v in self.model.runs.values() if v.run.state.is_active]
        executing = self.session.executing()
        return [
            v.run.id
            for v in self.model.runs.values()
            if v.run.state.is_active and v.run.id in executing
        ]

    def _farewell(self) -> str | None:
        """What a detaching cockpit says once it is gone: what goes on without it."""
        if self.session.client is None:
            return None  # no engine to go on
        going = sum(
            1
            for v in self.model.runs.values()
            if v.run.state.is_active or v.run.state is RunState.QUEUED
        )
        if going:
            keeps = "keeps" if going == 1 else "keep"
            return f"{plural(going, 'run')} {keeps} going in the engine — cockpit to come back"
        # The engine's own setting, as it said when the cockpit linked to it.
        info = getattr(self.session.client, "engine_info", {})
        idle = _duration(info.get("idle_exit") or self.workspace.config.engine.idle_exit)
        return f"the engine stays up (it exits after {idle} idle)"

    def _ask_then_stop(self, question: str) -> None:
        def confirmed(yes: bool | None) -> None:
            if yes:
                self._stop_engine_and_exit()

        from cockpit.tui.screens.confirm import ConfirmScreen

        self.push_screen(ConfirmScreen(question), confirmed)

    @work(group="commands")
    async def _stop_engine_and_exit(self) -> None:
        stopping = self.session.detached and self.session.client is not None
        interrupted = len(self._in_flight())
        await self.session.stop()
        if not stopping:
            self.exit()  # a hosted engine stops with the cockpit, as it always did
            return
        said = f": {plural(interrupted, 'run')} interrupted (resume later)" if interrupted else ""
        self.exit(f"the engine stopped{said}")

    def action_focus_next(self) -> None:
        if not self.main_screen.cycle_panels(1):
            super().action_focus_next()

    def action_focus_previous(self) -> None:
        if not self.main_screen.cycle_panels(-1):
            super().action_focus_previous()

    # --- the inbox answers, whichever screen is shown ---------------------------------
    def on_inbox_screen_answered(self, message: InboxScreen.Answered) -> None:
        self.router.run(SlashCommand("steer", [message.run_id, message.text]))

    def on_inbox_screen_resume(self, message: InboxScreen.Resume) -> None:
        self.router.run(SlashCommand("resume", [message.run_id]))


def _duration(seconds: float) -> str:
    """``600`` → ``10m``; ``90`` → ``1m30s``; as cockpit.toml writes durations."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n]
    return "".join(parts) or "0s"
