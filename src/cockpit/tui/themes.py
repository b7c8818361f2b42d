"""Colour themes: shipped TOML themes plus user themes, loaded into Textual.

A theme file is a small TOML document::

    name = "my-theme"
    dark = true
    primary = "#5AA9FF"
    secondary = "#9A8CFF"
    accent = "#FFB454"
    foreground = "#DCE1EA"
    background = "#12151C"
    surface = "#1A1E27"
    panel = "#252B37"
    success = "#5CCF8A"
    warning = "#F2C35B"
    error = "#F0707A"
    # boost = "#FFFFFF10"            (optional)

    [variables]                       # optional Textual theme variables
    "footer-key-foreground" = "#FFB454"

Themes are read from the shipped ``themes/`` folder, then from
``$XDG_CONFIG_HOME/cockpit/themes`` and ``<workspace>/themes``; a later folder
overrides an earlier one by theme name. A broken file never stops start-up: it is
reported as a one-line error string instead.
"""

from __future__ import annotations

import dataclasses
import os
import reprlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from rich.color import Color as RichColor
from rich.color import ColorSystem
from rich.color_triplet import ColorTriplet
from rich.style import Style
from rich.terminal_theme import TerminalTheme
from textual.app import App
from textual.color import Color, ColorParseError
from textual.theme import Theme

from cockpit.tui.settings import load_settings, save_settings
from cockpit.tui.ui_config import lenient_bool
from engine.domain.errors import CockpitError

__all__ = [
    "DEFAULT_THEME",
    "MIN_CONTRAST",
    "SHIPPED_THEMES",
    "ThemeFile",
    "ThemeFileError",
    "contrast_ratio",
    "legible",
    "load_theme_file",
    "load_themes",
    "register_themes",
    "shipped_themes_dir",
    "switch_theme",
    "themed_style",
    "user_themes_dirs",
]

DEFAULT_THEME = "cockpit-dark"
"""The theme used when the user has not chosen one."""

SHIPPED_THEMES = ("cockpit-dark", "cockpit-light", "cockpit-high-contrast")
"""Names of the themes shipped in the repository's ``themes/`` folder."""


class ThemeFileError(Exception):
    """A theme file could not be read or validated; ``str()`` is one line naming the file."""


@dataclass(frozen=True, kw_only=True)
class ThemeFile:
    """The validated contents of one theme TOML file.

    Build it with :meth:`from_toml`, which checks the data; the constructor trusts its
    arguments. (Checked by hand rather than with pydantic, which costs the cockpit's
    start-up more than everything else here.)
    """

    name: str
    dark: bool
    primary: str
    secondary: str
    accent: str
    foreground: str
    background: str
    surface: str
    panel: str
    success: str
    warning: str
    error: str
    boost: str | None = None
    variables: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_toml(cls, data: Mapping[str, Any]) -> ThemeFile:
        """Check the parsed TOML of a theme file and build it.

        ``name`` is stripped and must not be empty, the colours must be ones Textual
        parses, ``boost`` and ``variables`` may be left out, and no other key is allowed.

        Raises:
            ValueError: every problem found, on one line, e.g.
                ``primary: not a colour: 'bleu' (did you mean 'blue'?); unknown key 'sparkle'``.
        """
        problems: list[str] = []
        values: dict[str, Any] = {}
        for spec in dataclasses.fields(cls):
            key = spec.name
            if key not in data:
                if (
                    spec.default is dataclasses.MISSING
                    and spec.default_factory is dataclasses.MISSING
                ):
                    problems.append(f"missing key {key!r}")
                continue
            try:
                values[key] = _CHECKS[key](data[key])
            except ValueError as exc:
                problems.append(f"{key}: {exc}")
        problems += [f"unknown key {key!r}" for key in data if key not in _CHECKS]
        if problems:
            raise ValueError("; ".join(problems))
        return cls(**values)

    def to_theme(self) -> Theme:
        """Convert to a Textual :class:`~textual.theme.Theme`."""
        return Theme(
            name=self.name,
            dark=self.dark,
            primary=self.primary,
            secondary=self.secondary,
            accent=self.accent,
            foreground=self.foreground,
            background=self.background,
            surface=self.surface,
            panel=self.panel,
            success=self.success,
            warning=self.warning,
            error=self.error,
            boost=self.boost,
            variables=dict(self.variables),
        )


