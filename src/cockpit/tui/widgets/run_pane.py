"""The pane of one sub-agent run: state line, live transcript, live diff of its worktree."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.events import MouseDown, MouseMove, MouseUp, Resize
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widgets import Static

from cockpit.render import state_reason
from cockpit.tui.model import COLLAPSE_AFTER, Entry, RunView
from cockpit.tui.widgets.diff_panel import DiffPanel
from cockpit.tui.widgets.glyphs import (
    colour,
    gate_badges,
    human_duration,
    run_mark,
    state_style,
    update_if_changed,
)
from cockpit.tui.widgets.log import Log
from engine.domain.models import Run

#: Entries written when a run is switched to while the pane's height is unknown; the
#: rest wait for the reader to scroll up.
SHOW_FIRST = 60
#: Fewest entries written on a switch. Otherwise the pane's height of them and a few
#: more (each entry is a line or more): the pane is full and can be scrolled up, which
#: is how the rest is asked for. (With no margin the pane could not be scrolled, and
#: the reset of the scroll position on a switch read as scrolling up to the top: every
#: switch then wrote the whole page.)
SHOW_AT_LEAST = 20
SHOW_MARGIN = 5


class Transcript(Log):
    """The run's transcript. Long tool results are collapsed unless expanded.

    Its scroll bar is its own last column, drawn with the lines (``render_line``) and
    dragged with the mouse like Textual's. Textual's ``ScrollBar`` is a widget of its
    own, repainted whole, through the per-line style pipeline, whenever the transcript
    grows or scrolls: with runs streaming that was 2.5-3.5 ms a frame for one column,
    and a key press waited for two such frames (p95 43-53 ms with it, 37-40 without).
    """

    HELP_GROUP = "Run pane"
    # `e` (expand) and `o` (older lines) are the app's keys: they work from the list too.

    class WantsOlder(Message):
        """The reader reached the top: load the previous page from the store."""

        def __init__(self, view: RunView) -> None:
            super().__init__()
            self.view = view

    def __init__(self, **kwargs) -> None:
        # min_width=1: RichLog renders at least 78 columns wide by default, which in a
        # narrower pane cut lines off behind a horizontal scrollbar instead of wrapping.
        super().__init__(
            wrap=True, markup=False, highlight=False, max_lines=5000, min_width=1, **kwargs
        )
        self._wrapped_at = 0
        self.expanded = False
        self._view: RunView | None = None
        self._shown = 0  # entries of the view already written
        self._held = 0  # entries at the front not written (shown on scrolling up)
        #: This render's scroll bar: (column, first thumb row, end row, thumb, track).
        self._bar: tuple[int, int, int, Strip, Strip] | None = None
        #: A render has begun and its bar is not worked out yet (see render_line).
        self._bar_due = False
        self._dragging = False

    # --- the scroll bar -------------------------------------------------------------
    def render_lines(self, crop: Region) -> list[Strip]:
        self._bar, self._bar_due = None, True
        try:
            return super().render_lines(crop)
        finally:
            self._bar, self._bar_due = None, False

    @property
    def _overflows(self) -> bool:
        """Whether there are more lines than the pane shows (so there is a bar)."""
        window = self.scrollable_content_region.height
        return window >= 1 and self.virtual_size.height > window

    def _scroll_bar(self) -> tuple[int, int, int, Strip, Strip] | None:
        """Where this render's thumb is (None when everything fits)."""
        region = self.scrollable_content_region
        if region.width < 2 or not self._overflows:
            return None
        window, total = region.height, self.virtual_size.height
        size = max(1, round(window * window / total))
        start = round(self.scroll_y / (total - window) * (window - size))
        base = self.rich_style
        colour = self.styles.scrollbar_color.rich_color
        thumb = Strip([Segment(" ", base + Style(bgcolor=colour))], 1)
        track = Strip([Segment(" ", base)], 1)
        return region.width - 1, start, start + size, thumb, track

    def render_line(self, y: int) -> Strip:
        line = super().render_line(y)
        if self._bar_due:
            # Worked out at the first line, once Log holds this render's style: before
            # render_lines got there, asking for it would walk the ancestors once more.
            self._bar, self._bar_due = self._scroll_bar(), False
        if self._bar is None:
            return line
        column, start, end, thumb, track = self._bar
        return Strip.join([line.crop(0, column), thumb if start <= y < end else track])

    def _bar_row(self, event: MouseDown | MouseMove) -> int | None:
        """The content row under the mouse, if it is over the scroll bar (or dragging)."""
        offset = event.get_content_offset_capture(self)
        region = self.scrollable_content_region
        if not self._dragging and offset.x != region.width - 1:
            return None
        return offset.y

    def _drag_to(self, row: int) -> None:
        height = self.scrollable_content_region.height
        fraction = min(1.0, max(0.0, row / max(1, height - 1)))
        self.scroll_to(y=round(fraction * self.max_scroll_y), animate=False)

    def on_mouse_down(self, event: MouseDown) -> None:
        if not self._overflows:
            return
        row = self._bar_row(event)
        if row is None:
            return
        self._dragging = True
        self.capture_mouse()
        self._drag_to(row)
        event.stop()

    def on_mouse_move(self, event: MouseMove) -> None:
        if self._dragging:
            row = self._bar_row(event)
            if row is not None:
                self._drag_to(row)

    def on_mouse_up(self, event: MouseUp) -> None:
        if self._dragging:
            self._dragging = False
            self.release_mouse()

    def show(self, view: RunView, revealed: int | None = None) -> None:
        """Render ``view`` from scratch (another run, expand toggled, older lines loaded).

        A run switched to shows only as many of its last entries as fill the pane (each
        is one line or more; SHOW_FIRST while its height is unknown), so a key press is
        not spent wrapping lines nobody sees; scrolling to the top reveals the rest. With
        ``revealed`` (entries just put in front), every entry is written and the reader
        stays on the line they were reading.
        """
        self._view = view
        self.clear()
        # The width lines are wrapped at (0 while the pane is hidden): see on_resize.
        self._wrapped_at = self.scrollable_content_region.width
        entries = list(view.entries)
        if revealed is None:
            height = self.scrollable_content_region.height
            wanted = max(height + SHOW_MARGIN, SHOW_AT_LEAST) if height else SHOW_FIRST
            start = max(0, len(entries) - wanted)
        else:
            start = 0
            self.auto_scroll = False
        self._held = start
        if revealed is None:
            self._write_all(entries[start:])
        else:
            self._write_all(entries[:revealed])
            anchor = len(self.lines)
            self._write_all(entries[revealed:])
            self.scroll_to(y=anchor, animate=False)
        self._shown = view.entries_total

    def _write_all(self, entries: list[Entry]) -> None:
        # One write of all the entries: each RichLog.write has a fixed cost (console
        # options, measuring, a refresh) that dominated switching to a long transcript.
        if entries:
            # Wrapped one column short of the pane: the last is the scroll bar's. (While
            # the width is unknown RichLog waits, then on_resize writes it all again.)
            width = self.scrollable_content_region.width
            self.write(
                Text("\n").join(self._render_entry(entry) for entry in entries),
                width=width - 1 if width > 1 else None,
            )

    def on_resize(self, event: Resize) -> None:
        # Written lines keep the width they were wrapped at: rewrap for the new width
        # (zoom, a resized terminal). Textual calls RichLog's own handler after this one.
        if self._view is not None and self.scrollable_content_region.width != self._wrapped_at:
            self.show(self._view)
        elif self.auto_scroll:
            # Only the height changed (the header above grew a line as the run ended):
            # a transcript following its end stays at it, as a write would keep it.
            self.scroll_end(animate=False, immediate=False, x_axis=False)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # Scrolling up to the very top shows earlier lines (like a chat client).
        if new_value == 0 and old_value > 0:
            self.action_older()
        if new_value >= self.max_scroll_y:
            self.auto_scroll = True

    @property
    def has_older(self) -> bool:
        """Whether entries before the first one shown exist (in memory or the store)."""
        return bool(self._held) or (self._view is not None and self._view.first_seq > 1)

    def action_older(self) -> None:
        """Entries held back in memory first, then the previous page from the store."""
        view = self._view
        if view is None:
            return
        if self._held:
            self.call_later(self.show, view, self._held)
        elif view.first_seq > 1:
            self.post_message(self.WantsOlder(view))

    def follow(self, view: RunView) -> None:
        """Append entries that arrived since the last call. A transcript that showed none
        yet is shown afresh (its first page read after it was selected: a pane of lines,
        not the whole page)."""
        if (
            view is not self._view
            or self.scrollable_content_region.width != self._wrapped_at
            or not self._shown
        ):
            self.show(view)
            return
        entries = list(view.entries)
        # The deque drops old entries; count from the end so nothing is written twice.
        new = view.entries_total - self._shown
        self._write_all(entries[max(0, len(entries) - new) :])
        self._shown = view.entries_total

    def action_toggle_expand(self) -> None:
        self.expanded = not self.expanded
        if self._view is not None:
            self.show(self._view)

    def _render_entry(self, entry: Entry) -> Text:
        app = self.app
        muted = colour(app, "foreground-muted")
        match entry.kind:
            case "text":
                return Text(entry.text)
            case "tool":
                return Text.assemble(("▶ ", colour(app, "accent")), (entry.text, "bold"))
            case "result":
                mark = (
                    ("✗ ", colour(app, "error"))
                    if entry.is_error
                    else ("✓ ", colour(app, "success"))
                )
                text = Text.assemble("  ", mark, (entry.text, muted))
                lines = entry.detail.rstrip("\n").splitlines()
                shown = lines if self.expanded or not entry.collapsible else lines[:COLLAPSE_AFTER]
                for line in shown:
                    text.append(f"\n    {line}", style=muted)
                if len(shown) < len(lines):
                    text.append(
                        f"\n    … {len(lines) - len(shown)} more lines (e expands)",
                        style="italic " + muted,
                    )
                return text
            case "you":
                return Text.assemble(
                    ("you › ", f"bold {colour(app, 'secondary')}"), entry.text, ("  (sent)", muted)
                )
            case "delivered":
                return Text.assemble(
                    ("✓ delivered › ", f"bold {colour(app, 'success')}"), entry.text
                )
            case "ask":
                return Text.assemble(
                    ("? asks you › ", f"bold {colour(app, 'warning')}"), (entry.text, "bold")
                )
            case "error":
                return Text.assemble(("✗ ", f"bold {colour(app, 'error')}"), entry.text)
            case "guard":
                mark = (
                    ("⛔ ", f"bold {colour(app, 'error')}")
                    if entry.is_error
                    else ("✓ ", f"bold {colour(app, 'success')}")
                )
                return Text.assemble(mark, (entry.text, "bold"), (f" · {entry.detail}", muted))
            case "file":
                return Text(f"  ± {entry.text}", style=colour(app, "secondary"))
            case "state":
                # A run stored before reasons stopped repeating the state still says
                # "cancelled (cancelled)": shown once.
                said = state_reason(entry.text, entry.detail)
                reason = f" ({said})" if said else ""
                return Text(f"— {entry.text}{reason} —", style=muted)
        return Text(f"── {entry.text} ──", style=muted)


