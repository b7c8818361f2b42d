"""The pane of one repo: branch, upstream, dirty files, working-tree diff, its runs."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from cockpit.render import plural
from cockpit.tui.model import CockpitModel, RunView
from cockpit.tui.widgets.glyphs import GLYPH, colour, gate_badges, state_style, update_if_changed
from engine.domain.diffs import RepoStatus, WorktreeDiff


class RepoPane(VerticalScroll):
    """Read-only summary of one repo, refreshed when its files change."""

    HELP_GROUP = "Repo pane"

    def compose(self):
        yield Static(id="repo-body")

    def show(
        self,
        name: str,
        path: Path,
        status: RepoStatus | None,
        diff: WorktreeDiff | None,
        model: CockpitModel,
        problem: str | None = None,
        gated: bool = True,
    ) -> None:
        """Render the repo ``name``: ``problem`` says why its path is no git repo (its
        status is then never read), ``gated`` whether it has any gate to run."""
        app = self.app
        text = Text()
        text.append(f" {name}", style="bold")
        text.append(f"  {path}\n", style=colour(app, "foreground-muted"))
        if problem is not None:
            text.append(f" ✗ {problem}\n", style=f"bold {colour(app, 'error')}")
            text.append(
                " fix its path in cockpit.toml (or the folder); runs cannot start here\n",
                style="dim",
            )
        elif status is None:
            text.append(" reading git status…\n", style="italic")
        else:
            text.append(" branch ", style="dim")
            text.append(
                status.branch or "(detached HEAD)", style=f"bold {colour(app, 'secondary')}"
            )
            if status.upstream:
                text.append(f"  ↑{status.ahead} ↓{status.behind} vs {status.upstream}")
            else:
                text.append("  (no upstream)", style="dim")
            text.append("\n")
            if status.dirty:
                dirty = plural(len(status.dirty), "dirty file")
                text.append(f" {dirty}\n", style=colour(app, "warning"))
                for code, file in status.dirty[:15]:
                    text.append(f"   {code:>2} {file}\n")
                if len(status.dirty) > 15:
                    text.append(f"   … {len(status.dirty) - 15} more\n", style="italic")
            else:
                text.append(" working tree clean\n", style=colour(app, "success"))
        if diff is not None and diff.files:
            changed = plural(len(diff.files), "file")
            text.append(f" working tree vs HEAD: {changed} ", style="bold")
            text.append(f"+{diff.added}", style=colour(app, "success"))
            text.append(f" -{diff.removed}\n", style=colour(app, "error"))
            for f in diff.files[:15]:
                text.append(f"   {f.status} {f.path} +{f.added} -{f.removed}\n")
        at, results = model.repo_gates.get(name, (None, None))
        if not gated and results is None:
            where = f"[[repos.{name}.gates]] in cockpit.toml"
            text.append(f" gates: none configured ({where})\n", style="dim")
        elif problem is not None and results is None:
            pass  # no tree to run them on
        elif at is None:
            text.append(" gates: not run on the working tree — v runs them\n", style="dim")
        elif results is None:
            text.append(" gates: running on the working tree…\n", style=colour(app, "accent"))
        else:
            badges = [(r.name, r.status.value, len(r.findings), r.blocking) for r in results]
            label = f"gates on the working tree at {at.astimezone():%H:%M:%S}"
            text.append_text(
                gate_badges(app, badges, label)
                if results
                else Text(" gates: none configured", style="dim")
            )
            text.append("\n")
            for result in results:
                for f in result.findings[:10]:
                    where = f.path + (f":{f.line}" if f.line else "")
                    text.append(f"   {result.name}: {where} {f.code} {f.message}\n", style="dim")
        runs = [v for v in model.runs.values() if v.run.repo == name]
        text.append(f"\n runs ({len(runs)})\n", style="bold")
        for view in runs[-20:]:
            run = view.run
            text.append(f"   {GLYPH[run.state]} ", style=state_style(app, run.state))
            text.append(f"{run.id} {_state_of(view):<18} {run.task}\n")
        update_if_changed(self.query_one("#repo-body", Static), text)


def _state_of(view: RunView) -> str:
    """A run's state as the repo pane says it: a decided run says what became of it."""
    review = view.review
    if review is None:
        return view.run.state.value
    if review.decision == "approved":
        return f"merged {(review.sha or '')[:8]}"
    return "rejected"
