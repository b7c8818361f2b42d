"""The left-hand list: every repo, then every run, with live states. Focus starts here."""

from __future__ import annotations

import contextlib

from rich.text import Text
from textual.binding import Binding
from textual.events import Resize
from textual.reactive import reactive
from textual.widgets import OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from cockpit.tui.model import CockpitModel
from cockpit.tui.selection import RepoRow, Row, RunRow, parse_row, row_id
from cockpit.tui.widgets.glyphs import colour, run_mark, state_style
from engine.domain.state import RunState

#: Narrower than this (its content, in columns), the list's run rows drop the repo
#: column: glyph, id and as much of the task as fits.
COMPACT_BELOW = 40


class RunList(OptionList):
    """Repos and runs; the highlighted item is what the right-hand pane shows.

    Its rows are :class:`~cockpit.tui.selection.RunRow` and
    :class:`~cockpit.tui.selection.RepoRow` (:attr:`selected`, :meth:`select`); the option
    ids they become are the list's own business."""

    HELP_GROUP = "Runs list"
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="list.down"),
        Binding("k", "cursor_up", "Up", show=False, id="list.up"),
        Binding("g", "first", "First", show=False, id="list.first"),
        Binding("G", "last", "Last", show=False, id="list.last"),
    ]

    #: Moving the highlight repaints the two rows it leaves and enters, not every row
    #: (OptionList's own reactive repaints the whole list, on every key press).
    highlighted: reactive[int | None] = reactive(None, repaint=False)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        #: Run rows without their repo column (the list is narrow): see on_resize.
        self.compact = False
        self._model: CockpitModel | None = None

    def on_mount(self) -> None:
        self.watch(self, "highlighted", self._repaint_rows, init=False)

    def on_resize(self, event: Resize) -> None:
        # Rows are built for the list's width: crossing COMPACT_BELOW builds them again.
        # The highlighted row stays in sight (the list may have become a short box).
        compact = 0 < self.scrollable_content_region.width < COMPACT_BELOW
        if compact != self.compact:
            self.compact = compact
            if self._model is not None:
                self.rebuild(self._model)
        self.call_after_refresh(self.scroll_to_highlight)

    def _repaint_rows(self, old: int | None, new: int | None) -> None:
        self._update_lines()
        for index in (old, new):
            line = self._index_to_line.get(index) if index is not None else None
            if line is not None:
                self.refresh_lines(line, self._heights.get(index, 1))

    def rebuild(self, model: CockpitModel) -> None:
        """Re-render every row, keeping the highlighted item."""
        self._model = model
        current = self.highlighted_option.id if self.highlighted_option else None
        options: list[Option | None] = [Option(self._heading("REPOS"), id="h:repos", disabled=True)]
        for name, status in model.repos.items():
            options.append(Option(self._repo_row(model, name, status), id=row_id(RepoRow(name))))
        options.append(None)
        options.append(Option(self._heading("RUNS"), id="h:runs", disabled=True))
        if not model.runs:
            options.append(
                Option(
                    Text('  no runs yet — /run REPO "TASK"', style="italic"),
                    id="h:none",
                    disabled=True,
                )
            )
        for view in model.shown_runs():
            options.append(Option(self._run_row(view), id=row_id(RunRow(view.run.id))))
        hidden = model.hidden_count()
        if hidden:
            noun = "run" if hidden == 1 else "runs"
            options.append(
                Option(
                    Text(f"  {hidden} {noun} decided over a day ago — a shows", style="italic"),
                    id="h:hidden",
                    disabled=True,
                )
            )
        self.set_options(options)
        ids = [o.id for o in options if o is not None]
        if current in ids:
            self.highlighted = self._index_of(current)
        elif self.highlighted is None:
            first = next((o.id for o in options if o is not None and not o.disabled), None)
            if first:
                self.highlighted = self._index_of(first)

    def update_run(self, model: CockpitModel, run_id: str) -> None:
        """Re-render one run's row (cheap; used for streaming updates)."""
        view = model.runs.get(run_id)
        if view is None:
            return
        self._replace_if_changed(row_id(RunRow(run_id)), self._run_row(view))

    def _replace_if_changed(self, option_id: str, row: Text) -> None:
        # Streaming runs mark their row dirty on every event, but the row only changes
        # with state: replacing an unchanged prompt would re-render the whole list.
        with contextlib.suppress(OptionDoesNotExist):  # not there yet: the next rebuild adds it
            if self.get_option(option_id).prompt != row:
                self.replace_option_prompt(option_id, row)

    def update_repo(self, model: CockpitModel, name: str) -> None:
        """Re-render one repo's row."""
        row = self._repo_row(model, name, model.repos.get(name))
        self._replace_if_changed(row_id(RepoRow(name)), row)

    @property
    def selected(self) -> Row | None:
        """The highlighted run or repo (None: nothing, or a heading, is highlighted)."""
        option = self.highlighted_option
        return parse_row(option.id) if option else None

    def select(self, row: Row) -> None:
        """Highlight ``row`` (nothing happens when the list does not show it)."""
        index = self._index_of(row_id(row))
        if index is not None:
            self.highlighted = index

    def _index_of(self, item_id: str | None) -> int | None:
        if item_id is None:
            return None
        try:
            return self.get_option_index(item_id)
        except OptionDoesNotExist:
            return None

    def _heading(self, text: str) -> Text:
        return Text(text, style=f"bold {colour(self.app, 'foreground-muted')}")

    def _run_row(self, view) -> Text:
        run = view.run
        row = Text(" ", no_wrap=True, overflow="ellipsis")
        glyph, _, role = run_mark(run, bool(view.red_gates()))
        row.append(f"{glyph} ", style=f"bold {colour(self.app, role)}")
        row.append(f"{run.id} ", style="bold")
        if not self.compact:
            row.append(f"{run.repo:<8.8} ", style=colour(self.app, "secondary"))
        # A run that needs the human stands out in the state's colour.
        needs_you = run.state is RunState.WAITING_FOR_HUMAN
        row.append(run.task, style=state_style(self.app, run.state) if needs_you else "")
        return self._fit(row)

    def _fit(self, row: Text) -> Text:
        """One line per item: OptionList wraps long prompts; the CSS (``text-wrap:
        nowrap``, ``text-overflow: ellipsis``) cuts them at whatever width the list has,
        also before its first layout, when rows are built before the width is known."""
        return row

    def _repo_row(self, model: CockpitModel, name: str, status) -> Text:
        row = Text(" ", no_wrap=True, overflow="ellipsis")
        row.append(f"{name:<10.10} ", style="bold")
        if status is None:
            # Not read yet, or not readable at all: then say why (a missing path, a
            # folder that is no git repo), never "…" for ever.
            problem = model.repo_problems.get(name)
            if problem:
                row.append(f"✗ {problem}", style=colour(self.app, "error"))
                return self._fit(row)
            row.append("…", style="dim")
            return row
        row.append(status.branch or "(detached)", style=colour(self.app, "secondary"))
        if status.ahead or status.behind:
            row.append(f" ↑{status.ahead} ↓{status.behind}")
        dirty = len(status.dirty)
        if dirty:
            row.append(f" · {dirty} dirty", style=colour(self.app, "warning"))
        active = sum(1 for v in model.runs.values() if v.run.repo == name and v.run.state.is_active)
        if active:
            row.append(f" · {active} active", style=colour(self.app, "accent"))
        return self._fit(row)
