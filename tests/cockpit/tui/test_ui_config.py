"""``[ui]`` and ``[keys]`` are the cockpit's to read: defaults, values as written, and one
located line for a mistake (the engine keeps the sections as they are)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cockpit.client.local import open_workspace
from cockpit.tui.ui_config import UiConfig, ui_sections
from engine.domain.errors import ConfigError


def _with(root: Path, text: str) -> Path:
    config = root / "cockpit.toml"
    config.write_text(config.read_text() + text)
    return root


def test_defaults_when_the_sections_are_absent(workspace_root: Path) -> None:
    sections = ui_sections(open_workspace(workspace_root))
    assert sections.ui == UiConfig(theme=None, bell=False)
    assert sections.keys == {}


def test_values_as_written(workspace_root: Path) -> None:
    root = _with(workspace_root, '\n[ui]\ntheme = "dark"\nbell = true\n\n[keys]\napprove = "a"\n')
    sections = ui_sections(open_workspace(root))
    assert sections.ui.theme == "dark" and sections.ui.bell is True
    assert sections.keys == {"approve": "a"}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('\n[ui]\nbell = "sometimes"\n', "ui.bell"),
        ("\n[ui]\nbel = true\n", "ui.bel: unknown key"),
        ("\n[keys]\napprove = 3\n", "keys.approve"),
    ],
)
def test_a_mistake_is_one_line_naming_the_key_and_its_line(
    workspace_root: Path, text: str, says: str
) -> None:
    root = _with(workspace_root, text)
    ws = open_workspace(root)  # the engine's own sections are fine: it opens
    with pytest.raises(ConfigError) as caught:
        ui_sections(ws)
    message = str(caught.value)
    assert "\n" not in message
    assert says in message and "cockpit.toml" in message
    line = len(root.joinpath("cockpit.toml").read_text().splitlines())
    assert f"line {line}" in message
    assert caught.value.exit_code == 2


def test_lenient_values_still_read(workspace_root: Path) -> None:
    # What pydantic once accepted keeps working: a boolean spelt as a word.
    root = _with(workspace_root, '\n[ui]\nbell = "yes"\n')
    assert ui_sections(open_workspace(root)).ui.bell is True


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('\n[ui]\nbell = "sometimes"\n', "ui.bell: expected true or false, got 'sometimes'"),
        ("\n[ui]\ntheme = 3\n", "ui.theme: expected a string, got 3"),
        (
            '\n[keys]\n"cockpit.start_engine" = 5\n',
            'keys."cockpit.start_engine": expected a string',
        ),
        ("\n[keys.approve]\nkey = 'a'\n", "keys.approve: expected a string, got {'key': 'a'}"),
    ],
)
def test_a_mistake_says_what_was_expected(workspace_root: Path, text: str, says: str) -> None:
    ws = open_workspace(_with(workspace_root, text))
    with pytest.raises(ConfigError, match=re.escape(says)):
        ui_sections(ws)
