"""State glyphs, theme-aware styles and update helpers shared by the widgets."""

from __future__ import annotations

from rich.text import Text
from textual.app import App
from textual.color import Color
from textual.widgets import Static

from engine.domain.models import Run
from engine.domain.state import RunState

GLYPH = {
    RunState.QUEUED: "·",
    RunState.STARTING: "◌",
    RunState.RUNNING: "●",
    RunState.WAITING_FOR_HUMAN: "?",
    RunState.FINISHED: "✓",
    RunState.FAILED: "✗",
    RunState.CANCELLED: "⊘",
    RunState.INTERRUPTED: "‖",
}

#: Theme variable that colours each state.
STATE_COLOUR = {
    RunState.QUEUED: "foreground-muted",
    RunState.STARTING: "accent",
    RunState.RUNNING: "accent",
    RunState.WAITING_FOR_HUMAN: "warning",
    RunState.FINISHED: "success",
    RunState.FAILED: "error",
    RunState.CANCELLED: "foreground-muted",
    RunState.INTERRUPTED: "warning",
}


#: Marks of a finished run past its state: the human's decision, or red gates holding
#: it back (glyph, word, theme variable).
MERGED = ("◆", "merged", "success")
NOTHING_TO_MERGE = ("◇", "nothing to merge", "foreground-muted")
REJECTED = ("⊗", "rejected", "foreground-muted")
GATES_RED = ("!", "gates red", "error")


def run_mark(run: Run, gates_red: bool = False) -> tuple[str, str, str]:
    """What a run shows in lists and headers: (glyph, word, theme variable). A decided
    run shows its decision, a finished one whose blocking gates are red shows that,
    any other its state."""
    if run.decision == "rejected":
        return REJECTED
    if run.decision is not None:
        return NOTHING_TO_MERGE if run.nothing_to_merge else MERGED
    if gates_red and run.state is RunState.FINISHED:
        return GATES_RED
    return GLYPH[run.state], run.state.value.replace("_", " "), STATE_COLOUR[run.state]


def colour(app: App, variable: str) -> str:
    """A theme variable's colour as ``#rrggbb`` for Rich styles (so every theme applies).

    Some variables are translucent (``foreground-muted`` is ``#RRGGBBAA``); Rich takes no
    alpha, so they are composited over the theme's background.
    """
    variables = app.theme_variables
    value = variables.get(variable) or variables.get("foreground", "#ffffff")
    color = Color.parse(value)
    if color.a < 1:
        color = Color.parse(variables.get("background", "#000000")) + color
    return color.hex6


def state_style(app: App, state: RunState) -> str:
    """Bold theme colour of a state."""
    return f"bold {colour(app, STATE_COLOUR[state])}"


def human_duration(seconds: float | None) -> str:
    """``42s``, ``3m05s``, ``1h02m``."""
    if seconds is None:
        return "—"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def update_if_changed(static: Static, content: Text) -> None:
    """``Static.update`` relayouts the screen: skip it when nothing changed (panes are
    refreshed on every frame while runs stream), and repaint without a relayout when the
    new text takes as many lines as the old at the widget's width (a key press switching
    panes would otherwise pay for arranging every widget again)."""
    old = static.content
    if old == content:
        return
    width = static.content_region.width
    same_height = (
        isinstance(old, Text)
        and width > 0
        and _height(static, old, width) == _height(static, content, width)
    )
    static.update(content, layout=not same_height)


def _height(static: Static, text: Text, width: int) -> int:
    """Lines ``text`` wraps to at ``width`` cells."""
    return len(text.wrap(static.app.console, width))


#: Per shown gate status: its mark and theme colour.
GATE_BADGE = {
    "passed": ("✓", "success"),
    "failed": ("✗", "error"),
    "error": ("!", "error"),
    "unavailable": ("?", "warning"),
    "running": ("…", "accent"),
    "stale": ("~", "foreground-muted"),
}


def gate_badges(app: App, gates: list[tuple[str, str, int, bool]], label: str = "gates") -> Text:
    """``(name, status, findings, blocking)`` per gate as one line of badges: mark, name,
    the finding count of a failed gate, "(advisory)" for one that does not block."""
    line = Text(f" {label}:")
    for name, status, findings, blocking in gates:
        mark, role = GATE_BADGE.get(status, ("?", "warning"))
        count = f" {findings}" if status == "failed" and findings else ""
        advisory = "" if blocking else " (advisory)"
        line.append(f"  {mark} {name}{count}{advisory}", style=colour(app, role))
    return line