class RunPane(Vertical):
    """Everything about one run."""

    HELP_GROUP = "Run pane"
    DEFAULT_CSS = """
    RunPane #run-decision {
        display: none;
        width: 1fr;
        height: 1fr;
        padding: 0 1;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.view: RunView | None = None
        #: The run's repo has gates (configured, or its pyproject's defaults).
        self.gated = False
        #: Its widgets are there (it is mounted): until then show() only keeps the view.
        self.built = False

    def compose(self) -> ComposeResult:
        yield Static(id="run-header")
        yield Static(id="run-gates")
        with Horizontal(id="run-body"):
            yield Transcript(id="transcript")
            yield DiffPanel(id="diff")
            yield Static(id="run-decision")

    def on_mount(self) -> None:
        if not self.query(Transcript):
            return  # the app is torn down before its widgets came
        self.built = True
        view, self.view = self.view, None
        if view is not None:  # shown before its widgets were there
            self.show(view, gated=self.gated)

    @property
    def transcript(self) -> Transcript:
        """The run's transcript (the pane is built)."""
        return self.query_one(Transcript)

    @property
    def diff_panel(self) -> DiffPanel:
        """The run's diff panel (the pane is built)."""
        return self.query_one(DiffPanel)

    def older_loaded(self, view: RunView, added: int) -> None:
        """Older lines of ``view`` came from the store: shown if the pane shows it."""
        if self.built and view is self.view:
            self.transcript.show(view, revealed=added)

    def show(self, view: RunView, *, gated: bool = False) -> None:
        """Switch to ``view`` (or refresh it); ``gated``: its repo has gates."""
        changed = view is not self.view
        self.view = view
        self.gated = gated
        if not self.built:
            return  # drawn once mounted
        self.refresh_header()
        transcript = self.transcript
        if changed:
            transcript.show(view)
        else:
            transcript.follow(view)
        # A decided run's worktree is gone and the diff it had (rejected parts and all)
        # is not what happened: its decision is shown instead.
        decided = view.run.decided
        diff = self.diff_panel
        decision = self.query_one("#run-decision", Static)
        diff.display = not decided
        decision.display = decided
        if decided:
            update_if_changed(decision, decision_text(self.app, view))
        else:
            diff.show(view)

    def refresh_header(self) -> None:
        """State, ids, elapsed time, tokens: cheap, also called by a 1 s clock."""
        view = self.view
        if view is None or not self.built:
            return
        run = view.run
        app = self.app
        head = Text()
        glyph, word, role = run_mark(run, bool(view.red_gates()))
        head.append(f" {glyph} {word} ", style=f"bold {colour(app, role)}")
        head.append(f" {run.id}", style="bold")
        head.append(f" · {run.repo} · {run.agent} · turn {run.turns_completed}")
        head.append(f" · {run_times(view)}")
        if view.input_tokens or view.output_tokens:
            head.append(f" · {view.input_tokens + view.output_tokens:,} tok")
        if view.cost_usd is not None:
            head.append(f" · ${view.cost_usd:.3f}")
        head.append(f"\n {run.task}", style="bold")
        if view.question:
            head.append("\n ? ", style=state_style(app, run.state))
            head.append(view.question, style="bold")
            hint = (
                "  — i opens the inbox: y allow once · a always for this run · n deny"
                if view.question_kind == "permission"
                else "  — type your answer below and press enter"
            )
            head.append(hint, style="italic")
        where = worktree_note(run)
        if where:
            head.append(f"\n {where}", style=colour(app, "foreground-muted"))
        extras = run_extras(view)
        if extras:
            head.append(f"\n {extras}", style=colour(app, "foreground-muted"))
        if run.error:
            head.append(f"\n ✗ {run.error}", style=colour(app, "error"))
        update_if_changed(self.query_one("#run-header", Static), head)
        update_if_changed(
            self.query_one("#run-gates", Static), run_gate_badges(app, view, self.gated)
        )