# --- checks of single values: each returns the value to keep or raises ValueError ----------


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {reprlib.repr(value)}")
    return value


def _name(value: object) -> str:
    name = _string(value).strip()
    if not name:
        raise ValueError("must not be empty")
    return name


def _bool(value: object) -> bool:
    # As a theme once said it when pydantic read it: ``dark = "yes"`` keeps loading.
    read = lenient_bool(value)
    if read is not None:
        return read
    raise ValueError(f"expected true or false, got {reprlib.repr(value)}")


def _colour(value: object) -> str:
    text = _string(value)
    try:
        Color.parse(text)
    except ColorParseError as exc:
        hint = f" (did you mean {exc.suggested_color!r}?)" if exc.suggested_color else ""
        raise ValueError(f"not a colour: {text!r}{hint}") from exc
    except ValueError as exc:  # not documented by Textual, but must not stop start-up
        raise ValueError(f"not a colour: {text!r}") from exc
    return text


def _variables(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a table, got {reprlib.repr(value)}")
    for key, item in value.items():
        if not isinstance(item, str):
            raise ValueError(f"expected a string for {key!r}, got {reprlib.repr(item)}")
    return dict(value)


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "name": _name,
    "dark": _bool,
    **dict.fromkeys(
        (
            "primary",
            "secondary",
            "accent",
            "foreground",
            "background",
            "surface",
            "panel",
            "success",
            "warning",
            "error",
            "boost",
        ),
        _colour,
    ),
    "variables": _variables,
}
"""The check of each key a theme file may have."""


def shipped_themes_dir() -> Path:
    """The repository's ``themes/`` folder holding the shipped themes."""
    return Path(__file__).resolve().parents[3] / "themes"


def _config_home() -> Path:
    xdg = os.environ.get("XDG_CONFIG_HOME", "").strip()
    return Path(xdg) if xdg else Path.home() / ".config"


def user_themes_dirs(workspace_root: Path | None) -> list[Path]:
    """Folders searched for user themes, lowest precedence first.

    ``$XDG_CONFIG_HOME/cockpit/themes`` (default ``~/.config/cockpit/themes``) and, when
    ``workspace_root`` is given, ``<workspace_root>/themes``. The folders need not exist.
    """
    dirs = [_config_home() / "cockpit" / "themes"]
    if workspace_root is not None:
        dirs.append(Path(workspace_root) / "themes")
    return dirs


