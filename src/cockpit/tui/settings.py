"""Per-user UI settings (e.g. the chosen theme), persisted as JSON.

The file lives at ``$XDG_CONFIG_HOME/cockpit/settings.json`` (default
``~/.config/cockpit/settings.json``). Reading never fails: a missing or broken file
yields the defaults. Writing is atomic (temporary file + ``os.replace``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = ["UiSettings", "load_settings", "save_settings", "settings_path"]


class UiSettings(BaseModel):
    """User-interface preferences that survive restarts."""

    # Unknown keys are ignored so that an older Cockpit can read a newer file.
    model_config = ConfigDict(extra="ignore")

    theme: str = "cockpit-dark"
    """Name of the Textual theme to use (chosen with ``/theme``)."""


def settings_path() -> Path:
    """Path of the settings file: ``$XDG_CONFIG_HOME/cockpit/settings.json``."""
    xdg = os.environ.get("XDG_CONFIG_HOME", "").strip()
    base = Path(xdg) if xdg else Path.home() / ".config"
    return base / "cockpit" / "settings.json"


def load_settings() -> UiSettings:
    """Load the settings; a missing, unreadable or invalid file gives the defaults."""
    path = settings_path()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return UiSettings()
    try:
        return UiSettings.model_validate_json(text)
    except ValidationError:
        return UiSettings()


def save_settings(settings: UiSettings) -> None:
    """Write ``settings`` atomically, creating the folder if needed."""
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = settings.model_dump_json(indent=2) + "\n"
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
