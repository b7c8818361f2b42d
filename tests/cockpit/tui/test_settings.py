"""UI settings persistence under $XDG_CONFIG_HOME."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cockpit.tui.settings import UiSettings, load_settings, save_settings, settings_path


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    return tmp_path / "cfg"


def test_path_follows_xdg(config_home: Path) -> None:
    assert settings_path() == config_home / "cockpit" / "settings.json"


def test_path_defaults_to_home_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert settings_path() == tmp_path / "home" / ".config" / "cockpit" / "settings.json"


def test_missing_file_gives_defaults() -> None:
    assert load_settings() == UiSettings()
    assert load_settings().theme == "cockpit-dark"


def test_roundtrip_creates_folder_and_leaves_no_temp_files(config_home: Path) -> None:
    save_settings(UiSettings(theme="cockpit-light"))
    assert load_settings().theme == "cockpit-light"
    assert json.loads(settings_path().read_text()) == {"theme": "cockpit-light"}
    save_settings(UiSettings(theme="cockpit-high-contrast"))
    assert load_settings().theme == "cockpit-high-contrast"
    assert [p.name for p in (config_home / "cockpit").iterdir()] == ["settings.json"]


@pytest.mark.parametrize("text", ["{not json", "[]", '{"theme": 3}', "", "\xff"])
def test_broken_file_gives_defaults(text: str) -> None:
    settings_path().parent.mkdir(parents=True)
    settings_path().write_text(text, encoding="latin-1")
    assert load_settings() == UiSettings()


def test_unknown_keys_are_ignored() -> None:
    settings_path().parent.mkdir(parents=True)
    settings_path().write_text('{"theme": "nord", "future": 1}')
    assert load_settings().theme == "nord"


def test_file_is_indented_json_and_keeps_any_name_as_written() -> None:
    save_settings(UiSettings(theme='café "quoted"'))
    assert settings_path().read_text(encoding="utf-8") == '{\n  "theme": "café \\"quoted\\""\n}\n'
    assert load_settings().theme == 'café "quoted"'
