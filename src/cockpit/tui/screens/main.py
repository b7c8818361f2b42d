"""The main screen: the run list, the highlighted run's or repo's pane, the prompt bar.

It draws what the engine session and the command router tell it (their messages), keeps
the selection and the focus, and has the main screen's actions. Its keys are bound on
the app (:data:`cockpit.tui.router.ROUTES`), which runs their actions here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Header

from cockpit.tui.commands import SlashCommand, parse
from cockpit.tui.focus import PanelFocus
from cockpit.tui.memory import Collector, first_frame_drawn
from cockpit.tui.model import RunView
from cockpit.tui.mounted import while_mounted as _while_mounted
from cockpit.tui.router import CommandRouter
from cockpit.tui.selection import Row, RunRow
from cockpit.tui.session import EngineSession
from cockpit.tui.slash import Commands
from cockpit.tui.throttle import RenderThrottle
from cockpit.tui.widgets.detail import DetailPane
from cockpit.tui.widgets.prompt_bar import PromptBar
from cockpit.tui.widgets.run_list import RunList
from engine.domain.errors import CockpitError
from engine.domain.state import RunState

# The screens a key opens, the decisions, the shell and the editor, and the steering
# verdicts are imported when first used: the first frame does not wait for them.
if TYPE_CHECKING:
    from cockpit.client.local import Workspace
    from cockpit.tui.screens.findings import Place
    from cockpit.tui.steering import Steering
    from cockpit.tui.widgets.run_pane import Transcript


class MainScreen(Screen[None]):
    """Panes per repo and per run, and a steering bar: the cockpit's first screen.

    ``select`` highlights a run once the snapshot is shown (and ``review`` opens its
    review); ``welcome`` is said once mounted (its ``{inbox}`` says what waits);
    ``bell`` rings the terminal's bell with each notice (finished, failed…).
    """

    def __init__(
        self,
        workspace: Workspace,
        session: EngineSession,
        router: CommandRouter,
        collector: Collector,
        *,
        select: str | None = None,
        review: bool = False,
        welcome: str | None = None,
        bell: bool = False,
    ) -> None:
        super().__init__()
        self.workspace = workspace
        self.session = session
        self.router = router
        self.collector = collector
        self.model = session.model
        #: A shell or an editor has the terminal (the app is suspended): no bell.
        self.outside = False
        self._initial_select = select
        #: Open the review screen on ``select`` once loaded (``cockpit review RUN``).
        self._initial_review = review
        self._welcome = welcome
        #: Ring the terminal's bell with each notice ([ui] bell).
        self._bell = bell
        self._snapshot_shown = False
        #: Set once the engine said runs are not confined by a sandbox here.
        self._unconfined = False
        #: Runs whose rows and pane are to be drawn again (at most once a frame).
        self._dirty: set[str] = set()
        self._throttle = RenderThrottle(self, collector, self._render_dirty)
        self._focus = PanelFocus(self)
        #: Whether a message in the prompt bar goes as steering (or continues a run);
        #: made with the first message sent.
        self._steering: Steering | None = None

    # --- layout -------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        with Horizontal(id="main"):
            yield RunList(id="runs")
            # A run shown first (`cockpit review RUN`, the demo) has its pane at once.
            yield DetailPane(id="detail", run_first=self._initial_select is not None)
        yield PromptBar(self.router.candidates, self._prompt_sent, id="prompt")
        yield Footer()

    def on_mount(self) -> None:
        run_list = self.query_one(RunList)
        run_list.focus()
        self.watch(run_list, "highlighted", self._highlight_moved, init=False)
        self.watch(self, "focused", self._focus.moved, init=False)
        self.session.attach(self)
        self.router.attach(self)
        # Usually the snapshot was read before the screen was built: its first frame
        # shows it (else the session's Opened does, when it comes).
        if self.session.snapshot_read.is_set():
            self._show_snapshot()
        self._update_counts()
        if self._welcome:
            self.notify(self._welcome_text(), title="Cockpit", timeout=20)
        # The app's clock, as the redraws are (see RenderThrottle).
        self.app.set_interval(1.0, self._tick)
        self.call_after_refresh(first_frame_drawn)

    @_while_mounted
    def _show_snapshot(self) -> None:
        """Fill the widgets from the snapshot read (once, whichever comes last of the
        mount and the read)."""
        if self._snapshot_shown:
            return
        run_list = self.query_one(RunList)
        run_list.rebuild(self.model)
        if not self.session.ready.is_set() and self.session.lost is not None:
            # No engine could be reached yet: the repos now, the runs once one answers.
            self._show_selected()
            self._update_counts()
            return
        self._snapshot_shown = True
        if self._initial_select:
            run_list.select(RunRow(self._initial_select))
            if self._initial_review:
                self.open_review(self._initial_select)
        self._show_selected()
        self._update_counts()
        # The session's reads that can wait start once this is drawn.
        self.call_after_refresh(self.session.snapshot_drawn.set)

    # --- what the session and the router say ----------------------------------------
    def on_engine_session_opened(self, _message: EngineSession.Opened) -> None:
        self._show_snapshot()
        self.app.set_timer(1.0, self.collector.settle)

    def on_engine_session_unconfined(self, message: EngineSession.Unconfined) -> None:
        """Without a sandbox, say so once, plainly, and keep saying it in the header."""
        self._unconfined = True
        self.notify(
            f"{message.detail} (see cockpit doctor)",
            title="No sandbox",
            severity="warning",
            timeout=20,
        )
        # The header says it once the notification is out: after the app has taken the
        # notification from its queue, where the header's update goes behind it.
        self.app.call_later(self._update_counts)

    def on_engine_session_lost(self, message: EngineSession.Lost) -> None:
        """No engine answers: said once; what the model has stays on the screen."""
        self.notify(message.line, title="Engine", severity="error", timeout=10)
        self._show_snapshot()  # when none was ever reached: the repos at least
        self._update_counts()

    def on_engine_session_back(self, _message: EngineSession.Back) -> None:
        self.notify("the engine is back: the runs are up to date", title="Engine", timeout=5)
        self._update_counts()

    def on_engine_session_noticed(self, message: EngineSession.Noticed) -> None:
        for notice in message.notices:
            self.notify(notice, severity="error" if "failed" in notice else "information")
            if self._bell and not self.outside:
                self.app.bell()

    @_while_mounted
    def on_engine_session_runs_changed(self, message: EngineSession.RunsChanged) -> None:
        if message.new_rows:
            self.query_one(RunList).rebuild(self.model)
        self._dirty |= message.run_ids
        self._throttle.request()

    @_while_mounted
    def on_engine_session_repos_changed(self, _message: EngineSession.ReposChanged) -> None:
        run_list = self.query_one(RunList)
        for name in self.model.repos:
            run_list.update_repo(self.model, name)
        self._show_selected()

    @_while_mounted
    def on_engine_session_older_loaded(self, message: EngineSession.OlderLoaded) -> None:
        pane = self.query_one(DetailPane).built_run_pane
        if pane is not None:
            pane.older_loaded(message.view, message.added)

    def on_transcript_wants_older(self, message: Transcript.WantsOlder) -> None:
        self.session.load_older(message.view)

    @_while_mounted
    def on_commands_show_run(self, message: Commands.ShowRun) -> None:
        run_list = self.query_one(RunList)
        if message.new:
            run_list.rebuild(self.model)
        run_list.select(RunRow(message.run_id))
        if message.review:
            self.open_review(message.run_id)

    @_while_mounted
    def on_commands_undelivered(self, message: Commands.Undelivered) -> None:
        prompt = self.query_one(PromptBar)
        if not prompt.value:
            prompt.value = message.text

    @_while_mounted
    def on_commands_restyled(self, _message: Commands.Restyled) -> None:
        # Rows and panes carry their colours in their text: drawn again, with the new ones.
        self._show_selected()
        self.query_one(RunList).rebuild(self.model)

    @_while_mounted
    def on_commands_pane_stale(self, _message: Commands.PaneStale) -> None:
        self._show_selected()

    # --- rendering ----------------------------------------------------------------
    @_while_mounted
    def _render_dirty(self) -> None:
        """Draw the rows and the pane of the runs that changed (see RenderThrottle)."""
        dirty, self._dirty = self._dirty, set()
        run_list = self.query_one(RunList)
        for run_id in dirty:
            run_list.update_run(self.model, run_id)
        selected = self.selected
        if isinstance(selected, RunRow) and selected.id in dirty:
            self._show_selected()
        self._update_counts()
        screen = self.app.screen
        if screen is not self:
            from cockpit.tui.screens.inbox import InboxScreen

            if isinstance(screen, InboxScreen):
                screen.refresh_items()

    def _welcome_text(self) -> str:
        """The welcome, its ``{inbox}`` saying what the inbox holds now (nothing when
        nothing waits: a question is only promised when one is there)."""
        items = self.model.waiting()
        if any(item.kind == "question" for item in items):
            hint = " (a question waits)"
        else:
            hint = f" ({len(items)} waiting on you)" if items else ""
        return self._welcome.replace("{inbox}", hint) if self._welcome else ""

    def _update_counts(self) -> None:
        if self.session.lost is not None:
            self.app.sub_title = f"{self.workspace.root} · {self.session.lost}"
            return
        counts = self.model.counts()
        self.app.sub_title = (
            f"{self.workspace.root} · {counts['running']} running · "
            f"{counts['queued']} queued · {len(self.model.waiting())} waiting on you"
            + (" · no sandbox: guard only" if self._unconfined else "")
        )

    @_while_mounted
    def _tick(self) -> None:
        self.collector.tick()
        pane = self.query_one(DetailPane).built_run_pane
        if pane is not None and pane.view is not None and pane.view.run.state.is_active:
            pane.refresh_header()

    # --- selection ----------------------------------------------------------------
    @property
    def selected(self) -> Row | None:
        """The highlighted run or repo."""
        return self.query_one(RunList).selected

    def selected_run_id(self) -> str | None:
        """The highlighted run's id (None when a repo, or nothing, is highlighted)."""
        selected = self.selected
        return selected.id if isinstance(selected, RunRow) else None

    def _selected_view(self) -> RunView | None:
        run_id = self.selected_run_id()
        return self.model.runs.get(run_id) if run_id else None

    def _highlight_moved(self, _old: int | None, _new: int | None) -> None:
        # Called by the run list's reactive as the highlight moves, in the same turn as
        # its rows are marked for repainting: the pane's new content then goes out in
        # the same frame as the moved highlight. (Its OptionHighlighted message arrives
        # a turn later, after a frame showing only the highlight had been drawn: a key's
        # effect then waited for the next screen update, up to 17 ms more.)
        self._show_selected()

    def _show_selected(self) -> None:
        self.query_one(DetailPane).show(self.selected, self.model)

    # --- the screens a key opens ----------------------------------------------------
    def open_review(self, run_id: str) -> None:
        """The review screen on a run; its outcome is notified when it closes."""
        view = self.model.runs.get(run_id)
        client = self.session.client
        if client is None or view is None:
            self.notify(self.session.lost or "the engine is still starting", severity="warning")
            return

        def closed(outcome: str | None) -> None:
            if outcome:
                self.notify(outcome, timeout=8)
            self._show_selected()

        # Imported on first use: the review screen brings the diff parser and a syntax
        # highlighter, which the cockpit's first frame has no need to wait for.
        from cockpit.tui.screens.review import ReviewScreen

        self.app.push_screen(ReviewScreen(client, view), closed)

    def action_findings(self) -> None:
        """The selected run's gate findings by file; picking one opens the diff there."""
        view = self._selected_view()
        if view is None:
            self.notify("f shows a run's gate findings: highlight a run")
            return

        def opened(place: Place | None) -> None:
            if place is not None:
                self.query_one(DetailPane).run_pane().diff_panel.jump(*place)

        from cockpit.tui.screens.findings import FindingsScreen

        gated = view.run.repo in self.model.gated_repos
        self.app.push_screen(FindingsScreen(view, gated=gated), opened)

    def action_guard(self) -> None:
        """The highlighted run's guard ledger, where a refusal can be overridden."""
        run_id = self.selected_run_id()
        if run_id is None:
            self.notify("l shows a run's guard ledger: highlight a run")
            return
        self.router.run(SlashCommand("guard", [run_id]))

    def action_inbox(self) -> None:
        def jump(run_id: str | None) -> None:
            if run_id:
                self.query_one(RunList).select(RunRow(run_id))
                self.query_one(RunList).focus()
                view = self.model.runs.get(run_id)
                if view is not None and view.run.state is RunState.FINISHED:
                    self.open_review(run_id)  # a run ready for review: straight to it

        from cockpit.tui.screens.inbox import InboxScreen

        self.app.push_screen(InboxScreen(self.model), jump)

    # --- acting on the highlighted run or repo ----------------------------------------
    def action_cancel_run(self) -> None:
        from cockpit.tui import decisions

        decisions.cancel(self.router)

    def action_resume_run(self) -> None:
        from cockpit.tui import decisions

        decisions.resume(self.router)

    def action_approve_run(self) -> None:
        from cockpit.tui import decisions

        decisions.approve(self.router)

    def action_reject_run(self) -> None:
        from cockpit.tui import decisions

        decisions.reject(self.router)

    def action_run_gates(self) -> None:
        from cockpit.tui import decisions

        decisions.verify(self.router)

    # --- outside the cockpit: a shell, an editor ------------------------------------
    def action_shell(self) -> None:
        """`!`: a shell ($SHELL) in the selected run's worktree; exit it to come back."""
        self._go_outside("!", "shell")

    def action_editor(self) -> None:
        """`E`: $EDITOR (else $VISUAL, else vi) on the selected run's changed files."""
        self._go_outside("E", "editor")

    def _go_outside(self, key: str, what: str) -> None:
        """The shell or the editor in the selected run's worktree (else one line saying
        why not); one at a time."""
        view = self._selected_view()
        if view is None:
            self.notify(f"{key} works in a run's worktree: highlight a run")
            return
        from cockpit.tui import outside

        worktree = outside.worktree_of(view)
        if not isinstance(worktree, Path):
            note, severity = worktree
            self.notify(note, severity=severity)
        elif not self.outside:
            self.outside = True
            self._visit(view, worktree, what)

    @work(group="outside")
    async def _visit(self, view: RunView, worktree: Path, what: str) -> None:
        """Hand the terminal over to the program, then come back as it was: the same
        selection and focus, the screen redrawn. The engine keeps running meanwhile."""
        from cockpit.tui import outside

        try:
            focused, selected = self.focused, self.selected
            code = await outside.visit(self.app, self.session.client, view, worktree, what)
            if code is None:
                return
            if selected and self.selected != selected:
                self.query_one(RunList).select(selected)
            if focused is not None and focused in self.focus_chain:
                focused.focus()
            self.session.fetch_diff(view.run.id)  # its files may have changed
            self._show_selected()
            self.app.refresh(layout=True)
            if code:
                self.notify(f"{what} exited with status {code}", severity="warning")
        finally:
            self.outside = False

    # --- the prompt bar -----------------------------------------------------------
    def action_prompt(self, prefix: str) -> None:
        self.query_one(PromptBar).open(prefix)

    def action_focus_panes(self) -> None:
        """Leave the prompt bar (escape): back to where the focus was before it."""
        self._return_focus()

    def _prompt_sent(self, text: str) -> None:
        """Enter in the prompt bar: the command or the message goes, and the focus goes
        back where it was (before the next key is read). What cannot go (a typo, a run
        that cannot be steered) stays in the bar, focused, with one line saying why."""
        prompt = self.query_one(PromptBar)
        if text.startswith("/"):
            try:
                command = parse(text)
            except CockpitError as exc:
                prompt.keep(text)
                self.notify(str(exc), severity="error")
                return
            if command.name == "steer" and not self._may_steer(*command.args, text):
                return
            self._return_focus()
            self.router.run(command)
            return
        run_id = self.selected_run_id()
        if run_id is None:
            prompt.keep(text)
            self.notify("select a run to steer (or use /steer RUN MESSAGE)", severity="warning")
            return
        if not self._may_steer(run_id, text, text):
            return
        self._return_focus()
        self.router.run(SlashCommand("steer", [run_id, text]))

    def _may_steer(self, ref: str, message: str, text: str) -> bool:
        """Whether ``message`` to run ``ref`` goes as steering (see cockpit.tui.steering);
        else ``text`` stays in the bar, or the run is continued with it."""
        from cockpit.tui.steering import Keep, SendBack, Steering

        if self._steering is None:
            self._steering = Steering(self.model)
        verdict = self._steering.judge(ref)
        if isinstance(verdict, SendBack):
            from cockpit.tui import decisions

            self._return_focus()
            decisions.send_back(self.router, verdict.run_id, message)
            return False
        if isinstance(verdict, Keep):
            self.query_one(PromptBar).keep(text)
            self.notify(verdict.note, severity="warning", timeout=verdict.timeout)
            return False
        return True

    # --- focus: the panels of the main screen --------------------------------------
    def _return_focus(self) -> None:
        """Focus the panel the prompt bar was opened from (or the first one left)."""
        self._focus.back()

    def cycle_panels(self, step: int) -> bool:
        """Tab / shift+tab while this screen is shown (False elsewhere: the screen's own
        order)."""
        if self.app.screen is not self:
            return False
        self._focus.cycle(step)
        return True

    # --- the panes ------------------------------------------------------------------
    def action_pane(self, what: str) -> None:
        """`e` expands tool output, `o` loads older transcript lines: in the selected run's
        pane, wherever the focus is."""
        self.query_one(DetailPane).transcript_key(what)

    def action_hunks(self) -> None:
        """`d`: show the selected run's diff hunks beside its transcript (tab reaches them
        then), or hide them again (the focus, if it was in them, goes back to the list)."""
        if self.query_one(DetailPane).toggle_hunks():
            self._focus.before_prompt = None
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
        rows: list[Row] = [RunRow(v.run.id) for v in self.model.shown_runs()]
        if not rows:
            return
        current = self.selected
        index = rows.index(current) if current in rows else -1
        self.query_one(RunList).select(rows[(index + step) % len(rows)])
