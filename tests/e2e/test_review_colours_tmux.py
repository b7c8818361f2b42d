"""The review in `cockpit-light` on a 256-colour tmux (``TERM=tmux-256color``, no true
colour) draws every cell in the theme's colours: ``capture-pane -e`` shows no text cell
with the terminal's default foreground or background (SGR 39/49, or no colour at all),
which on a terminal whose own colours are dark would make the text vanish."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_demo_tmux import COCKPIT, STARTUP, run_ids, step1_visible, wait_ready
from tmuxkit import TMUX, Tmux

pytestmark = pytest.mark.skipif(
    TMUX is None, reason="the tmux binary is not installed (it is on CI machines)"
)

SGR = re.compile(r"\x1b\[([0-9;:]*)m")


@dataclass
class Cell:
    y: int
    x: int
    char: str
    fg: str | None  # None: the terminal's default
    bg: str | None


def cells(captured: str) -> list[Cell]:
    """The screen's cells with the colours ``capture-pane -e -p`` gives them."""
    found: list[Cell] = []
    fg: str | None = None
    bg: str | None = None
    for y, line in enumerate(captured.split("\n")):
        x = 0
        pos = 0
        for match in [*SGR.finditer(line), None]:
            end = match.start() if match else len(line)
            for char in line[pos:end]:
                found.append(Cell(y, x, char, fg, bg))
                x += 1
            if match is None:
                break
            pos = match.end()
            params = [int(p) if p else 0 for p in re.split("[;:]", match.group(1))]
            i = 0
            while i < len(params):
                p = params[i]
                if p == 0:
                    fg = bg = None
                elif p == 39:
                    fg = None
                elif p == 49:
                    bg = None
                elif p in (38, 48) and i + 1 < len(params):
                    size = 3 if params[i + 1] == 5 else 5
                    value = ";".join(map(str, params[i : i + size]))
                    fg, bg = (value, bg) if p == 38 else (fg, value)
                    i += size - 1
                elif 30 <= p <= 37 or 90 <= p <= 97:
                    fg = str(p)
                elif 40 <= p <= 47 or 100 <= p <= 107:
                    bg = str(p)
                i += 1
    return found


def defaults(captured: str) -> list[Cell]:
    """Text cells drawn with a default colour, and any cell on the default background."""
    return [
        cell
        for cell in cells(captured)
        if cell.bg is None or (not cell.char.isspace() and cell.fg is None)
    ]


def test_the_parser_sees_default_colours() -> None:
    drawn = "\x1b[38;5;16m\x1b[48;5;188mab\x1b[39mc\x1b[49m \n\x1b[0md"
    assert [(c.char, c.fg, c.bg) for c in defaults(drawn)] == [
        ("c", None, "48;5;188"),
        (" ", None, None),
        ("d", None, None),
    ]


@pytest.mark.timeout(240)
def test_review_in_cockpit_light_on_256_colours_has_no_default_colours(tmp_path: Path) -> None:
    config_home = tmp_path / "xdg-config"
    (config_home / "cockpit").mkdir(parents=True)
    (config_home / "cockpit" / "settings.json").write_text(json.dumps({"theme": "cockpit-light"}))
    tmux = Tmux(session="light", width=160, height=48)
    try:
        tmux.start(
            [str(COCKPIT), "demo", "--dir", str(tmp_path / "demo")],
            env={
                "XDG_CONFIG_HOME": str(config_home),
                "TERM": "tmux-256color",
                "COLORTERM": "",  # no true colour
                "TEXTUAL_COLOR_SYSTEM": "auto",
            },
        )
        wait_ready(tmux)
        api = run_ids(tmux.wait_until(step1_visible, "the three runs", STARTUP))["api"]
        tmux.press("i")
        row = tmux.wait_for_re(rf"(\d)\s+review\s+{api}\s+ready for review")
        tmux.press(row.group(1))
        tmux.wait_for(f"Review {api}", "M api/app.py", "@@ -1,8 +1,15 @@", "Limiter")
        tmux.press("n", "j", "j")  # the cursor on the hunk's lines

        def drawn_in_256(_: str) -> bool:
            captured = tmux.tmux("capture-pane", "-e", "-p", "-t", tmux.session).stdout
            return "38;5;" in captured and "38;2;" not in captured and "Limiter" in captured

        tmux.wait_until(drawn_in_256, "the review drawn in 256 colours")
        captured = tmux.tmux("capture-pane", "-e", "-p", "-t", tmux.session).stdout
        found = defaults(captured)
        assert not found, "\n".join(
            f"row {c.y} col {c.x} {c.char!r}: fg {c.fg or 'default'}, bg {c.bg or 'default'}"
            for c in found[:40]
        )
    finally:
        tmux.kill()
