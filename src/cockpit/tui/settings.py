"""Per-user UI settings (e.g. the chosen theme), persisted as JSON.

The file lives at ``$XDG_CONFIG_HOME/cockpit/settings.json`` (default
``~/.config/cockpit/settings.json``). Reading never fails: a missing or broken file
yields the defaults. Writing is atomic (temporary file + ``os.replace``).

Checked by hand rather than with pydantic: this is read while the cockpit starts, and
importing pydantic would cost more than everything else here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["UiSettings", "load_settings", "save_settings", "settings_path"]


@dataclass(kw_only=True)
class UiSettings:
    """User-interface preferences that survive restarts.

    The constructor trusts its arguments; :func:`load_settings` checks what it reads.
    """

    theme: str = "cockpit-dark"
    """Name of the Textual theme to use (chosen with ``/theme``)."""


def settings_path() -> Path:
    """Path of the settings file: ``$XDG_CONFIG_HOME/cockpit/settings.json``."""
    xdg = os.environ.get("XDG_CONFIG_HOME", "").strip()
    base = Path(xdg) if xdg else Path.home() / ".config"
    return base / "cockpit" / "settings.json"


def load_settings() -> UiSettings:
    """Load the settings; a missing, unreadable or invalid file gives the defaults.

    The file must be a JSON object whose ``theme``, if present, is a string. Unknown
    keys are ignored, so that an older Cockpit can read a newer file.
    """
    defaults = UiSettings()
    try:
        data = json.loads(settings_path().read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        # Unreadable, not UTF-8 or not JSON (UnicodeDecodeError and JSONDecodeError are
        # ValueErrors; absurdly deep nesting is a RecursionError).
        return defaults
    if not isinstance(data, dict):
        return defaults
    theme = data.get("theme", defaults.theme)
    if not isinstance(theme, str):
        return defaults
    return UiSettings(theme=theme)


def save_settings(settings: UiSettings) -> None:
    """Write ``settings`` atomically, creating the folder if needed."""
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(dataclasses.asdict(settings), indent=2, ensure_ascii=False) + "\n"
    fd, tmp_name = tempfile.mkstemp(prefix=".settings-", suffix=".json.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