def load_theme_file(path: Path) -> Theme:
    """Read and validate one theme file.

    Raises:
        ThemeFileError: the file is unreadable, not valid TOML or not a valid theme;
            the message is a single line that names the file.
    """
    import tomllib  # on use: a cockpit without theme files starts without it

    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ThemeFileError(f"theme {path}: cannot read: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        detail = " ".join(str(exc).split())
        raise ThemeFileError(f"theme {path}: invalid TOML: {detail}") from exc
    try:
        theme_file = ThemeFile.from_toml(data)
    except ValueError as exc:
        raise ThemeFileError(f"theme {path}: {exc}") from exc
    return theme_file.to_theme()


def load_themes(dirs: Iterable[Path]) -> tuple[list[Theme], list[str]]:
    """Load every ``*.toml`` theme in ``dirs`` (missing folders are skipped).

    Returns:
        ``(themes, errors)``: the themes, deduplicated by name with later folders
        overriding earlier ones (order of first appearance kept), and one line per
        broken file.
    """
    themes: dict[str, Theme] = {}
    errors: list[str] = []
    for folder in dirs:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                theme = load_theme_file(path)
            except ThemeFileError as exc:
                errors.append(str(exc))
                continue
            themes[theme.name] = theme
    return list(themes.values()), errors


def register_themes(app: App[Any], workspace_root: Path | None) -> list[str]:
    """Register the shipped and user themes on ``app`` beside Textual's own.

    Returns the one-line errors of broken theme files (never raises for them), for the
    app to show as notifications.
    """
    themes, errors = load_themes([shipped_themes_dir(), *user_themes_dirs(workspace_root)])
    for theme in themes:
        app.register_theme(theme)
    return errors


def switch_theme(app: App[Any], name: str) -> None:
    """Switch ``app`` to theme ``name`` and remember the choice (the settings file);
    CockpitError, naming the shipped themes, when there is no such theme."""
    if name not in app.available_themes:
        shipped = sorted(t for t in app.available_themes if t.startswith("cockpit"))
        raise CockpitError(f"unknown theme '{name}' (try: {', '.join(shipped)})")
    app.theme = name
    settings = load_settings()
    settings.theme = name
    save_settings(settings)


# --- legibility ---------------------------------------------------------------------------

MIN_CONTRAST = 4.5
"""The least contrast ratio (WCAG 2, normal text) of text against its background."""

_BLACK = ColorTriplet(0, 0, 0)
_WHITE = ColorTriplet(255, 255, 255)


def _luminance(rgb: ColorTriplet) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast_ratio(a: ColorTriplet, b: ColorTriplet) -> float:
    """WCAG 2 contrast ratio of two colours, 1 to 21."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _in_256(rgb: ColorTriplet) -> ColorTriplet:
    """The colour a 256-colour terminal shows for ``rgb``."""
    return RichColor.from_triplet(rgb).downgrade(ColorSystem.EIGHT_BIT).get_truecolor()


def _blend(a: ColorTriplet, b: ColorTriplet, amount: float) -> ColorTriplet:
    return ColorTriplet(*(round(x + (y - x) * amount) for x, y in zip(a, b, strict=True)))


@lru_cache(maxsize=4096)
def legible(fg: ColorTriplet, bg: ColorTriplet, minimum: float = MIN_CONTRAST) -> ColorTriplet:
    """``fg``, moved just far enough towards black or white (whichever ``bg`` is
    further from) to reach ``minimum`` contrast against ``bg``, both as drawn in true
    colour and as a 256-colour terminal shows them."""

    def enough(colour: ColorTriplet) -> bool:
        return (
            contrast_ratio(colour, bg) >= minimum
            and contrast_ratio(_in_256(colour), _in_256(bg)) >= minimum
        )

    if enough(fg):
        return fg
    target = _BLACK if contrast_ratio(_BLACK, bg) >= contrast_ratio(_WHITE, bg) else _WHITE
    for step in range(1, 21):
        moved = _blend(fg, target, step / 20)
        if enough(moved):
            return moved
    return target


def _triplet(colour: RichColor, theme: TerminalTheme, *, foreground: bool) -> ColorTriplet:
    return colour.get_truecolor(theme, foreground=foreground)


@lru_cache(maxsize=8192)
def themed_style(style: Style | None, base: Style, terminal: TerminalTheme) -> Style:
    """``style`` drawn over ``base`` (a widget's theme colours) with nothing left to the
    terminal: an explicit true-colour foreground and background (ANSI and default
    colours resolved, ``dim`` turned into a muted colour), the foreground legible on
    the background (:func:`legible`)."""
    full = base + style if style is not None else base
    fg_colour = full.color or base.color or RichColor.default()
    bg_colour = full.bgcolor or base.bgcolor or RichColor.default()
    fg = _triplet(fg_colour, terminal, foreground=True)
    bg = _triplet(bg_colour, terminal, foreground=False)
    if full.reverse:
        fg, bg = bg, fg
    if full.dim:
        fg = _blend(fg, bg, 0.35)
    fg = legible(fg, bg)
    return full + Style(
        color=RichColor.from_triplet(fg),
        bgcolor=RichColor.from_triplet(bg),
        dim=False,
        reverse=False,
    )
