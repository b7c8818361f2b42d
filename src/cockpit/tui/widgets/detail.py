"""The right-hand pane of the main screen: the highlighted run's or repo's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.widgets import ContentSwitcher

from cockpit.tui.model import CockpitModel, RunView
from cockpit.tui.selection import RepoRow, Row, RunRow
from cockpit.tui.widgets.repo_pane import RepoPane

# The run pane (its transcript, its diff panel) is built when first needed: see
# DetailPane.
if TYPE_CHECKING:
    from cockpit.tui.widgets.run_pane import RunPane

__all__ = ["DetailPane"]


class DetailPane(ContentSwitcher):
    """A :class:`RunPane` or a :class:`RepoPane`, whichever the highlighted row is; the
    run pane's keys (``e``, ``o``, ``d``) act here wherever the focus is.

    Unless a run is shown first (``run_first``), the run pane is built once the first
    frame is drawn, or when a run is shown before that: a first frame showing a repo
    does not wait for the transcript's and the diff panel's modules and widgets.
    """

    def __init__(self, *, run_first: bool = False, **kwargs: Any) -> None:
        super().__init__(initial="run-pane" if run_first else "repo-pane", **kwargs)
        #: The run pane, once made (see run_pane).
        self.built_run_pane: RunPane | None = _new_run_pane() if run_first else None

    def compose(self) -> ComposeResult:
        if self.built_run_pane is not None:
            yield self.built_run_pane
        yield RepoPane(id="repo-pane")

    def on_mount(self) -> None:
        if self.built_run_pane is None:
            self.call_after_refresh(self.run_pane)

    def run_pane(self) -> RunPane:
        """The run pane, made now if it was not yet (its widgets come when it is
        mounted: :meth:`RunPane.show` before that is drawn then)."""
        pane = self.built_run_pane
        if pane is None:
            pane = self.built_run_pane = _new_run_pane()
            pane.display = self.current == "run-pane"
            if self.is_attached:  # else the app is being torn down
                self.mount(pane, before=0)
        return pane

    def show(self, row: Row | None, model: CockpitModel) -> None:
        """Show ``row``'s pane, up to date (nothing changes for no row, or a run the
        model does not have)."""
        if isinstance(row, RunRow) and row.id in model.runs:
            pane = self.run_pane()
            self.current = "run-pane"
            view = model.runs[row.id]
            pane.show(view, gated=view.run.repo in model.gated_repos)
        elif isinstance(row, RepoRow):
            name = row.name
            self.current = "repo-pane"
            self.query_one(RepoPane).show(
                name,
                model.repo_paths[name],
                model.repos.get(name),
                model.repo_diffs.get(name),
                model,
                problem=model.repo_problems.get(name),
                gated=name in model.gated_repos,
            )

    def _run_view(self, key: str, what: str) -> RunView | None:
        """The run's view when the run pane shows one (else say why not)."""
        pane = self.built_run_pane
        if self.current != "run-pane" or pane is None or not pane.built or pane.view is None:
            self.notify(f"{key} {what}: highlight a run")
            return None
        return pane.view

    def transcript_key(self, what: str) -> None:
        """`e` expands tool output, `o` loads older transcript lines."""
        key, said = {
            "expand": ("e", "expands a run's tool output"),
            "older": ("o", "loads a run's older transcript lines"),
        }[what]
        view = self._run_view(key, said)
        if view is None:
            return
        transcript = self.run_pane().transcript
        if what == "expand":
            transcript.action_toggle_expand()
            shown = "expanded" if transcript.expanded else "collapsed"
            self.notify(f"tool output {shown}", timeout=2)
        elif transcript.has_older:
            transcript.action_older()
        else:
            self.notify(f"the whole transcript of {view.run.id} is shown", timeout=2)

    def toggle_hunks(self) -> bool:
        """`d`: show the run's diff hunks beside its transcript, or hide them again;
        whether the focus was in them and they are hidden now (it must go elsewhere)."""
        view = self._run_view("d", "shows a run's diff hunks")
        if view is None:
            return False
        if view.run.decided:
            self.notify(f"run {view.run.id} is {view.run.outcome}: its worktree's diff is gone")
            return False
        panel = self.run_pane().diff_panel
        was_focused = panel.query_one("#diff-hunks").has_focus
        panel.action_toggle_hunks()
        return was_focused and not panel.hunks


def _new_run_pane() -> RunPane:
    # Imported here: the first frame of a cockpit showing a repo does without it.
    from cockpit.tui.widgets.run_pane import RunPane

    return RunPane(id="run-pane")
