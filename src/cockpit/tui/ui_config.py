"""The full-screen cockpit's own sections of ``cockpit.toml``: ``[ui]`` (look and feel)
and ``[keys]`` (binding id → key). The engine keeps them as written and never reads
them; the cockpit checks them here, and a mistake is one line naming the file, the key
and its line, as the engine's own sections get.

Checked by hand rather than with pydantic, whose import would cost the cockpit's start-up
more than everything else here.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cockpit.client.local import config_mistake, read_toml
from engine.domain.errors import ConfigError

if TYPE_CHECKING:
    from cockpit.client.local import Workspace


@dataclass(frozen=True, kw_only=True)
class UiConfig:
    """``[ui]``: look and feel of the terminal cockpit."""

    #: A theme's name; the user's own choice (``t``) wins once made.
    theme: str | None = None
    #: Ring the terminal's bell when a run needs the human.
    bell: bool = False


@dataclass(frozen=True, kw_only=True)
class UiSections:
    """Both sections, as the cockpit uses them (checked by :func:`ui_sections`; the
    constructor trusts its arguments)."""

    ui: UiConfig = field(default_factory=UiConfig)
    #: Key binding id → key(s), as Textual's keymap takes them.
    keys: dict[str, str] = field(default_factory=dict)


def ui_sections(workspace: Workspace) -> UiSections:
    """``[ui]`` and ``[keys]`` of the workspace's ``cockpit.toml``, read from the file
    (the cockpit does not load the engine's schema) and checked (:class:`ConfigError`:
    one line saying what is wrong and where)."""
    path = workspace.config_path
    text, tables = read_toml(path)
    try:
        return _check(tables.get("ui", {}), tables.get("keys", {}))
    except _Mistake as mistake:
        raise ConfigError(config_mistake(path, text, mistake.loc, mistake.problem)) from None


class _Mistake(Exception):
    """The first thing wrong: where (a key path) and what."""

    def __init__(self, loc: tuple[str, ...], problem: str) -> None:
        super().__init__(loc, problem)
        self.loc = loc
        self.problem = problem


# The spellings pydantic accepted for a boolean, which these sections and the theme files
# were once read with: ``bell = "yes"`` keeps working.
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def lenient_bool(value: object) -> bool | None:
    """``value`` as a boolean (``true``, ``"yes"``, ``1``, ``"off"``…), or None when it
    is not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
    return None


def _check(ui: object, keys: object) -> UiSections:
    """The sections as the cockpit uses them, or :class:`_Mistake` for the first problem
    (an unknown key in ``[ui]`` first of all: a misspelt key is the likeliest cause)."""
    if not isinstance(ui, dict):
        raise _Mistake(("ui",), f"expected a table, got {reprlib.repr(ui)}")
    if not isinstance(keys, dict):
        raise _Mistake(("keys",), f"expected a table, got {reprlib.repr(keys)}")
    for key in ui:
        if key not in ("theme", "bell"):
            raise _Mistake(("ui", str(key)), "unknown key")
    theme = ui.get("theme")
    if theme is not None and not isinstance(theme, str):
        raise _Mistake(("ui", "theme"), f"expected a string, got {reprlib.repr(theme)}")
    bell = lenient_bool(ui.get("bell", False))
    if bell is None:
        raise _Mistake(("ui", "bell"), f"expected true or false, got {reprlib.repr(ui['bell'])}")
    for key, value in keys.items():
        if not isinstance(value, str):
            raise _Mistake(("keys", str(key)), f"expected a string, got {reprlib.repr(value)}")
    return UiSections(ui=UiConfig(theme=theme, bell=bell), keys=dict(keys))
