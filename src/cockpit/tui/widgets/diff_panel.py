"""The run's live diff: files changed against its base, expandable to the hunks, with
gate findings in the gutter of the lines they flag."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from cockpit.render import plural
from cockpit.tui.diff_lines import DiffLine, diff_lines, flags_by_file
from cockpit.tui.model import RunView
from cockpit.tui.widgets.glyphs import colour, update_if_changed
from cockpit.tui.widgets.log import Log

#: Files listed in the summary.
SUMMARY_FILES = 30


class DiffPanel(Vertical):
    """Files changed in the run's worktree against its base, expandable to the hunks."""

    HELP_GROUP = "Run pane"
    # `d` (toggle the hunks) is the app's key: it works from the list and the transcript.

    def compose(self) -> ComposeResult:
        yield Static(id="diff-summary")
        yield Log(id="diff-hunks", wrap=False, markup=False, highlight=False)

    def on_mount(self) -> None:
        self.hunks = False
        self.query_one("#diff-hunks").display = False
        # What is on screen: a diff is redrawn only when the view, its diff or its
        # verdicts change.
        self._shown: object = None
        self._shown_view: RunView | None = None
        self._view: RunView | None = None
        #: Where each (path, new line) is in the hunks log, for jumping to a finding.
        self.places: dict[tuple[str, int | None], int] = {}

    def show(self, view: RunView) -> None:
        """Render the view's last known diff."""
        self._view = view
        summary = self.query_one("#diff-summary", Static)
        diff = view.diff
        key = (diff, tuple((g.name, g.seq) for g in view.gates.values()))
        if key == self._shown and view is self._shown_view:
            return
        self._shown, self._shown_view = key, view
        hunks = self.query_one("#diff-hunks", Log)
        if diff is None:
            update_if_changed(summary, Text("no diff yet", style="italic"))
            hunks.clear()
            return
        flags = flags_by_file(
            [(name, g.findings) for name, g in view.gates.items() if g.status != "running"]
        )
        app = self.app
        text = Text()
        text.append(f"{plural(len(diff.files), 'file')}  ", style="bold")
        text.append(f"+{diff.added}", style=colour(app, "success"))
        text.append(f" -{diff.removed}\n", style=colour(app, "error"))
        for f in diff.files[:SUMMARY_FILES]:
            text.append(f" {f.status} ", style=f"bold {colour(app, 'accent')}")
            text.append(f.path)
            text.append(f"  +{f.added}", style=colour(app, "success"))
            text.append(f" -{f.removed}", style=colour(app, "error"))
            flagged = sum(len(v) for v in flags.get(f.path, {}).values())
            if flagged:
                text.append(f"  ✗ {flagged}", style=colour(app, "error"))
            text.append("\n")
        if len(diff.files) > SUMMARY_FILES:
            more = plural(len(diff.files) - SUMMARY_FILES, "more file", "more files")
            text.append(f" … {more}\n", style="italic")
        update_if_changed(summary, text)
        hunks.clear()
        self.places = {}
        if not self.hunks:
            return
        rendered: list[Text] = []
        for f in diff.files:
            if not f.patch:
                continue
            for line in diff_lines(f.path, f.patch, flags.get(f.path, {})):
                if line.kind == "file":
                    self.places[(f.path, None)] = len(rendered)
                elif line.number is not None and (f.path, line.number) not in self.places:
                    self.places[(f.path, line.number)] = len(rendered)
                rendered.append(self._line_text(line))
        # One write: each RichLog write has a fixed cost.
        hunks.write(Text("\n").join(rendered))

    def _line_text(self, line: DiffLine) -> Text:
        app = self.app
        error = colour(app, "error")
        muted = colour(app, "foreground-muted")
        if line.kind == "file":
            return Text(f"▌ {line.text}", style=f"bold {colour(app, 'accent')}")
        if line.kind == "hunk":
            return Text(line.text, style=colour(app, "secondary"))
        if line.kind == "finding":
            return Text.assemble(("      ✗ ", f"bold {error}"), (line.text, error))
        gutter = f"{line.number:>4}" if line.number is not None else "    "
        mark = ("✗", f"bold {error}") if line.flagged else (" ", "")
        style = {"add": colour(app, "success"), "del": error}.get(line.kind, "")
        return Text.assemble((gutter, muted), mark, " ", (line.text, style))

    def action_toggle_hunks(self) -> None:
        self.hunks = not self.hunks
        self.query_one("#diff-hunks").display = self.hunks
        self._shown_view = None
        self._redraw()

    def jump(self, path: str, line: int | None) -> None:
        """Open the hunks at a finding's line (or its file's first line)."""
        if not self.hunks:
            self.hunks = True
            self.query_one("#diff-hunks").display = True
        self._shown_view = None
        self._redraw()
        y = self.places.get((path, line), self.places.get((path, None)))
        if y is not None:
            self.query_one("#diff-hunks", Log).scroll_to(y=max(0, y - 2), animate=False)

    def _redraw(self) -> None:
        if self._view is not None:
            self.show(self._view)