def run_times(view: RunView) -> str:
    """``active 12s · started 9m48s ago``: the time the run was at work, and the wall
    time since it first started only where labelled so (a run continued after a while
    idle was not working all along)."""
    active = view.active_seconds
    if active is None:
        return human_duration(None)
    shown = f"active {human_duration(active)}"
    since = view.since_start
    if since is not None and since - active >= 60:
        shown += f" · started {human_duration(since)} ago"
    return shown


def decision_text(app, view: RunView) -> Text:
    """What the human decided about a run, in place of its (removed) worktree's diff."""
    run = view.run
    event = view.review
    glyph, word, role = run_mark(run)
    base = (event.base if event is not None else "") or run.base or "the base"
    sha = (run.merge_sha or "")[:12]
    text = Text()
    text.append(f"{glyph} {word}", style=f"bold {colour(app, role)}")
    if run.decision == "rejected":
        salvage = event.salvage if event is not None else None
        text.append("\n\nThe run's work was thrown away")
        text.append(f"; it is saved in {salvage}" if salvage else "")
        text.append(".")
    elif run.nothing_to_merge:
        text.append(f"\n\n{base} already had every change (at {sha}): nothing was merged.")
    else:
        how = "squashed" if event is not None and event.squash else "merged"
        text.append(f"\n\n{how} into {base} as {sha}.")
        if event is not None and event.gates_overridden:
            text.append(
                f"\nGates overridden: {', '.join(event.gates_overridden)}.",
                style=colour(app, "warning"),
            )
    if run.decided_at is not None:
        text.append(f"\nDecided {run.decided_at.astimezone():%Y-%m-%d %H:%M}.")
    muted = colour(app, "foreground-muted")
    text.append("\n\nIts worktree and branch are removed.", style=muted)
    if run.merge_sha and not run.nothing_to_merge:
        text.append(f"\ngit show {sha} shows what landed.", style=muted)
    return text


def worktree_note(run: Run) -> str:
    """Where the run works: its worktree's path, "worktree removed" once decided, "" before
    it has one."""
    if not run.worktree:
        return ""
    return "worktree removed" if run.decided else f"worktree: {run.worktree}"


def run_extras(view: RunView) -> str:
    """The run's loaded skills and the guard's refusals, on one line ("" for neither)."""
    parts = []
    if view.skills:
        parts.append(f"skills: {', '.join(view.skills)}")
    refused = view.guard_refusals()
    if refused:
        parts.append(f"guard: {refused} refused (l: ledger)")
    return "   ".join(parts)


def run_gate_badges(app, view: RunView, configured: bool) -> Text:
    """The run's latest verdict of each gate as badges (stale ones marked so)."""
    if not view.gates:
        waiting = "no verdict yet" if configured else "none configured"
        return Text(f" gates: {waiting}", style="dim")
    return gate_badges(
        app,
        [
            (name, view.gate_status(name), len(g.findings), g.blocking)
            for name, g in sorted(view.gates.items())
        ],
    )
