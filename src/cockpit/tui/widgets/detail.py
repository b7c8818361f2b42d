"""The right-hand pane of the main screen: the highlighted run's or repo's."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import ContentSwitcher

from cockpit.tui.model import CockpitModel, RunView
from cockpit.tui.selection import RepoRow, Row, RunRow
from cockpit.tui.widgets.diff_panel import DiffPanel
from cockpit.tui.widgets.repo_pane import RepoPane
from cockpit.tui.widgets.run_pane import RunPane, Transcript

__all__ = ["DetailPane"]


class DetailPane(ContentSwitcher):
    """A :class:`RunPane` or a :class:`RepoPane`, whichever the highlighted row is; the
    run pane's keys (``e``, ``o``, ``d``) act here wherever the focus is."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(initial="run-pane", **kwargs)

    def compose(self) -> ComposeResult:
        yield RunPane(id="run-pane")
        yield RepoPane(id="repo-pane")

    def show(self, row: Row | None, model: CockpitModel) -> None:
        """Show ``row``'s pane, up to date (nothing changes for no row, or a run the
        model does not have)."""
        if isinstance(row, RunRow) and row.id in model.runs:
            self.current = "run-pane"
            view = model.runs[row.id]
            self.query_one(RunPane).show(view, gated=view.run.repo in model.gated_repos)
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
        pane = self.query_one(RunPane)
        if self.current != "run-pane" or pane.view is None:
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
        transcript = self.query_one(Transcript)
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
        panel = self.query_one(DiffPanel)
        was_focused = panel.query_one("#diff-hunks").has_focus
        panel.action_toggle_hunks()
        return was_focused and not panel.hunks
