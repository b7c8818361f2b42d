"""The full-screen cockpit's own sections of ``cockpit.toml``: ``[ui]`` (look and feel)
and ``[keys]`` (binding id → key). The engine keeps them as written and never reads
them; the cockpit checks them here, and a mistake is one line naming the file, the key
and its line, as the engine's own sections get.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.domain.errors import ConfigError

if TYPE_CHECKING:
    from cockpit.client.local import Workspace


class UiConfig(BaseModel):
    """``[ui]``: look and feel of the terminal cockpit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: A theme's name; the user's own choice (``t``) wins once made.
    theme: str | None = None
    #: Ring the terminal's bell when a run needs the human.
    bell: bool = False


class UiSections(BaseModel):
    """Both sections, as the cockpit uses them."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    ui: UiConfig = Field(default_factory=UiConfig)
    #: Key binding id → key(s), as Textual's keymap takes them.
    keys: dict[str, str] = Field(default_factory=dict)


def ui_sections(workspace: Workspace) -> UiSections:
    """``[ui]`` and ``[keys]`` of the workspace, checked (:class:`ConfigError`: one
    line saying what is wrong and where)."""
    raw = {"ui": workspace.config.ui, "keys": workspace.config.keys}
    try:
        return UiSections.model_validate(raw)
    except ValidationError as exc:
        path = workspace.root / "cockpit.toml"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            text = ""
        # Imported only for a mistake: cockpit.client.local brings the engine's modules,
        # which a cockpit that is the engine's client never loads otherwise.
        from cockpit.client.local import describe_validation_error

        raise ConfigError(describe_validation_error(exc, text, path)) from None
